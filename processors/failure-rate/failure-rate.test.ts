import { describe, expect, it, vi } from 'vitest';
import type { SpanRecord } from '../../src/model/span.js';
import type { Observation } from '../../src/model/painpoint.js';
import { makeSpan, type SpanInit } from '../../test/support/span-factory.js';
import { runOnSpans, testContext, testSettings } from '../../test/support/detector-harness.js';
import { SeriesWindows } from '../../src/windows/series-windows.js';
import { failureRateConfigSchema } from './config.js';
import { failureAggregator, TimeHistogram } from './accumulation.js';
import { failureRate } from './detector.js';
import { failureRateProcessorFactory } from './index.js';

const T0 = 1_700_000_100_000;
const defaults = failureRateConfigSchema.parse({});

/**
 * `count` calls every `everyMs` from `startMs`; `failRate` of them fail, spread evenly
 * (call i fails when ⌊(i+1)·r⌋ > ⌊i·r⌋), so results do not depend on a random seed.
 */
function calls(count: number, everyMs: number, failRate: number, init: SpanInit = {}, startMs = T0): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let i = 0; i < count; i++) {
    const failed = Math.floor((i + 1) * failRate + 1e-9) > Math.floor(i * failRate + 1e-9);
    const start = startMs + i * everyMs;
    out.push(
      makeSpan({
        name: 'execute_tool',
        tool: 'web_search',
        startMs: start,
        durationMs: 200,
        failed,
        errorClass: failed ? 'timeout' : undefined,
        runId: `run-${Math.floor(i / 50)}`,
        ...init,
      }),
    );
  }
  return out;
}

async function live(spans: SpanRecord[], overrides: Record<string, unknown> = {}): Promise<Observation[]> {
  const config = failureRateConfigSchema.parse(overrides);
  return runOnSpans(spans, failureRate(config, testContext('live')));
}

async function offline(spans: SpanRecord[], overrides: Record<string, unknown> = {}): Promise<Observation[]> {
  const config = failureRateConfigSchema.parse(overrides);
  return runOnSpans(spans, failureRate(config, testContext('offline')));
}

const ofKind = (obs: Observation[], kind: string) => obs.filter((o) => o.kind === kind);

describe('failure_rate config', () => {
  it('has the documented defaults, spike_min_samples following min_samples', () => {
    expect(defaults).toEqual({
      min_samples: 20,
      lower_bound_threshold: 0.1,
      high_lower_bound: 0.5,
      spike_margin: 0.15,
      spike_min_samples: 20,
      baseline_window: 'longest',
      max_series: 5000,
      max_tracked_calls: 10000,
      max_exemplars: 5,
    });
    expect(failureRateConfigSchema.parse({ min_samples: 50 }).spike_min_samples).toBe(50);
    expect(failureRateConfigSchema.parse({ min_samples: 50, spike_min_samples: 30 }).spike_min_samples).toBe(30);
  });

  it('rejects unknown keys and names a baseline window that does not exist', () => {
    expect(() => failureRateConfigSchema.parse({ min_sample: 3 })).toThrow(/min_sample/);
    const config = failureRateConfigSchema.parse({ baseline_window: '2h' });
    expect(() => failureRateProcessorFactory.create(config, testContext('live'))).toThrow(/baseline_window.*"2h"/);
  });
});

describe('failure_rate', () => {
  it('reports a series failing 40 % over 100 calls as medium with a lower bound of about 31 %', async () => {
    const obs = ofKind(await offline(calls(100, 10_000, 0.4)), 'failure_rate').filter((o) => o.evidence.window === 'all');
    const op = obs.find((o) => o.subject.tool === 'web_search' && o.subject.provider === undefined);
    expect(op).toBeDefined();
    expect(op?.severity).toBe('medium');
    expect(op?.category).toBe('reliability');
    expect(op?.evidence.metrics).toMatchObject({ calls: 100, failures: 40, failure_rate: 0.4, wilson_lower: 0.3094, wilson_upper: 0.498 });
    expect(op?.keyMetric).toBeCloseTo(0.4, 10);
    expect(op?.title).toBe('web_search fails 40 % of calls (95 % lower bound 31 %) over the whole input');
  });

  it('stays silent on a series whose lower bound stays below 10 % (8 % failing)', async () => {
    const obs = await live(calls(600, 1_000, 0.08));
    expect(ofKind(obs, 'failure_rate')).toEqual([]);
  });

  it('fires once the lower bound crosses 10 % (25 % failing, 60 calls a minute)', async () => {
    const obs = ofKind(await live(calls(600, 1_000, 0.25)), 'failure_rate');
    expect(obs.length).toBeGreaterThan(0);
    const first = obs[0] as Observation;
    expect(first.evidence.window).toBe('1m');
    expect(first.severity).toBe('medium');
    expect(first.evidence.metrics.wilson_lower as number).toBeGreaterThanOrEqual(0.1);
    expect(first.evidence.metrics.calls as number).toBeGreaterThanOrEqual(20);
  });

  it('never reports 1 failure of 2 calls, nor 19 calls that all failed', async () => {
    expect(await offline(calls(2, 1_000, 0.5))).toEqual([]);
    expect(await live(calls(19, 1_000, 1))).toEqual([]);
    expect(await offline(calls(19, 1_000, 1))).toEqual([]);
  });

  it('is high when the lower bound reaches 50 % (80 % failing)', async () => {
    const obs = ofKind(await live(calls(300, 1_000, 0.8)), 'failure_rate');
    expect(obs.length).toBeGreaterThan(0);
    expect(obs.every((o) => o.severity === 'high')).toBe(true);
  });

  it('judges a sparse series on the 1h window', async () => {
    // 30 calls over 58 minutes, half failing: never 20 calls in 15 minutes
    const obs = ofKind(await live(calls(30, 120_000, 0.5)), 'failure_rate');
    expect(obs.length).toBeGreaterThan(0);
    expect(new Set(obs.map((o) => o.evidence.window))).toEqual(new Set(['1h']));
    expect(obs[0]?.evidence.metrics.calls as number).toBeGreaterThanOrEqual(20);
  });

  it('does not take a bad first quarter hour of background refusals for a sustained rate', async () => {
    // a pull-request tool called 6 times a minute from the input's start, 8 % refused in the long
    // run, but 5 of its first 20 calls (a chance cluster); its 5m and 15m windows then hold the same
    // calls, so no longer window can confirm the 25 %: at 99 % confidence it is 9 %, under the line
    const first = calls(20, 10_000, 0.25, { tool: 'open_pull_request' });
    const rest = calls(70, 10_000, 0.05, { tool: 'open_pull_request' }, T0 + 20 * 10_000);
    expect(ofKind(await live([...first, ...rest]), 'failure_rate')).toEqual([]);
  });

  it('fires on the same operation failing 40 % from the start: significant at 99 % on its own', async () => {
    const obs = ofKind(await live(calls(90, 10_000, 0.4, { tool: 'open_pull_request' })), 'failure_rate');
    expect(obs.length).toBeGreaterThan(0);
    // first seen once 20 calls are in, before any longer window holds more than the judged one
    expect((obs[0] as Observation).time).toBeLessThan(T0 + 5 * 60_000);
  });

  it('finds the one failing provider of an operation shared by four, and only it', async () => {
    const providers = ['codex', 'claude', 'gemini', 'qwen'];
    const spans = providers.flatMap((provider, p) =>
      calls(300, 2_000, provider === 'codex' ? 0.4 : 0, { name: 'kc.task', tool: undefined, taskType: 'Refactor', provider }, T0 + p * 500),
    );
    const obs = ofKind(await live(spans), 'failure_rate');
    const subjects = new Set(obs.map((o) => JSON.stringify(o.subject)));
    expect(subjects).toEqual(new Set([JSON.stringify({ service: 'kc-orchestrator', operation: 'kc.task', provider: 'codex' })]));
    const first = obs[0] as Observation;
    expect(first.title).toMatch(/^codex \(kc\.task\) fails 4\d % of calls/);
    expect(first.evidence.metrics.by_provider).toEqual({ codex: first.evidence.metrics.failures });
  });

  it('never reports the __overflow__ series', async () => {
    const spans = [
      ...calls(100, 1_000, 0, { tool: 'read_file' }),
      ...calls(100, 1_000, 0.9, { tool: 'web_search', provider: undefined }, T0 + 300),
      ...calls(100, 1_000, 0.9, { tool: 'fetch_url' }, T0 + 600),
    ];
    const obs = await offline(spans, { max_series: 1 });
    expect(obs).toEqual([]);
  });

  it('carries evidence: breakdowns, wasted time, affected traces and runs, exemplars of failed spans', async () => {
    const spans = calls(100, 10_000, 0.4).map((s, i) => (s.failed && i % 2 === 0 ? { ...s, errorClass: 'rate_limit', provider: 'openai' } : s));
    const obs = ofKind(await offline(spans), 'failure_rate').find((o) => o.evidence.window === 'all' && o.subject.provider === undefined);
    const m = obs?.evidence.metrics ?? {};
    expect(m.wasted_ms).toBe(40 * 200);
    expect(m.affected_traces).toBe(40);
    expect(m.affected_runs).toBe(2);
    expect(m.by_error_class).toEqual({ rate_limit: 20, timeout: 20 });
    expect(m.by_provider).toEqual({ openai: 20 });
    expect(obs?.runIds).toEqual(['run-0', 'run-1']);
    const failedTraces = new Set(spans.filter((s) => s.failed).map((s) => s.traceId));
    expect(obs?.evidence.exemplar_trace_ids).toHaveLength(5);
    expect(obs?.evidence.exemplar_trace_ids.every((t) => failedTraces.has(t))).toBe(true);
    expect(obs?.evidence.exemplar_span_ids).toHaveLength(5);
  });

  it('counts failed spans with no error class as unknown, and takes zero durations', async () => {
    const spans = calls(50, 1_000, 0.5, { durationMs: 0 }).map((s) => (s.failed ? { ...s, errorClass: undefined } : s));
    const obs = ofKind(await offline(spans), 'failure_rate').find((o) => o.evidence.window === 'all' && o.subject.provider === undefined);
    expect(obs?.evidence.metrics.by_error_class).toEqual({ unknown: 25 });
    expect(obs?.evidence.metrics.wasted_ms).toBe(0);
  });
});

/**
 * A tool called 30 times a minute, each call in a trace of its own under an agent span; the calls
 * in `failing` fail their first attempt and are retried (`retries` more attempts, `recover` saying
 * whether the last one succeeds), each attempt after the previous one ended.
 */
function retriedCalls(minutes: number, failing: (i: number) => boolean, retries: number, recover: (i: number) => boolean): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let i = 0; i < minutes * 30; i++) {
    const traceId = i.toString(16).padStart(32, '0');
    const base = { name: 'execute_tool fetch_url', tool: 'fetch_url', traceId, parentSpanId: `agent-${i}`, toolCallId: `call_${i}`, runId: `run-${Math.floor(i / 60)}` };
    let start = T0 + i * 2_000;
    const fails = failing(i);
    const attempts = fails ? 1 + retries : 1;
    for (let a = 1; a <= attempts; a++) {
      const failed = fails && (a < attempts || !recover(i));
      out.push(makeSpan({ ...base, startMs: start, durationMs: failed ? 60 : 400, failed, errorClass: failed ? '503' : undefined }));
      start += (failed ? 60 : 400) + 200 * 2 ** a;
    }
  }
  return out;
}

describe('failure_rate with retries: a retried call counts once', () => {
  it('stays silent on a few calls whose page answers 503 to every attempt (3 calls of 30 in one minute, 4 attempts each)', async () => {
    // the first minute holds three calls that fail all 4 attempts: 12 failed attempts of 39, whose
    // lower bound passed the line (at 99 %: nothing longer confirms yet) when every attempt counted;
    // as calls it is 3 of 30. Later, a call now and then fails once and its retry recovers.
    const noisy = retriedCalls(12, (i) => i === 18 || i === 22 || i === 26 || i % 97 === 13, 3, (i) => i % 97 === 13);
    const obs = ofKind(await live(noisy), 'failure_rate');
    expect(obs).toEqual([]);
    // the same spans with every attempt taken for a call of its own (no parent to tell retries by) fire
    const asCalls = noisy.map((s) => ({ ...s, parentSpanId: undefined }));
    expect(ofKind(await live(asCalls), 'failure_rate').length).toBeGreaterThan(0);
  });

  it('still fires when 40 % of calls fail their first attempt, even though retries recover most of them', async () => {
    const faulty = retriedCalls(12, (i) => i % 5 < 2, 2, (i) => i % 10 !== 0);
    const obs = ofKind(await live(faulty), 'failure_rate').filter((o) => o.subject.provider === undefined);
    expect(obs.length).toBeGreaterThan(0);
    const first = obs[0] as Observation;
    const m = first.evidence.metrics;
    expect(m.failure_rate as number).toBeCloseTo(0.4, 1);
    // every failing call made 3 attempts: the evidence keeps the attempts, the rate is of calls
    expect(m.attempts).toBe((m.calls as number) + 2 * (m.failures as number));
    expect(m.failed_attempts as number).toBeGreaterThan(m.failures as number);
    expect(first.description).toContain(`a retried call counted once (${m.failed_attempts as number} of ${m.attempts as number} attempts failed)`);
  });
});

describe('failure_spike', () => {
  it('fires high when a steady 5 % series jumps to 60 % for one minute', async () => {
    const steady = calls(1800, 1_000, 0.05);
    const spike = calls(60, 1_000, 0.6, {}, T0 + 1800 * 1_000);
    const after = calls(300, 1_000, 0.05, {}, T0 + 1860 * 1_000);
    const obs = ofKind(await live([...steady, ...spike, ...after]), 'failure_spike').filter((o) => o.subject.provider === undefined);
    expect(obs.length).toBeGreaterThan(0);
    const top = obs.reduce((a, b) => (b.keyMetric > a.keyMetric ? b : a));
    expect(top.severity).toBe('high');
    expect(top.evidence.window).toBe('1m');
    expect(top.evidence.metrics.failure_rate).toBeCloseTo(0.6, 2);
    expect(top.evidence.metrics.baseline_failure_rate as number).toBeCloseTo(0.05, 2);
    expect(top.evidence.metrics.baseline_window).toBe('24h excluding 1m');
    // only while the spike is inside the judged window
    expect(Math.min(...obs.map((o) => o.time))).toBeGreaterThan(T0 + 1800 * 1_000);
    expect(Math.max(...obs.map((o) => o.time))).toBeLessThanOrEqual(T0 + 1860 * 1_000 + 60_000);
  });

  it('reports a steady 30 % series as failure_rate but never as a spike', async () => {
    const obs = await live(calls(1800, 1_000, 0.3));
    expect(ofKind(obs, 'failure_rate').length).toBeGreaterThan(0);
    expect(ofKind(obs, 'failure_spike')).toEqual([]);
  });

  it('needs a baseline longer than the judged window: the same jump on a lone 24h series is no spike', async () => {
    // calls only every 20 min: judged on 24h, which has no longer window
    const spans = [...calls(40, 1_200_000, 0.05), ...calls(40, 1_200_000, 0.9, {}, T0 + 40 * 1_200_000)];
    expect(ofKind(await live(spans), 'failure_spike')).toEqual([]);
  });

  it('uses a named baseline window when configured', async () => {
    const spans = [...calls(900, 1_000, 0.05), ...calls(60, 1_000, 0.7, {}, T0 + 900_000)];
    const obs = ofKind(await live(spans, { baseline_window: '15m' }), 'failure_spike');
    expect(obs.length).toBeGreaterThan(0);
    expect(obs.every((o) => o.evidence.metrics.baseline_window === '15m excluding 1m' || o.evidence.metrics.baseline_window === '15m excluding 5m')).toBe(true);
  });

  it('offline, judges the last quarter of the input against its first half', async () => {
    const spans = [...calls(300, 10_000, 0.05), ...calls(100, 10_000, 0.6, {}, T0 + 300 * 10_000)];
    const obs = ofKind(await offline(spans), 'failure_spike').filter((o) => o.evidence.window === 'all' && o.subject.provider === undefined);
    expect(obs).toHaveLength(1);
    const m = obs[0]?.evidence.metrics ?? {};
    expect(m.baseline_window).toBe('first half of the input');
    expect(m.baseline_failure_rate as number).toBeCloseTo(0.05, 2);
    expect(m.failure_rate as number).toBeCloseTo(0.6, 1);
    expect(obs[0]?.title).toMatch(/in the last quarter of the input, from a baseline of 5 %$/);
  });

  it('offline, describes the last quarter with its own failures: error classes counted of the judged failures', async () => {
    // the early part fails with other classes; the last quarter's spike is all 429s
    const early = calls(300, 10_000, 0.05, { errorClass: 'timeout' });
    const late = calls(100, 10_000, 0.6, { errorClass: 'http_429' }, T0 + 300 * 10_000);
    const spike = ofKind(await offline([...early, ...late]), 'failure_spike').find((o) => o.evidence.window === 'all' && o.subject.provider === undefined);
    const m = spike?.evidence.metrics ?? {};
    const failures = m.failures as number;
    expect(failures).toBeGreaterThan(0);
    const byClass = m.by_error_class as Record<string, number>;
    expect(Object.values(byClass).reduce((a, b) => a + b, 0)).toBe(failures);
    expect(byClass).toEqual({ http_429: failures });
    expect(spike?.description).toContain(`The most common error is http_429 (${failures} of ${failures}).`);
    expect(m.wasted_ms).toBe(failures * 200);
  });

  it('offline, a steady series has no whole-input spike', async () => {
    const obs = await offline(calls(400, 10_000, 0.3));
    expect(ofKind(obs, 'failure_spike')).toEqual([]);
    expect(ofKind(obs, 'failure_rate').some((o) => o.evidence.window === 'all')).toBe(true);
  });
});

describe('failure_rate window probing', () => {
  it('summarises panes to the calls and failures their merge holds', () => {
    const agg = failureAggregator(5);
    const panes = [calls(30, 1_000, 0.4), calls(7, 1_000, 0), calls(12, 1_000, 1)].map((spans) => {
      const acc = agg.create();
      for (const s of spans) agg.add(acc, s);
      return acc;
    });
    const merged = agg.create();
    const summary = agg.summary!.create();
    for (const p of panes) agg.merge(merged, p);
    for (const p of [...panes].reverse()) agg.summary!.add(summary, p);
    expect(summary).toEqual({ calls: merged.calls, failures: merged.failures });
    expect(summary).toEqual({ calls: 49, failures: 24 });
  });

  it('merges no window of a healthy series, and only judged windows of a failing one, when their evidence is read', async () => {
    const merges = vi.spyOn(SeriesWindows.prototype, 'mergeWindow');
    const deferred = vi.spyOn(SeriesWindows.prototype, 'deferWindow');
    try {
      expect(await live(calls(600, 1_000, 0))).toEqual([]);
      expect(merges).not.toHaveBeenCalled();
      expect(deferred).not.toHaveBeenCalled();
      const obs = await live(calls(600, 1_000, 0.4));
      expect(obs.length).toBeGreaterThan(0);
      expect(deferred).toHaveBeenCalled();
      expect(merges).not.toHaveBeenCalled();
      // the merge made for the evidence holds the calls the rule judged
      for (const o of obs) expect(o.evidence.metrics['calls']).toBe(o.figures?.calls);
    } finally {
      merges.mockRestore();
      deferred.mockRestore();
    }
  });

  it('reuses the observation of a window whose merge is unchanged (same evidence, new time)', async () => {
    // a sparse series judged on the coarse 1h window, which holds the same panes for a few boundaries
    const obs = ofKind(await live(calls(30, 120_000, 0.5)), 'failure_rate');
    const reused = obs.slice(1).filter((o, i) => o.evidence === obs[i]!.evidence);
    expect(reused.length).toBeGreaterThan(0);
    for (const o of reused) expect(o.time).not.toBe(obs[obs.indexOf(o) - 1]!.time);
  });
});

describe('TimeHistogram', () => {
  it('keeps at most 256 buckets and still splits by time', () => {
    const h = new TimeHistogram(1_000);
    for (let i = 0; i < 10_000; i++) h.add(i * 1_000, { failed: i >= 7_500, errorClass: 'timeout', traceId: `t${i}`, runId: 'r', spanId: 's', durationMs: 1 } as SpanRecord);
    const early = h.counts(0, 5_000_000);
    const late = h.counts(7_500_000, 10_000_000);
    expect(early.failures).toBe(0);
    expect(early.calls).toBeGreaterThan(4_900);
    expect(early.calls).toBeLessThan(5_100);
    expect(late.failures / late.calls).toBeGreaterThan(0.95);
    expect((h as unknown as { buckets: Map<number, unknown> }).buckets.size).toBeLessThanOrEqual(256);
  });
});

it('is a detector factory over spans', () => {
  const factory = failureRateProcessorFactory;
  expect(factory.type).toBe('failure_rate');
  if (factory.stage !== 'detector') throw new Error('not a detector');
  const detectors = factory.create(defaults, testContext('live', testSettings()));
  expect(detectors).toHaveLength(1);
  expect(detectors[0]?.input).toBe('spans');
});
