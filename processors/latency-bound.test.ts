/**
 * The bound that lets the latency detector skip a baseline's merge (regressionRuledOut,
 * docs/engine.md): it may only skip judgements that find nothing. Noisy inputs on both sides of
 * the threshold: wide spreads, isolated slow calls, zeros, thin and thick baselines, panes held
 * exactly and panes in DDSketch mode.
 */
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import type { Observation } from '../src/model/painpoint.js';
import { QuantileSketch, EXACT_LIMIT } from '../src/stats/quantile-sketch.js';
import { makeSpan } from '../test/support/span-factory.js';
import { runOnSpans, testContext } from '../test/support/detector-harness.js';
import { lognormal, seeded } from '../test/support/latency-traces.js';
import {
  baselineQuantileBound,
  judgeRegression,
  judgeSlowTail,
  latencyAggregator,
  latencyConfigSchema,
  latencySpanOperator,
  paneQuantileBounds,
  regressionRuledOut,
  regressionRuledOutWithin,
  slowTailRuledOut,
  type LatencyAcc,
  type LatencyConfig,
} from './latency.js';

function pane(durations: readonly number[]): LatencyAcc {
  const acc = latencyAggregator.create();
  for (const d of durations) latencyAggregator.add(acc, makeSpan({ startMs: 0, endMs: d }));
  return acc;
}

function merged(panes: readonly LatencyAcc[]): LatencyAcc {
  const out = latencyAggregator.create();
  for (const p of panes) latencyAggregator.merge(out, p);
  return out;
}

interface Case {
  readonly judged: LatencyAcc;
  readonly panes: readonly LatencyAcc[];
  readonly factor: number;
}

/** A baseline of `panes` panes and a judged window `factor` × slower, with the noise of real tools. */
function noisyCase(rand: () => number): Case {
  const median = [5, 40, 200, 1_500][Math.floor(rand() * 4)] as number;
  const sigma = [0.2, 0.5, 0.8, 1.0][Math.floor(rand() * 4)] as number;
  const factor = [1, 1.3, 1.7, 1.9, 2, 2.1, 2.3, 2.6, 3, 5][Math.floor(rand() * 10)] as number;
  const draw = (m: number): number => {
    const u = rand();
    if (u < 0.02) return 0; // a call under 1 µs counts as zero
    if (u < 0.06) return m * (8 + 30 * rand()); // an isolated slow call (a timeout)
    return lognormal(rand, m, sigma);
  };
  // panes of a few calls (held exactly) and busy panes (past EXACT_LIMIT: DDSketch bins)
  const paneCount = 1 + Math.floor(rand() * 40);
  const busy = rand() < 0.4;
  const panes: LatencyAcc[] = [];
  for (let i = 0; i < paneCount; i++) {
    const n = busy && rand() < 0.5 ? EXACT_LIMIT + Math.floor(rand() * 80) : Math.floor(rand() * 6);
    panes.push(pane(Array.from({ length: n }, () => draw(median))));
  }
  const judgedCalls = 20 + Math.floor(rand() * (rand() < 0.5 ? 30 : 250));
  const slowBurst = rand() < 0.3 ? Math.floor(rand() * 7) : 0;
  const judged = pane([...Array.from({ length: judgedCalls }, () => draw(median * factor)), ...Array.from({ length: slowBurst }, () => median * 6)]);
  return { judged, panes, factor };
}

/** The percentiles the rule reads, with the judged value and the baseline's bound. */
function readPercentiles(config: LatencyConfig, judged: LatencyAcc, baseline: LatencyAcc): Array<{ current: number; base: number }> {
  const n = baseline.sketch.count;
  const qs = judged.sketch.count >= config.tail_min_calls && n >= config.tail_min_calls ? [0.95, 0.99] : [0.95];
  return qs.map((q) => ({ current: judged.sketch.quantile(q), base: baseline.sketch.quantile(baselineQuantileBound(q, n)) }));
}

describe('regressionRuledOut', () => {
  const configs: LatencyConfig[] = [
    latencyConfigSchema.parse({}),
    latencyConfigSchema.parse({ regression_ratio: 1.5, min_slow: 2, min_latency: 0 }),
    latencyConfigSchema.parse({ regression_ratio: 3, tail_min_calls: 40 }),
  ];

  it('never skips a judgement that finds a regression, and proves each percentile it reads below the ratio', () => {
    const rand = seeded(20261202);
    let ruledOut = 0;
    let found = 0;
    let foundNearThreshold = 0;
    let ruledOutNearThreshold = 0;
    for (let i = 0; i < 1_500; i++) {
      const config = configs[i % configs.length] as LatencyConfig;
      const c = noisyCase(rand);
      const baseline = merged(c.panes);
      if (baseline.sketch.count < config.min_samples) continue;
      const finding = judgeRegression(config, c.judged, baseline);
      const skipped = regressionRuledOut(config, c.judged, baseline.sketch.count, (visit) => c.panes.forEach(visit));
      if (finding !== undefined) {
        found++;
        if (finding.ratio < config.regression_ratio * 1.2) foundNearThreshold++;
        expect(skipped, `case ${i}: a regression of ${finding.ratio.toFixed(3)}× was skipped`).toBe(false);
      }
      if (skipped) {
        ruledOut++;
        if (c.factor >= 1.7 && c.factor <= 2.3) ruledOutNearThreshold++;
        // stronger than "no finding": every percentile the rule reads is under the ratio or min_latency
        for (const { current, base } of readPercentiles(config, c.judged, baseline)) {
          if (current < config.min_latency) continue;
          expect(current / base, `case ${i}`).toBeLessThan(config.regression_ratio);
        }
      }
    }
    // the inputs reach both sides: the bound proves most steady cases, and regressions are found
    expect(found).toBeGreaterThan(100);
    expect(foundNearThreshold).toBeGreaterThan(20);
    expect(ruledOut).toBeGreaterThan(500);
    expect(ruledOutNearThreshold).toBeGreaterThan(200);
  });

  it('proves a steady series, and not one whose p95 doubled', () => {
    const config = latencyConfigSchema.parse({});
    const rand = seeded(7);
    const panes = Array.from({ length: 30 }, () => pane(Array.from({ length: 4 }, () => lognormal(rand, 300, 0.5))));
    const visit = (v: (p: LatencyAcc) => void) => panes.forEach(v);
    const steady = pane(Array.from({ length: 60 }, () => lognormal(rand, 300, 0.5)));
    expect(regressionRuledOut(config, steady, 120, visit)).toBe(true);
    const doubled = pane(Array.from({ length: 60 }, () => lognormal(rand, 900, 0.5)));
    expect(judgeRegression(config, doubled, merged(panes))).toBeDefined();
    expect(regressionRuledOut(config, doubled, 120, visit)).toBe(false);
  });

  it('rules out a judged window whose percentiles are under min_latency without reading the baseline', () => {
    const config = latencyConfigSchema.parse({ min_latency: 50 });
    const fast = pane(Array.from({ length: 40 }, (_, i) => 1 + i / 10));
    let visited = 0;
    expect(regressionRuledOut(config, fast, 500, () => visited++)).toBe(true);
    expect(visited).toBe(0);
  });
});

describe('paneQuantileBounds', () => {
  it('bounds the p95 and p99 of the merge, and a proof within the bounds is a proof on the merged window', () => {
    const rand = seeded(20261203);
    const config = latencyConfigSchema.parse({ tail_min_calls: 40 });
    let bounded = 0;
    let proved = 0;
    for (let i = 0; i < 600; i++) {
      const median = [5, 40, 200, 1_500][Math.floor(rand() * 4)] as number;
      const factor = [1, 1.5, 1.9, 2, 2.2, 3][Math.floor(rand() * 6)] as number;
      const draw = (m: number): number => (rand() < 0.03 ? 0 : rand() < 0.05 ? m * 20 : lognormal(rand, m, 0.5));
      // judged windows of panes of 0–3 calls, 20 to 120 in all (merges past EXACT_LIMIT hold a DDSketch)
      const judgedPanes: LatencyAcc[] = [];
      const target = 20 + Math.floor(rand() * 100);
      for (let n = 0; n < target; ) {
        const k = Math.min(target - n, Math.floor(rand() * 4));
        judgedPanes.push(pane(Array.from({ length: k }, () => draw(median * factor))));
        n += k;
      }
      const baselinePanes = Array.from({ length: 10 + Math.floor(rand() * 40) }, () => pane(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => draw(median))));
      const judged = merged(judgedPanes);
      const bounds = paneQuantileBounds((visit) => judgedPanes.forEach(visit));
      expect(bounds).toBeDefined();
      if (bounds === undefined) continue;
      bounded++;
      expect(bounds.count).toBe(judged.sketch.count);
      expect(judged.sketch.quantile(0.95)).toBeGreaterThanOrEqual(bounds.p95lo);
      expect(judged.sketch.quantile(0.95)).toBeLessThanOrEqual(bounds.p95hi);
      expect(judged.sketch.quantile(0.99)).toBeGreaterThanOrEqual(bounds.p99lo);
      expect(judged.sketch.quantile(0.99)).toBeLessThanOrEqual(bounds.p99hi);
      const baselineCalls = merged(baselinePanes).sketch.count;
      const visitBaseline = (visit: (p: LatencyAcc) => void): void => baselinePanes.forEach(visit);
      if (regressionRuledOutWithin(config, bounds, baselineCalls, visitBaseline) === true) {
        proved++;
        expect(regressionRuledOut(config, judged, baselineCalls, visitBaseline), `case ${i}`).toBe(true);
      }
    }
    expect(bounded).toBe(600);
    expect(proved).toBeGreaterThan(100);
  });

  it('gives no bounds once a pane holds a DDSketch', () => {
    const busy = pane(Array.from({ length: EXACT_LIMIT + 1 }, (_, i) => 10 + i));
    expect(paneQuantileBounds((visit) => [pane([5]), busy].forEach(visit))).toBeUndefined();
    expect(paneQuantileBounds(() => undefined)).toBeUndefined();
  });
});

describe('slowTailRuledOut', () => {
  const subject = { service: 'svc', operation: 'execute_tool fetch_url', tool: 'fetch_url' };

  /** a window of 100–400 calls over panes: a spread from tight to very wide, a share of timeouts */
  function noisyWindow(rand: () => number): LatencyAcc[] {
    const median = [3, 60, 800][Math.floor(rand() * 3)] as number;
    const sigma = [0.3, 0.8, 1.3, 1.8][Math.floor(rand() * 4)] as number;
    const slowShare = [0, 0, 0.005, 0.01, 0.02, 0.05][Math.floor(rand() * 6)] as number;
    const slowBy = 5 + 40 * rand();
    const calls = 100 + Math.floor(rand() * 300);
    const perPane = 1 + Math.floor(rand() * 60);
    const panes: LatencyAcc[] = [];
    for (let left = calls; left > 0; left -= perPane) {
      const n = Math.min(left, perPane);
      panes.push(pane(Array.from({ length: n }, () => (rand() < 0.01 ? 0 : rand() < slowShare ? median * slowBy : lognormal(rand, median, sigma)))));
    }
    return panes;
  }

  it('never skips a window whose tail fires, and proves p99 / p50 under the ratio where it skips', () => {
    const rand = seeded(99);
    const configs = [latencyConfigSchema.parse({}), latencyConfigSchema.parse({ tail_ratio: 4, min_latency: 0 }), latencyConfigSchema.parse({ tail_ratio: 20 })];
    let ruledOut = 0;
    let fired = 0;
    let firedNear = 0;
    for (let i = 0; i < 1_500; i++) {
      const config = configs[i % configs.length] as LatencyConfig;
      const panes = noisyWindow(rand);
      const window = merged(panes);
      const tail = judgeSlowTail(config, subject, '1h', window, 0);
      const skipped = slowTailRuledOut(config, window.sketch.count, (visit) => panes.forEach(visit));
      if (tail !== undefined) {
        fired++;
        if (tail.keyMetric < config.tail_ratio * 1.3) firedNear++;
        expect(skipped, `case ${i}: a tail of ${tail.keyMetric.toFixed(2)}× was skipped`).toBe(false);
      }
      if (skipped) {
        ruledOut++;
        const p99 = window.sketch.quantile(0.99);
        const p50 = window.sketch.quantile(0.5);
        if (p99 >= config.min_latency) expect(p99 / p50, `case ${i}`).toBeLessThan(config.tail_ratio);
      }
    }
    expect(fired).toBeGreaterThan(150);
    expect(firedNear).toBeGreaterThan(15);
    expect(ruledOut).toBeGreaterThan(300);
  });

  it('does not prove a window whose slowest 3 of 123 calls are 50× the rest, and proves it without them', () => {
    const config = latencyConfigSchema.parse({});
    const calls = [...Array.from({ length: 120 }, () => 100), ...Array.from({ length: 3 }, () => 5_000)];
    const window = pane(calls);
    expect(judgeSlowTail(config, subject, '1h', window, 0)?.kind).toBe('slow_tail');
    expect(slowTailRuledOut(config, calls.length, (visit) => visit(window))).toBe(false);
    expect(slowTailRuledOut(config, 120, (visit) => visit(pane(calls.slice(0, 120))))).toBe(true);
  });
});

describe('the bounds at their edge', () => {
  const config = latencyConfigSchema.parse({});
  const panesOf = (values: readonly number[]): LatencyAcc[] => Array.from({ length: Math.ceil(values.length / 20) }, (_, i) => pane(values.slice(i * 20, i * 20 + 20)));

  it('slow_tail: one fast call more than half of 101 is a tail of 12×, and is judged', () => {
    const calls = [...Array.from({ length: 51 }, () => 10), ...Array.from({ length: 50 }, () => 120)];
    const panes = panesOf(calls);
    expect(judgeSlowTail(config, { service: 's', operation: 'o' }, '1h', merged(panes), 0)?.keyMetric).toBeGreaterThan(11);
    expect(slowTailRuledOut(config, 101, (visit) => panes.forEach(visit))).toBe(false);
    const even = panesOf([...Array.from({ length: 50 }, () => 10), ...Array.from({ length: 51 }, () => 120)]);
    expect(slowTailRuledOut(config, 101, (visit) => even.forEach(visit))).toBe(true);
  });

  it('latency_regression: a baseline whose bound rank (386 of 400) is still a fast call is judged', () => {
    const judged = pane(Array.from({ length: 40 }, () => 250));
    const baseline = panesOf([...Array.from({ length: 387 }, () => 100), ...Array.from({ length: 13 }, () => 1_000)]);
    expect(judgeRegression(config, judged, merged(baseline))?.ratio).toBeGreaterThan(2.4);
    expect(regressionRuledOut(config, judged, 400, (visit) => baseline.forEach(visit))).toBe(false);
    const slower = panesOf([...Array.from({ length: 386 }, () => 100), ...Array.from({ length: 14 }, () => 1_000)]);
    expect(regressionRuledOut(config, judged, 400, (visit) => slower.forEach(visit))).toBe(true);
  });
});

describe('QuantileSketch.countUpTo', () => {
  it('counts exactly while the values are held exactly', () => {
    const s = new QuantileSketch();
    for (const v of [0, 3, 5, 5, 9, 120]) s.add(v);
    expect([s.countUpTo(-1), s.countUpTo(0), s.countUpTo(5), s.countUpTo(8.9), s.countUpTo(1e6)]).toEqual([0, 1, 4, 4, 6]);
  });

  it('in sketch mode, counts at least every value ≤ x and no value above the second bin past it', () => {
    const rand = seeded(3);
    const values = [0, 0, ...Array.from({ length: 500 }, () => lognormal(rand, 100, 1.2))];
    const s = new QuantileSketch();
    for (const v of values) s.add(v);
    expect(s.isExact).toBe(false);
    for (const x of [0, 0.5, 10, 37.2, 99.9, 100, 250, 1_000, 1e7]) {
      const c = s.countUpTo(x);
      expect(c).toBeGreaterThanOrEqual(values.filter((v) => v <= x).length);
      // a bin is 2 % wide: the bins up to x's and the next hold nothing above ~x × 1.05
      expect(c).toBeLessThanOrEqual(values.filter((v) => v <= x * 1.05).length);
    }
  });
});

describe('latency_regression through the bound', () => {
  const T0 = 1_800_000_000_000;
  const MIN = 60_000;
  /** one call every `spacing` ms with lognormal durations, the median `slowdown` × from `fromMin` */
  function calls(spacing: number, toMin: number, slowdown: number, fromMin: number, seed: number): SpanRecord[] {
    const rand = seeded(seed);
    const out: SpanRecord[] = [];
    for (let end = T0; end < T0 + toMin * MIN; end += spacing) {
      const d = lognormal(rand, end >= T0 + fromMin * MIN ? 400 * slowdown : 400, 0.25);
      out.push(makeSpan({ name: 'execute_tool', tool: 'fetch_url', startMs: end - d, endMs: end, runId: `run-${out.length % 9}` }));
    }
    return out;
  }
  const run = (spans: SpanRecord[]): Promise<Observation[]> => runOnSpans(spans, latencySpanOperator(latencyConfigSchema.parse({}), testContext('live')));

  it('still reports a regression just past 2× against a long, slowly filled baseline', async () => {
    // a call every 40 s for 3 h, the last 40 minutes 2.5× slower: judged on 15 m windows against the 1 h before
    const found = (await run(calls(40_000, 180, 2.5, 140, 5))).filter((o) => o.kind === 'latency_regression');
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((o) => o.evidence.window === '15m' && o.evidence.metrics['baseline_window'] === '1h')).toBe(true);
    const ratios = found.map((o) => (o.evidence.metrics as Record<string, number>)['ratio'] as number);
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(2);
    expect(Math.min(...ratios)).toBeLessThan(2.6);
  });

  it('reports nothing on the same series without the slowdown', async () => {
    expect((await run(calls(40_000, 180, 1, 140, 5))).filter((o) => o.kind === 'latency_regression')).toEqual([]);
  });
});
