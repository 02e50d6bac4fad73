/**
 * Retry-pattern detectors end to end: traces made with the OTel JS SDK, through the event clock,
 * the trace assembler and the detector, on data time.
 */
import { describe, expect, it } from 'vitest';
import { pipe } from 'rxjs';
import type { Observation } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import { runOnSpans, testContext } from './support/detector-harness.js';
import { recordTraces, type SpanTree } from './support/readable-to-record.js';
import { traceAssembler, traceAssemblerSchema } from '../src/traces/trace-assembler.js';
import { retryPatternsConfigSchema } from '../processors/retry-patterns/config.js';
import { retryStatsAggregator } from '../processors/retry-patterns/stats.js';
import { judgeExhaustion, judgeNonRetryable, stormRate, type Held } from '../processors/retry-patterns/rules.js';
import type { RetryStats } from '../processors/retry-patterns/stats.js';
import { retryPatterns } from '../processors/retry-patterns/detector.js';
import { retryPatternsProcessorFactory } from '../processors/retry-patterns/index.js';
import { providerFallbackConfigSchema } from '../processors/provider-fallback/config.js';
import { providerFallbackDetector } from '../processors/provider-fallback/detector.js';
import { judgeFallbacks } from '../processors/provider-fallback/evidence.js';
import { fallbackAggregator } from '../processors/provider-fallback/stats.js';
import { providerFallbackProcessorFactory } from '../processors/provider-fallback/index.js';

const T0 = 1_700_000_000_000;
const config = retryPatternsConfigSchema.parse({});
const fallbackConfig = providerFallbackConfigSchema.parse({});

interface Attempt {
  /** wait before this attempt, after the previous one ended */
  readonly gap: number;
  readonly dur?: number;
  readonly error?: string;
  readonly status?: number;
  readonly errorType?: string;
}

/** One agent trace at `start` holding one tool call chain (structural: no attempt attributes). */
function chainTrace(start: number, attempts: readonly Attempt[], tool = 'web_search'): SpanTree {
  let t = start + 10;
  const children: SpanTree[] = attempts.map((a) => {
    t += a.gap;
    const s = t;
    t += a.dur ?? 200;
    return {
      name: 'execute_tool',
      start: s,
      end: t,
      error: a.error ?? (a.status !== undefined && a.status >= 400 ? `HTTP ${a.status}` : undefined),
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': tool,
        ...(a.status !== undefined ? { 'http.response.status_code': a.status } : {}),
        ...(a.errorType !== undefined ? { 'error.type': a.errorType } : {}),
      },
    };
  });
  return { name: 'invoke_agent', start, end: t + 10, children, attributes: { 'gen_ai.agent.name': 'coder' } };
}

async function detect(trees: SpanTree[], detector = retryPatterns): Promise<Observation[]> {
  const ctx = testContext('offline');
  const spans: SpanRecord[] = recordTraces(trees);
  return runOnSpans(spans, pipe(traceAssembler(traceAssemblerSchema.parse({}), ctx), detector(config, ctx)));
}

const ofKind = (obs: Observation[], kind: string, tool = 'web_search') => obs.filter((o) => o.kind === kind && o.subject.tool === tool);
const fail = (gap: number, extra: Partial<Attempt> = {}): Attempt => ({ gap, error: 'ECONNRESET', ...extra });
const ok = (gap: number): Attempt => ({ gap });

/** Deterministic jitter in ±fraction. */
function jitter(seed: number, fraction: number): number {
  const x = Math.sin(seed * 12.9898) * 43_758.5453;
  return 1 + (2 * (x - Math.floor(x)) - 1) * fraction;
}

describe('retry_no_backoff', () => {
  it('flags retries at a fixed ~1 s interval, with the gap figures', async () => {
    const trees = Array.from({ length: 8 }, (_, i) => chainTrace(T0 + i * 6_000, [ok(0), fail(0), fail(1_000), fail(1_000), ok(1_000)].slice(1)));
    const found = ofKind(await detect(trees), 'retry_no_backoff');
    expect(found.length).toBeGreaterThan(0);
    const o = found[found.length - 1] as Observation;
    expect(o.severity).toBe('medium');
    expect(o.category).toBe('reliability');
    expect(o.evidence.window).toBe('all');
    expect(o.title).toBe('web_search is retried every ~1 s without backoff');
    expect(o.evidence.metrics).toMatchObject({ chains: 8, retries: 24, timed_chains: 8, attempts_hist: { '4': 8 }, gap_cv: 0, gap_ratio: 1, exhausted_chains: 0, calls: 32 });
    expect(o.evidence.metrics['median_gap_ms']).toBeGreaterThanOrEqual(990);
    expect(o.evidence.metrics['median_gap_ms']).toBeLessThanOrEqual(1_010);
    expect(o.evidence.exemplar_trace_ids).toHaveLength(5);
    expect(o.description).toContain('gap CV 0');
  });

  it('does not flag exponential backoff with ±30 % jitter', async () => {
    const trees = Array.from({ length: 10 }, (_, i) =>
      chainTrace(T0 + i * 20_000, [fail(0), fail(1_000 * jitter(i * 3 + 1, 0.3)), fail(2_000 * jitter(i * 3 + 2, 0.3)), ok(4_000 * jitter(i * 3 + 3, 0.3))]),
    );
    const obs = await detect(trees);
    expect(ofKind(obs, 'retry_no_backoff')).toEqual([]);
  });

  it('flags immediate retries (median gap under 100 ms) even when the gaps vary', async () => {
    const trees = Array.from({ length: 8 }, (_, i) => chainTrace(T0 + i * 5_000, [fail(0), fail(5 + i), fail(40 - i), ok(20)]));
    const found = ofKind(await detect(trees), 'retry_no_backoff');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.title).toMatch(/^web_search is retried immediately \(median gap \d+ ms\)$/);
  });

  it('does not judge kc synthetic attempts, whose times are apportioned', async () => {
    const trees = Array.from({ length: 10 }, (_, i): SpanTree => ({
      name: 'kc.task',
      start: T0 + i * 10_000,
      end: T0 + i * 10_000 + 9_000,
      attributes: { 'kc.task.type': 'Fix', 'kc.task.retry_count': 2 },
      children: [0, 1, 2].map((n) => ({
        name: 'kc.task.attempt',
        start: T0 + i * 10_000 + n * 3_000,
        end: T0 + i * 10_000 + (n + 1) * 3_000,
        error: n < 2 ? 'timeout' : undefined,
        attributes: { 'kc.task.attempt': n + 1, 'kc.task.type': 'Fix', 'sidelight.synthetic': true },
      })),
    }));
    const obs = await detect(trees);
    expect(obs.filter((o) => o.kind === 'retry_no_backoff')).toEqual([]);
  });
});

describe('retry_non_retryable', () => {
  it('flags retries after HTTP 400, high when they are ≥ 20 % of the calls', async () => {
    const trees = Array.from({ length: 8 }, (_, i) => chainTrace(T0 + i * 10_000, [fail(0, { status: 400 }), fail(1_000 * (1 + (i % 3)), { status: 400 }), ok(3_000)]));
    const found = ofKind(await detect(trees), 'retry_non_retryable');
    const o = found[found.length - 1] as Observation;
    expect(o.severity).toBe('high');
    expect(o.category).toBe('efficiency');
    expect(o.evidence.metrics).toMatchObject({ retries: 16, calls: 24, share: 0.667, by_error_class: { http_400: 16 } });
  });

  it('does not count retries after 429 or timeouts', async () => {
    const trees = Array.from({ length: 8 }, (_, i) => chainTrace(T0 + i * 10_000, [fail(0, { status: 429 }), fail(1_000, { error: 'timed out', errorType: 'timeout' }), ok(3_000)]));
    expect(ofKind(await detect(trees), 'retry_non_retryable')).toEqual([]);
  });
});

/** Window statistics of an operation with `calls` calls and `retries` retries after non-retryable errors. */
function nonRetryableStats(calls: number, retries: number): RetryStats {
  const s = retryStatsAggregator.create();
  s.calls = calls;
  s.chains = retries;
  s.retries = retries;
  s.nonRetryableRetries = retries;
  s.nonRetryableByClass.set('ENOENT', retries);
  s.nonRetryableWastedMs = retries * 9;
  return s;
}

describe('retry_non_retryable severity by impact (share of the calls)', () => {
  const severityAt = (calls: number, retries: number, held?: Held) => judgeNonRetryable(nonRetryableStats(calls, retries), 'read_file', config, held)?.severity;

  it('is low when the retries are a small share of the calls: 9 after ENOENT among 3088 calls', () => {
    const f = judgeNonRetryable(nonRetryableStats(3_088, 9), 'read_file', config);
    expect(f?.severity).toBe('low');
    expect(f?.description).toBe('9 retries of read_file followed non-retryable errors (ENOENT 9), 0.3 % of its 3088 calls, wasting 81 ms.');
  });

  it('is medium from 1 % of the calls and high from 20 %, each exactly at its threshold', () => {
    expect(severityAt(501, 5)).toBe('low'); // 0.998 %
    expect(severityAt(500, 5)).toBe('medium'); // 1 %
    expect(severityAt(500, 99)).toBe('medium'); // 19.8 %
    expect(severityAt(500, 100)).toBe('high'); // 20 %
    expect(severityAt(500, 4)).toBeUndefined(); // under non_retryable_min_retries
    const medium = judgeNonRetryable(nonRetryableStats(500, 5), 'read_file', config);
    expect(medium?.description).toContain('1 % of its 500 calls');
  });

  it('holds a severity within the band below its threshold, and drops it past the band', () => {
    const band = 0.1;
    // 0.96 % after being medium: still medium (band down to 0.9 %); 0.88 %: low
    expect(severityAt(520, 5, { was: 'medium', band })).toBe('medium');
    expect(severityAt(570, 5, { was: 'medium', band })).toBe('low');
    // 19 % after being high: still high (band down to 18 %); 17.8 %: medium
    expect(severityAt(500, 95, { was: 'high', band })).toBe('high');
    expect(severityAt(500, 89, { was: 'high', band })).toBe('medium');
    // a low series is not held: 0.96 % stays low
    expect(severityAt(520, 5, { was: 'low', band })).toBe('low');
  });
});

describe('retry_exhaustion bands', () => {
  function exhausted(chains: number, failedChains: number): RetryStats {
    const s = retryStatsAggregator.create();
    s.calls = chains * 3;
    s.chains = chains;
    s.exhausted = failedChains;
    s.exhaustedAttempts = failedChains * 3;
    return s;
  }
  it('fires from 20 %, high from 50 %, and holds both within the band', () => {
    expect(judgeExhaustion(exhausted(100, 19), 'web_search', config)).toBeUndefined();
    expect(judgeExhaustion(exhausted(100, 20), 'web_search', config)?.severity).toBe('medium');
    expect(judgeExhaustion(exhausted(100, 50), 'web_search', config)?.severity).toBe('high');
    expect(judgeExhaustion(exhausted(100, 49), 'web_search', config)?.severity).toBe('medium');
    expect(judgeExhaustion(exhausted(100, 46), 'web_search', config, { was: 'high', band: 0.1 })?.severity).toBe('high');
    expect(judgeExhaustion(exhausted(100, 44), 'web_search', config, { was: 'high', band: 0.1 })?.severity).toBe('medium');
    expect(judgeExhaustion(exhausted(100, 19), 'web_search', config, { was: 'medium', band: 0.1 })?.severity).toBe('medium');
    expect(judgeExhaustion(exhausted(100, 17), 'web_search', config, { was: 'medium', band: 0.1 })).toBeUndefined();
  });

  it('is low when the exhausted chains\' attempts are under 5 % of the calls, whatever their share of the chains', () => {
    // a missing file retried once and missing again: 70 % of the retried chains, 2 % of 1 500 reads
    const s = retryStatsAggregator.create();
    Object.assign(s, { calls: 1_500, chains: 21, exhausted: 15, exhaustedAttempts: 30 });
    const o = judgeExhaustion(s, 'read_file', config);
    expect(o?.severity).toBe('low');
    expect(o?.description).toContain('their 30 attempts are 2 % of its 1500 calls');
    // the same chains among 500 calls are 6 % of them: high (70 % of the chains)
    expect(judgeExhaustion({ ...s, calls: 500 }, 'read_file', config)?.severity).toBe('high');
    // once medium, held within the band below 5 % (4.6 %), dropped below it (4.4 %)
    expect(judgeExhaustion({ ...s, calls: 652 }, 'read_file', config, { was: 'high', band: 0.1 })?.severity).toBe('high');
    expect(judgeExhaustion({ ...s, calls: 682 }, 'read_file', config, { was: 'high', band: 0.1 })?.severity).toBe('low');
  });

  it('states its impact: the exhausted chains\' attempts as a share of the calls', () => {
    expect(judgeExhaustion(exhausted(100, 30), 'web_search', config)?.description).toContain('their 90 attempts are 30 % of its 300 calls');
  });
});

describe('retry_exhaustion', () => {
  it('is high when half the retried chains fail on every attempt', async () => {
    const trees = Array.from({ length: 10 }, (_, i) => chainTrace(T0 + i * 5_000, [fail(0), fail(500 * 2 ** (i % 2)), i % 2 === 0 ? fail(2_000) : ok(2_000)]));
    const found = ofKind(await detect(trees), 'retry_exhaustion');
    const o = found[found.length - 1] as Observation;
    expect(o.severity).toBe('high');
    expect(o.evidence.metrics).toMatchObject({ chains: 10, exhausted_chains: 5, share: 0.5, affected_traces: 10 });
    expect(o.evidence.metrics['wasted_ms']).toBe(5 * 3 * 200);
    expect(o.evidence.exemplar_trace_ids).toHaveLength(5);
  });

  it('stays quiet when 1 of 10 chains is exhausted', async () => {
    const trees = Array.from({ length: 10 }, (_, i) => chainTrace(T0 + i * 5_000, [fail(0), i === 0 ? fail(700) : ok(700)]));
    expect(ofKind(await detect(trees), 'retry_exhaustion')).toEqual([]);
  });
});

describe('retry_storm', () => {
  /** 10 quiet minutes of calls without retries, then a minute of retries */
  function quietThenStorm(stormChains: number): SpanTree[] {
    const quiet = Array.from({ length: 60 }, (_, i) => chainTrace(T0 + i * 10_000, [ok(0)]));
    const storm = Array.from({ length: stormChains }, (_, i) => chainTrace(T0 + 600_000 + i * 2_000, [fail(0), fail(300 * (1 + (i % 4))), ok(900)]));
    return [...quiet, ...storm];
  }

  it('fires when retries per minute jump ≥ 3 × the baseline and ≥ 10', async () => {
    const found = ofKind(await detect(quietThenStorm(25)), 'retry_storm');
    expect(found.length).toBeGreaterThan(0);
    const o = found[0] as Observation;
    expect(o.severity).toBe('high');
    expect(o.evidence.window).toBe('1m');
    expect(o.evidence.metrics['baseline_retries_per_min']).toBe(0);
    expect(o.evidence.metrics['retries_per_min']).toBeGreaterThanOrEqual(10);
    expect(o.title).toMatch(/^web_search retries surged to [\d.]+\/min \(baseline 0\/min\)$/);
  });

  it('does not fire on one retry that succeeds', async () => {
    const found = await detect(quietThenStorm(1));
    expect(found.filter((o) => o.kind === 'retry_storm')).toEqual([]);
    expect(found).toEqual([]);
  });

  it('fires on ≥ 5 tasks whose nested retries multiply to 9', async () => {
    const task = (start: number): SpanTree => ({
      name: 'kc.task',
      start,
      end: start + 20_000,
      attributes: { 'kc.task.type': 'Refactor' },
      children: [0, 1, 2].map((n) => {
        const base = start + n * 6_000;
        return {
          name: 'kc.task.attempt',
          start: base,
          end: base + 5_000,
          error: n < 2 ? 'tool failed' : undefined,
          attributes: { 'kc.task.attempt': n + 1, 'kc.task.type': 'Refactor' },
          children: chainTrace(base, [fail(0), fail(1_000), n < 2 ? fail(2_000) : ok(2_000)]).children,
        };
      }),
    });
    const obs = await detect(Array.from({ length: 6 }, (_, i) => task(T0 + i * 30_000)));
    const storms = obs.filter((o) => o.kind === 'retry_storm' && o.subject.operation === 'kc.task.attempt');
    expect(storms.length).toBeGreaterThan(0);
    const o = storms[storms.length - 1] as Observation;
    expect(o.subject).toEqual({ service: 'kc-orchestrator', operation: 'kc.task.attempt', task_type: 'Refactor' });
    expect(o.evidence.metrics).toMatchObject({ amplification: 9, amplified_chains: 6, nested_operations: { 'kc-orchestrator execute_tool web_search': 6 } });
    expect(o.title).toBe('Refactor retries multiply across nested layers (×9)');
  });
});

describe('provider_fallback', () => {
  const task = (i: number, fallback: boolean): SpanTree => ({
    name: 'kc.task',
    start: T0 + i * 10_000,
    end: T0 + i * 10_000 + 8_000,
    attributes: { 'kc.task.id': `t${i}`, 'gen_ai.provider.name': fallback ? 'codex' : 'claude' },
    events: fallback ? [{ name: 'provider_fallback', time: T0 + i * 10_000 + 4_000, attributes: { from: 'claude', to: 'codex', reason: 'rate_limit' } }] : [],
  });
  const run = (n: number, fallbacks: number) =>
    detect(
      Array.from({ length: n }, (_, i) => task(i, i < fallbacks)),
      (_retry, ctx) => providerFallbackDetector(fallbackConfig, ctx),
    );

  it('is medium at ≥ 0.5 fallbacks per task over ≥ 10 tasks, on the abandoned provider', async () => {
    const obs = await run(12, 7);
    const o = obs[obs.length - 1] as Observation;
    expect(o.kind).toBe('provider_fallback');
    expect(o.subject).toEqual({ service: 'kc-orchestrator', operation: 'kc.task', provider: 'claude' });
    expect(o.severity).toBe('medium');
    expect(o.evidence.metrics).toMatchObject({ tasks: 12, fallbacks: 7, fallbacks_per_task: 0.583, by_provider: { codex: 7 }, by_error_class: { rate_limit: 7 } });
    expect(obs.every((x) => x.subject.provider === 'claude')).toBe(true);
  });

  it('is low between 0.2 and 0.5, and absent below 0.2 or under 10 tasks', async () => {
    const low = await run(12, 3);
    expect(low[low.length - 1]?.severity).toBe('low');
    expect(await run(12, 1)).toEqual([]);
    expect(await run(9, 9)).toEqual([]);
  });
});

describe('retry_patterns factory', () => {
  it('has every threshold as config with the documented defaults and contributes one trace detector', () => {
    expect(config).toMatchObject({
      min_samples: 20,
      storm_min_per_minute: 10,
      storm_factor: 3,
      amplification_min: 6,
      amplification_min_chains: 5,
      exhaustion_min_chains: 10,
      exhaustion_ratio: 0.2,
      exhaustion_high_ratio: 0.5,
      exhaustion_medium_share: 0.05,
      non_retryable_min_retries: 5,
      non_retryable_medium_share: 0.01,
      non_retryable_high_share: 0.2,
      no_backoff_min_chains: 5,
      no_backoff_max_cv: 0.2,
      no_backoff_ratio_min: 0.8,
      no_backoff_ratio_max: 1.25,
      no_backoff_min_gap: 100,
    });
    expect(retryPatternsConfigSchema.parse({ no_backoff_min_gap: '250ms' }).no_backoff_min_gap).toBe(250);
    expect(() => retryPatternsConfigSchema.parse({ storm_min: 3 })).toThrow();
    const detectors = retryPatternsProcessorFactory.stage === 'detector' ? retryPatternsProcessorFactory.create(config, testContext()) : [];
    expect(detectors.map((d) => d.input)).toEqual(['traces']);
  });
});

describe('provider_fallback bands', () => {
  const stats = (tasks: number, fallbacks: number) => ({ ...fallbackAggregator.create(), tasks, fallbacks, tasksWithFallback: fallbacks });
  const judge = (tasks: number, fallbacks: number, was?: 'low' | 'medium') =>
    judgeFallbacks(stats(tasks, fallbacks), { service: 'kc', operation: 'kc.task', provider: 'codex' }, '5m', T0, fallbackConfig, { was, band: 0.1 });
  it('is medium from 0.5 fallbacks per task, low from 0.2, each held down to 90 % of its threshold', () => {
    expect(judge(100, 49)?.severity).toBe('low');
    expect(judge(100, 50)?.severity).toBe('medium');
    expect(judge(100, 46, 'medium')?.severity).toBe('medium');
    expect(judge(100, 44, 'medium')?.severity).toBe('low');
    expect(judge(100, 19)).toBeUndefined();
    expect(judge(100, 19, 'low')?.severity).toBe('low');
    expect(judge(100, 17, 'low')).toBeUndefined();
    expect(judge(100, 50)?.description).toContain('(50 tasks affected, 50 % of them)');
  });
});

describe('provider_fallback factory', () => {
  it('has its thresholds as its own config with the documented defaults and contributes one trace detector', () => {
    expect(fallbackConfig).toEqual({ min_tasks: 10, per_task: 0.5, per_task_low: 0.2 });
    expect(() => providerFallbackConfigSchema.parse({ fallback_min_tasks: 10 })).toThrow(/fallback_min_tasks/);
    const detectors = providerFallbackProcessorFactory.stage === 'detector' ? providerFallbackProcessorFactory.create(fallbackConfig, testContext()) : [];
    expect(detectors.map((d) => d.input)).toEqual(['traces']);
  });

  it('is no longer configured under retry_patterns: the old keys fail validation', () => {
    expect(() => retryPatternsConfigSchema.parse({ fallback_per_task: 0.5 })).toThrow(/fallback_per_task/);
  });
});

describe('retry window counts', () => {
  it('sums the pane counts a merge would hold, without merging', () => {
    const agg = retryStatsAggregator;
    const summary = agg.summary!;
    const panes = [1, 2, 3].map((k) => {
      const s = agg.create();
      Object.assign(s, { calls: 10 * k, chains: 3 * k, retries: 5 * k, exhausted: k, exhaustedAttempts: 3 * k, nonRetryableRetries: k + 1, timedChains: 2 * k, amplifiedChains: k - 1 });
      return s;
    });
    const merged = agg.create();
    const counts = summary.create();
    for (const p of panes) {
      agg.merge(merged, p);
      summary.add(counts, p);
    }
    expect(counts).toEqual({
      calls: merged.calls,
      chains: merged.chains,
      retries: merged.retries,
      exhausted: merged.exhausted,
      exhaustedAttempts: merged.exhaustedAttempts,
      nonRetryableRetries: merged.nonRetryableRetries,
      timedChains: merged.timedChains,
      amplifiedChains: merged.amplifiedChains,
    });
    expect(panes[0]!.calls).toBe(10); // panes are not modified
  });

  it('tests the storm rate on counts alone', () => {
    const short = { spec: { name: '1m', sizeMs: 60_000, paneMs: 10_000 }, acc: { calls: 30, retries: 40 } };
    const long = { spec: { name: '15m', sizeMs: 900_000, paneMs: 10_000 }, acc: { calls: 100, retries: 50 } };
    expect(stormRate(short, long, config)).toEqual({ perMin: 40, basePerMin: 10 / 14, baseMinutes: 14 });
    expect(stormRate(short, { ...long, acc: { calls: 40, retries: 50 } }, config)).toBeUndefined(); // baseline under min_samples
    expect(stormRate({ ...short, acc: { calls: 30, retries: 5 } }, long, config)).toBeUndefined();
  });
});
