import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import type { Observation } from '../src/model/painpoint.js';
import { makeSpan } from '../test/support/span-factory.js';
import { runOnSpans, testContext, testSettings } from '../test/support/detector-harness.js';
import { lognormal, seeded } from '../test/support/latency-traces.js';
import { baselineQuantileBound, judgeSlowTail, latencyAggregator, latencyProbeAggregator, latencyConfigSchema, latencyProcessorFactory, latencySpanOperator, regressionSeverity, type LatencyConfig } from './latency.js';

const T0 = 1_800_000_000_000; // a multiple of 10 s
const MIN = 60_000;

interface Traffic {
  /** calls per minute */
  readonly rate: number;
  readonly fromMin: number;
  readonly toMin: number;
  readonly median: number;
  readonly sigma?: number;
  readonly failed?: boolean;
  readonly tool?: string;
  readonly seed: number;
}

/** Evenly spaced calls of one tool with seeded lognormal durations, ending at their slot time. */
function traffic(t: Traffic): SpanRecord[] {
  const rand = seeded(t.seed);
  const spacing = MIN / t.rate;
  const out: SpanRecord[] = [];
  for (let end = T0 + t.fromMin * MIN; end < T0 + t.toMin * MIN; end += spacing) {
    const d = lognormal(rand, t.median, t.sigma ?? 0.3);
    const traceNo = out.length + t.seed * 1_000_000;
    out.push(
      makeSpan({
        name: 'execute_tool',
        tool: t.tool ?? 'web_search',
        startMs: end - d,
        endMs: end,
        failed: t.failed ?? false,
        traceId: traceNo.toString(16).padStart(32, '0'),
        runId: `run-${traceNo % 7}`,
      }),
    );
  }
  return out;
}

function config(overrides: Partial<Record<keyof LatencyConfig, unknown>> = {}): LatencyConfig {
  return latencyConfigSchema.parse(overrides);
}

async function run(spans: SpanRecord[], cfg = config(), mode: 'live' | 'offline' = 'live'): Promise<Observation[]> {
  return runOnSpans(spans, latencySpanOperator(cfg, testContext(mode)));
}

const ofKind = (obs: Observation[], kind: Observation['kind']) => obs.filter((o) => o.kind === kind);

describe('latency processor config', () => {
  it('has the docs/painpoints.md defaults', () => {
    const c = config();
    expect(c).toMatchObject({ min_samples: 20, regression_ratio: 2, high_ratio: 5, high_min_calls: 50, min_slow: 5, confirm_window: 300_000 });
    expect(c).toMatchObject({ tail_ratio: 10, tail_high_ratio: 30, tail_min_calls: 100, bottleneck_share: 0.5, bottleneck_high_share: 0.8 });
  });

  it('rejects unknown keys', () => {
    expect(() => latencyConfigSchema.parse({ min_sample: 3 })).toThrow();
  });

  it('creates a span detector and a trace detector', () => {
    const factory = latencyProcessorFactory;
    if (factory.stage !== 'detector') throw new Error('latency is a detector');
    const detectors = factory.create(config(), testContext());
    expect(detectors.map((d) => d.input)).toEqual(['spans', 'traces']);
  });
});

describe('latency_regression', () => {
  // 2 calls/s, p95 triples from minute 20 to 23, data until minute 32
  const onset = T0 + 20 * MIN;
  const recovery = T0 + 23 * MIN;
  const stream = [
    ...traffic({ rate: 120, fromMin: 0, toMin: 20, median: 200, seed: 1 }),
    ...traffic({ rate: 120, fromMin: 20, toMin: 23, median: 600, seed: 2 }),
    ...traffic({ rate: 120, fromMin: 23, toMin: 32, median: 200, seed: 3 }),
  ];

  it('fires when p95 triples for 3 minutes, and stops once it recovers', async () => {
    const found = ofKind(await run(stream), 'latency_regression');
    expect(found.length).toBeGreaterThan(5);
    const times = found.map((o) => o.time);
    expect(Math.min(...times)).toBeGreaterThan(onset);
    expect(Math.min(...times)).toBeLessThanOrEqual(onset + 90_000);
    // the last judgement that still sees slow calls in its 1 m window
    expect(Math.max(...times)).toBeLessThanOrEqual(recovery + MIN);
    const first = found[0] as Observation;
    expect(first.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool', tool: 'web_search' });
    expect(first.severity).toBe('medium');
    expect(first.category).toBe('performance');
    expect(first.evidence.window).toBe('1m');
    expect(first.evidence.metrics.baseline_window).toBe('15m');
    const m = first.evidence.metrics as Record<string, number>;
    expect(m.ratio).toBeGreaterThanOrEqual(2);
    expect(m.slow_calls).toBeGreaterThanOrEqual(5);
    expect(m.baseline_p95_ms).toBeGreaterThan(250);
    expect(m.baseline_p95_ms).toBeLessThan(400);
    expect(first.evidence.exemplar_trace_ids.length).toBe(5);
    expect(first.evidence.exemplar_span_ids?.length).toBe(5);
    expect(first.runIds.length).toBeGreaterThan(0);
    // p99 (≥ 100 calls in both windows) may confirm a few seconds before p95 does
    expect(first.title).toMatch(/^p9[59] of web_search rose to .+, .+× its 15m baseline of \d+ ms$/);
    // at the peak (well inside the regression) p95 is about 3× the baseline
    const peak = found.find((o) => o.time === onset + 2 * MIN) as Observation;
    expect(peak.title).toMatch(/^p95 of web_search rose to/);
    expect(peak.evidence.metrics.percentile).toBe('p95');
    expect((peak.evidence.metrics as Record<string, number>).ratio).toBeGreaterThan(2.5);
    expect((peak.evidence.metrics as Record<string, number>).ratio).toBeLessThan(3.6);
  });

  it('judges against what a thin baseline\'s p95 may be: a wide spread in a sidecar\'s first minutes is no regression', async () => {
    // a grep-like tool (median 150 ms, wide log-normal spread), 15 calls a minute from the start:
    // the first judgements' baseline holds 20-60 calls, whose p95 is often well under the true one
    // (these seeds are ones where the baseline's own p95 made a 2× "regression" of the spread)
    for (const [sigma, seed] of [[0.7, 31], [0.7, 38], [0.9, 11], [0.9, 18], [0.9, 26], [0.9, 31], [0.9, 38]] as const) {
      const steady = traffic({ rate: 15, fromMin: 0, toMin: 16, median: 150, sigma, tool: 'grep', seed });
      expect(ofKind(await run(steady), 'latency_regression')).toEqual([]);
    }
  });

  it('still finds a 4× slowdown of the same tool against a thin baseline', async () => {
    const before = traffic({ rate: 15, fromMin: 0, toMin: 8, median: 150, sigma: 0.7, tool: 'grep', seed: 21 });
    const after = traffic({ rate: 15, fromMin: 8, toMin: 16, median: 600, sigma: 0.7, tool: 'grep', seed: 22 });
    const found = ofKind(await run([...before, ...after]), 'latency_regression');
    expect(found.length).toBeGreaterThan(0);
    const m = (found[0] as Observation).evidence.metrics as Record<string, number>;
    // the ratio is against the bound, which is above the baseline's own p95
    expect(m.baseline_bound_ms).toBeGreaterThan(m.baseline_p95_ms as number);
    expect(m.slow_threshold_ms).toBeCloseTo(2 * (m.baseline_bound_ms as number), 0);
  });

  it('bounds a baseline percentile by its sample size', () => {
    expect(baselineQuantileBound(0.95, 22)).toBe(1);
    expect(baselineQuantileBound(0.95, 60)).toBeCloseTo(0.9963, 3);
    expect(baselineQuantileBound(0.95, 1_000)).toBeCloseTo(0.9613, 3);
    expect(baselineQuantileBound(0.99, 10_000)).toBeCloseTo(0.9916, 3);
  });

  it('never fires on steady traffic', async () => {
    const steady = traffic({ rate: 120, fromMin: 0, toMin: 40, median: 200, sigma: 0.6, seed: 4 });
    expect(ofKind(await run(steady), 'latency_regression')).toEqual([]);
  });

  it('rates a 6× regression over ≥ 50 calls high', async () => {
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 20, median: 200, seed: 5 }),
      ...traffic({ rate: 120, fromMin: 20, toMin: 24, median: 1_200, seed: 6 }),
    ];
    const found = ofKind(await run(spans), 'latency_regression');
    expect(found.some((o) => o.severity === 'high')).toBe(true);
  });

  it('never fires on two isolated timeouts in a minute', async () => {
    // sparse traffic (12 calls/min) judged on 1 m windows, where two timeouts are p95
    const cfg = config({ min_samples: 10 });
    const base = traffic({ rate: 12, fromMin: 0, toMin: 30, median: 200, seed: 7 });
    const timeouts = [20.2, 20.6].map((m) => makeSpan({ name: 'execute_tool', tool: 'web_search', startMs: T0 + m * MIN - 30_000, endMs: T0 + m * MIN }));
    expect(ofKind(await run([...base, ...timeouts], cfg), 'latency_regression')).toEqual([]);
    // what makes the difference: without min_slow and the confirm window the same data would fire
    const loose = config({ min_samples: 10, min_slow: 0, confirm_window: '1m' });
    expect(ofKind(await run([...base, ...timeouts], loose), 'latency_regression').length).toBeGreaterThan(0);
  });

  it('fires on five slow calls in a minute that hold on the 5 m window', async () => {
    const cfg = config({ min_samples: 10 });
    const base = traffic({ rate: 12, fromMin: 0, toMin: 30, median: 200, seed: 7 });
    const slow = [20.1, 20.2, 20.3, 20.4, 20.5, 20.6].map((m) =>
      makeSpan({ name: 'execute_tool', tool: 'web_search', startMs: T0 + m * MIN - 30_000, endMs: T0 + m * MIN }),
    );
    const found = ofKind(await run([...base, ...slow], cfg), 'latency_regression');
    expect(found.length).toBeGreaterThan(0);
    expect((found[0]?.evidence.metrics as Record<string, number>).slow_calls).toBe(6);
  });

  it('ignores failed calls: slow timeouts that fail do not make a regression', async () => {
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 30, median: 200, seed: 8 }),
      ...traffic({ rate: 60, fromMin: 20, toMin: 24, median: 30_000, failed: true, seed: 9 }),
    ];
    expect(ofKind(await run(spans), 'latency_regression')).toEqual([]);
  });

  it('ignores failed calls: a flood of fast failures in the baseline does not lower it', async () => {
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 30, median: 200, seed: 10 }),
      ...traffic({ rate: 1_200, fromMin: 5, toMin: 20, median: 1, sigma: 0.1, failed: true, seed: 11 }),
    ];
    const obs = await run(spans);
    expect(ofKind(obs, 'latency_regression')).toEqual([]);
  });

  it('counts failed calls in evidence calls but not in the percentiles', async () => {
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 20, median: 200, seed: 12 }),
      ...traffic({ rate: 120, fromMin: 20, toMin: 23, median: 600, seed: 13 }),
      ...traffic({ rate: 30, fromMin: 20, toMin: 23, median: 5, failed: true, seed: 14 }),
    ];
    const peak = ofKind(await run(spans), 'latency_regression').find((o) => o.time === T0 + 22 * MIN) as Observation;
    const m = peak.evidence.metrics as Record<string, number>;
    expect(m.failed_calls).toBeGreaterThan(0);
    expect(m.calls).toBe((m.successful_calls as number) + (m.failed_calls as number));
    expect(m.p50_ms).toBeGreaterThan(400);
  });

  it('judges the later half of the input against the earlier half offline (window all)', async () => {
    // 3 calls/min for 2 h; the second hour is 3× slower
    const spans = [
      ...traffic({ rate: 3, fromMin: 0, toMin: 60, median: 200, seed: 15 }),
      ...traffic({ rate: 3, fromMin: 60, toMin: 120, median: 600, seed: 16 }),
    ];
    const all = ofKind(await run(spans, config(), 'offline'), 'latency_regression').filter((o) => o.evidence.window === 'all');
    expect(all).toHaveLength(1);
    const m = all[0]?.evidence.metrics as Record<string, number | string>;
    expect(m.baseline_window).toBe('earlier half');
    // split on the time bucket nearest the midpoint: exact to 1/64 of the input's duration
    expect(Math.abs((m.successful_calls as number) - 180)).toBeLessThanOrEqual(360 / 64);
    expect((m.successful_calls as number) + (m.baseline_calls as number)).toBe(360);
    expect(m.ratio as number).toBeGreaterThan(2.5);
    expect(all[0]?.title).toMatch(/its earlier baseline/);
  });

  it('resolves once a lasting regression has become the baseline', async () => {
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 20, median: 200, seed: 23 }),
      ...traffic({ rate: 120, fromMin: 20, toMin: 50, median: 600, seed: 24 }),
    ];
    const found = ofKind(await run(spans), 'latency_regression');
    expect(found.length).toBeGreaterThan(0);
    // the baseline (the 10 min before the last 5 min) is mostly slow well before the regression ends
    expect(Math.max(...found.map((o) => o.time))).toBeLessThan(T0 + 30 * MIN);
  });

  it('never reports on the __overflow__ series', async () => {
    const settings = testSettings({ series: { max_series: 1, dimensions: [] } });
    const spans = [
      ...traffic({ rate: 120, fromMin: 0, toMin: 30, median: 200, tool: 'first', seed: 25 }),
      ...traffic({ rate: 120, fromMin: 0, toMin: 20, median: 200, tool: 'second', seed: 26 }),
      ...traffic({ rate: 120, fromMin: 20, toMin: 24, median: 2_000, tool: 'second', seed: 27 }),
    ];
    const obs = await runOnSpans(spans, latencySpanOperator(config(), testContext('offline', settings)), settings);
    expect(obs.filter((o) => o.subject.service === '__overflow__')).toEqual([]);
    expect(obs.filter((o) => o.subject.tool === 'second')).toEqual([]);
  });

  it('leaves synthetic spans (kc attempts with apportioned times) out', async () => {
    const synthetic = stream.map((s) => ({ ...s, attributes: { 'sidelight.synthetic': true } }));
    expect(await run(synthetic, config(), 'offline')).toEqual([]);
  });

  it('does not judge the whole input in live mode', async () => {
    const obs = await run(stream);
    expect(obs.filter((o) => o.evidence.window === 'all')).toEqual([]);
  });
});

describe('slow_tail', () => {
  /** 1 call per second; `slowEvery`-th call is `factor` × slower */
  function tailed(calls: number, slowEvery: number, factor: number, seed: number): SpanRecord[] {
    const rand = seeded(seed);
    return Array.from({ length: calls }, (_, i) => {
      const d = lognormal(rand, 100, 0.2) * (i % slowEvery === slowEvery - 1 ? factor : 1);
      const end = T0 + (i + 1) * 1_000;
      return makeSpan({ name: 'chat', model: 'gpt-x', startMs: end - d, endMs: end });
    });
  }

  it('fires low when p99 / p50 ≥ 10 over ≥ 100 calls, with p99 from at least 100 calls', async () => {
    const found = ofKind(await run(tailed(400, 40, 20, 17)), 'slow_tail');
    expect(found.length).toBeGreaterThan(0);
    for (const o of found) {
      expect(o.severity).toBe('low');
      const m = o.evidence.metrics as Record<string, number>;
      expect(m.successful_calls).toBeGreaterThanOrEqual(100);
      expect(m.ratio).toBeGreaterThanOrEqual(10);
      expect(m.p99_ms).toBeGreaterThan(1_000);
    }
    expect(found[0]?.evidence.window).toBe('5m');
  });

  it('rates a tail ≥ 30× medium', async () => {
    const found = ofKind(await run(tailed(400, 40, 60, 18)), 'slow_tail');
    expect(found.some((o) => o.severity === 'medium')).toBe(true);
  });

  /** 200 successful calls: 197 of 100 ms and 3 of `slowMs` (p50 100 ms, p99 ≈ slowMs) */
  function tailAcc(slowMs: number) {
    const acc = latencyAggregator.create();
    for (let i = 0; i < 200; i++) latencyAggregator.add(acc, makeSpan({ name: 'chat', model: 'gpt-x', startMs: T0, durationMs: i < 197 ? 100 : slowMs }));
    return acc;
  }
  const tailSeverity = (slowMs: number, was?: 'low' | 'medium') =>
    judgeSlowTail(config(), { service: 's', operation: 'chat', model: 'gpt-x' }, '5m', tailAcc(slowMs), T0, { was, band: 0.1 })?.severity;

  it('holds each threshold within its band once passed: medium down to 27×, firing down to 9×', () => {
    expect(tailSeverity(2_800)).toBe('low');
    expect(tailSeverity(3_050)).toBe('medium');
    expect(tailSeverity(2_800, 'medium')).toBe('medium');
    expect(tailSeverity(2_600, 'medium')).toBe('low');
    expect(tailSeverity(950)).toBeUndefined();
    expect(tailSeverity(950, 'low')).toBe('low');
    expect(tailSeverity(850, 'low')).toBeUndefined();
  });

  it('states the time its tail takes', () => {
    const o = judgeSlowTail(config(), { service: 's', operation: 'chat', model: 'gpt-x' }, '5m', tailAcc(3_050), T0);
    expect(o?.evidence.metrics).toMatchObject({ tail_calls: 3, tail_ms: 9_150, tail_time_share: 0.317 });
    expect(o?.description).toMatch(/The 3 calls slower than 1(\.0)? s \(10× the median, 1\.5 % of them\) took 9\.2 s, 32 % of the time of its successful calls\.$/);
  });

  it('rates a regression high from 5× over ≥ 50 calls, held down to 4.5× once high', () => {
    const c = config();
    expect(regressionSeverity(4.9, 60, c)).toBe('medium');
    expect(regressionSeverity(5, 60, c)).toBe('high');
    expect(regressionSeverity(5, 49, c)).toBe('medium');
    expect(regressionSeverity(4.6, 60, c, { was: 'high', band: 0.1 })).toBe('high');
    expect(regressionSeverity(4.4, 60, c, { was: 'high', band: 0.1 })).toBe('medium');
    expect(regressionSeverity(4.6, 60, c, { was: 'medium', band: 0.1 })).toBe('medium');
  });

  it('never fires under 100 calls, even offline on the whole input', async () => {
    const obs = await run(tailed(99, 10, 50, 19), config(), 'offline');
    expect(ofKind(obs, 'slow_tail')).toEqual([]);
  });

  it('never fires on a tight distribution', async () => {
    expect(ofKind(await run(tailed(600, 1_000, 1, 20), config(), 'offline'), 'slow_tail')).toEqual([]);
  });

  it('reports p99 only over ≥ 100 calls in regression evidence', async () => {
    const spans = [
      ...traffic({ rate: 30, fromMin: 0, toMin: 20, median: 200, seed: 21 }),
      ...traffic({ rate: 30, fromMin: 20, toMin: 24, median: 800, seed: 22 }),
    ];
    const found = ofKind(await run(spans), 'latency_regression');
    expect(found.length).toBeGreaterThan(0);
    for (const o of found) {
      const m = o.evidence.metrics as Record<string, number>;
      if ((m.successful_calls as number) < 100) expect(m.p99_ms).toBeUndefined();
      else expect(m.p99_ms).toBeGreaterThan(0);
    }
  });
});

describe('latency window summary', () => {
  it('holds the successes and max a merge of the same panes would, and bounds its p99', () => {
    const agg = latencyAggregator;
    const summary = agg.summary!;
    const panes = [[10, 20, 30], [], [5, 400], Array.from({ length: 40 }, (_, i) => 1 + i)].map((durations) => {
      const acc = agg.create();
      for (const d of durations) agg.add(acc, makeSpan({ durationMs: d }));
      agg.add(acc, makeSpan({ durationMs: 999, failed: true })); // failed calls are not in the sketch
      return acc;
    });
    const merged = agg.create();
    const s = summary.create();
    for (const p of panes) {
      agg.merge(merged, p);
      summary.add(s, p);
    }
    expect(s).toEqual({ successes: merged.sketch.count, max: merged.sketch.max });
    expect(s).toEqual({ successes: 45, max: 400 });
    expect(merged.sketch.quantile(0.99)).toBeLessThanOrEqual(s.max);
  });

  it('probes by running counts as the fold over the panes does: successes, and whether the merged max reaches min_latency', () => {
    const agg = latencyProbeAggregator(300);
    const summary = agg.summary!;
    const additive = summary.additive!;
    const panes = [[10, 20, 30], [], [5, 400], [299.9], Array.from({ length: 40 }, (_, i) => 1 + i), [300]].map((durations) => {
      const acc = agg.create();
      for (const d of durations) agg.add(acc, makeSpan({ durationMs: d }));
      agg.add(acc, makeSpan({ durationMs: 999, failed: true }));
      return acc;
    });
    // every range of panes: the running counts, the fold and a merge agree
    for (let lo = 0; lo < panes.length; lo++) {
      for (let hi = lo; hi <= panes.length; hi++) {
        const merged = agg.create();
        const folded = summary.create();
        const sums = [0, 0];
        for (const p of panes.slice(lo, hi)) {
          agg.merge(merged, p);
          summary.add(folded, p);
          const out: number[] = [];
          additive.counts(p, out, 0);
          sums[0] = (sums[0] as number) + (out[0] as number);
          sums[1] = (sums[1] as number) + (out[1] as number);
        }
        const expected = { successes: merged.sketch.count, reachesMinLatency: merged.sketch.max >= 300 };
        expect(additive.fromCounts(sums)).toEqual(expected);
        expect(folded).toEqual(expected);
      }
    }
    expect(additive.fromCounts([46, 2])).toEqual({ successes: 46, reachesMinLatency: true });
    expect(additive.fromCounts([3, 0]).reachesMinLatency).toBe(false);
  });
});
