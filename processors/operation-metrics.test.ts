import { describe, expect, it } from 'vitest';
import { asyncScheduler, from, Subject } from 'rxjs';
import { Registry } from 'prom-client';
import type { PipelineEvent } from '../src/model/events.js';
import type { SpanRecord } from '../src/model/span.js';
import { serviceSchema } from '../src/config/service-schema.js';
import { eventClock } from '../src/windows/event-clock.js';
import { SYNTHETIC_ATTRIBUTE } from '../src/model/span.js';
import { makeSpan, type SpanInit } from '../test/support/span-factory.js';
import { operationMetrics, operationMetricsProcessorFactory } from './operation-metrics.js';
import type { OperationFigures, OperationFiguresFeed } from '../src/component/contracts.js';
import { silentLogger } from '../src/telemetry/logger.js';

const T0 = 1_700_000_000_000; // a multiple of 10 s
const settings = serviceSchema.parse({});
const WEB_SEARCH = 'kc execute_tool web_search';
const CHAT = 'kc chat gpt-4o';

interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/** Every sample of `name` whose labels include `match`. */
async function samples(registry: Registry, name: string, match: Record<string, string> = {}): Promise<Sample[]> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Sample[];
  return values.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

async function value(registry: Registry, name: string, match: Record<string, string>): Promise<number | undefined> {
  const found = await samples(registry, name, match);
  if (found.length > 1) throw new Error(`${name}: ${found.length} samples match ${JSON.stringify(match)}`);
  return found[0]?.value;
}

/** Feeds events by hand into a fresh operator; returns the input and what the operator emitted. */
function harness(registry: Registry, maxOperations?: number, pipeline?: string) {
  const input = new Subject<PipelineEvent>();
  const emitted: unknown[] = [];
  input.pipe(operationMetrics({ settings, registry, maxOperations, pipeline })).subscribe((e) => emitted.push(e));
  return {
    emitted,
    span: (init: SpanInit) => input.next({ type: 'span', span: makeSpan({ service: 'kc', ...init }) }),
    watermark: (time: number) => input.next({ type: 'watermark', time, from: time - 10_000 }),
  };
}

const webSearch = (endMs: number, durationMs: number, extra: SpanInit = {}): SpanInit => ({
  name: 'execute_tool',
  tool: 'web_search',
  startMs: endMs - durationMs,
  endMs,
  ...extra,
});
const chat = (endMs: number, durationMs: number, extra: SpanInit = {}): SpanInit => ({
  name: 'chat',
  model: 'gpt-4o',
  provider: 'openai',
  startMs: endMs - durationMs,
  endMs,
  ...extra,
});

/** web_search: 8 successes of 100…800 ms, 2 slow failures, 3 retries; chat: 4 successes, no failures or retries. */
function feedTwoOperations(h: ReturnType<typeof harness>): void {
  for (let i = 1; i <= 8; i++) h.span(webSearch(T0 + i * 5_000, i * 100, { attempt: i <= 3 ? 2 : 1 }));
  h.span(webSearch(T0 + 41_000, 50_000, { failed: true }));
  h.span(webSearch(T0 + 42_000, 50_000, { failed: true }));
  [200, 400, 600, 800].forEach((d, i) => h.span(chat(T0 + 1_000 + i * 10_000, d, { attempt: 1 })));
}

describe('operationMetrics', () => {
  it('reports calls, failure rate, retries per minute and latency percentiles per operation and window', async () => {
    const registry = new Registry();
    const h = harness(registry);
    feedTwoOperations(h);
    h.watermark(T0 + 60_000);

    const ws = { service: 'kc', operation: 'execute_tool', key: WEB_SEARCH };
    const ch = { service: 'kc', operation: 'chat', key: CHAT };
    for (const window of ['1m', '5m', '15m']) {
      expect(await value(registry, 'sidelight_operation_calls', { ...ws, window })).toBe(10);
      expect(await value(registry, 'sidelight_operation_failure_rate', { ...ws, window })).toBe(0.2);
      expect(await value(registry, 'sidelight_operation_calls', { ...ch, window })).toBe(4);
      expect(await value(registry, 'sidelight_operation_failure_rate', { ...ch, window })).toBe(0);
      expect(await value(registry, 'sidelight_operation_retry_rate', { ...ch, window })).toBe(0);
    }
    // 3 retries: 3 per minute over 1 m, 0.6 over 5 m, 0.2 over 15 m
    expect(await value(registry, 'sidelight_operation_retry_rate', { ...ws, window: '1m' })).toBe(3);
    expect(await value(registry, 'sidelight_operation_retry_rate', { ...ws, window: '5m' })).toBe(0.6);
    expect(await value(registry, 'sidelight_operation_retry_rate', { ...ws, window: '15m' })).toBe(0.2);
    // lower-rank quantiles of 100…800 ms: ranks 3 and 6 of 8; of 200…800 ms: ranks 1 and 2 of 4
    const latency = async (labels: Record<string, string>, quantile: string) =>
      value(registry, 'sidelight_operation_latency_ms', { ...labels, window: '1m', quantile });
    expect([await latency(ws, '0.5'), await latency(ws, '0.95'), await latency(ws, '0.99')]).toEqual([400, 700, 700]);
    expect([await latency(ch, '0.5'), await latency(ch, '0.95'), await latency(ch, '0.99')]).toEqual([400, 600, 600]);
    expect(h.emitted).toEqual([]);
  });

  it('labels operation series only, never the group-by dimensions', async () => {
    const registry = new Registry();
    const h = harness(registry);
    feedTwoOperations(h);
    h.watermark(T0 + 60_000);
    const keys = new Set((await samples(registry, 'sidelight_operation_calls')).map((s) => s.labels.key));
    expect([...keys].sort()).toEqual([CHAT, WEB_SEARCH]);
    expect(await samples(registry, 'sidelight_operation_calls')).toHaveLength(6); // 2 operations × 3 fine windows
  });

  it('leaves failed calls out of latency and sets no latency without a successful call', async () => {
    const registry = new Registry();
    const h = harness(registry);
    h.span(webSearch(T0 + 1_000, 10, { failed: true }));
    h.span(webSearch(T0 + 2_000, 20, { failed: true }));
    h.span(chat(T0 + 3_000, 300));
    h.span(chat(T0 + 4_000, 9_000, { failed: true }));
    h.watermark(T0 + 10_000);
    expect(await value(registry, 'sidelight_operation_calls', { key: WEB_SEARCH, window: '1m' })).toBe(2);
    expect(await value(registry, 'sidelight_operation_failure_rate', { key: WEB_SEARCH, window: '1m' })).toBe(1);
    expect(await samples(registry, 'sidelight_operation_latency_ms', { key: WEB_SEARCH })).toEqual([]);
    expect(await value(registry, 'sidelight_operation_latency_ms', { key: CHAT, window: '1m', quantile: '0.99' })).toBe(300);
  });

  it('counts kc synthetic attempt spans as calls and retries but not in latency', async () => {
    const registry = new Registry();
    const h = harness(registry);
    const synthetic = Object.assign(Object.create(null) as Record<string, unknown>, { [SYNTHETIC_ATTRIBUTE]: true });
    h.span(webSearch(T0 + 1_000, 5_000, { attempt: 2, attributes: synthetic as SpanRecord['attributes'] }));
    h.span(webSearch(T0 + 2_000, 100, { attempt: 1 }));
    h.watermark(T0 + 10_000);
    expect(await value(registry, 'sidelight_operation_calls', { key: WEB_SEARCH, window: '1m' })).toBe(2);
    expect(await value(registry, 'sidelight_operation_retry_rate', { key: WEB_SEARCH, window: '1m' })).toBe(1);
    expect(await value(registry, 'sidelight_operation_latency_ms', { key: WEB_SEARCH, window: '1m', quantile: '0.99' })).toBe(100);
  });

  it('reports 0 calls and no failure rate or latency on a window the calls have left', async () => {
    const registry = new Registry();
    const h = harness(registry);
    feedTwoOperations(h);
    h.watermark(T0 + 60_000);
    h.watermark(T0 + 120_000); // 1m = [60 s, 120 s): empty; 5m and 15m still hold every call
    const oneMinute = { key: WEB_SEARCH, window: '1m' };
    expect(await value(registry, 'sidelight_operation_calls', oneMinute)).toBe(0);
    expect(await value(registry, 'sidelight_operation_retry_rate', oneMinute)).toBe(0);
    expect(await value(registry, 'sidelight_operation_failure_rate', oneMinute)).toBeUndefined();
    expect(await samples(registry, 'sidelight_operation_latency_ms', oneMinute)).toEqual([]);
    expect(await value(registry, 'sidelight_operation_calls', { key: WEB_SEARCH, window: '5m' })).toBe(10);
    expect(await value(registry, 'sidelight_operation_failure_rate', { key: WEB_SEARCH, window: '5m' })).toBe(0.2);
  });

  it('removes every label set of an operation that has aged out of every window', async () => {
    const registry = new Registry();
    const h = harness(registry);
    h.span(webSearch(T0 + 5_000, 100)); // pane [0 s, 10 s)
    h.span(chat(T0 + 600_000, 200)); // pane [600 s, 610 s)
    h.watermark(T0 + 610_000);
    expect(await samples(registry, 'sidelight_operation_calls', { key: WEB_SEARCH })).toHaveLength(3);
    expect(await samples(registry, 'sidelight_operation_latency_ms', { key: WEB_SEARCH })).toHaveLength(3); // 3 quantiles, 15m only
    h.watermark(T0 + 910_000); // 15m = [10 s, 910 s): web_search's only pane is gone
    for (const name of ['sidelight_operation_calls', 'sidelight_operation_failure_rate', 'sidelight_operation_retry_rate', 'sidelight_operation_latency_ms']) {
      expect(await samples(registry, name, { key: WEB_SEARCH })).toEqual([]);
      expect((await samples(registry, name, { key: CHAT })).length).toBeGreaterThan(0);
    }
    expect(await value(registry, 'sidelight_series_tracked', { processor: 'operation_metrics' })).toBe(1);
  });

  it('caps the operations at maxOperations and exports the rest as __overflow__, counted', async () => {
    const registry = new Registry();
    const h = harness(registry, 2);
    for (const [i, tool] of ['a', 'b', 'c', 'd', 'c'].entries()) h.span({ name: 'execute_tool', tool, endMs: T0 + 1_000 + i, startMs: T0 + i });
    h.watermark(T0 + 10_000);
    const calls = await samples(registry, 'sidelight_operation_calls', { window: '1m' });
    expect(calls.map((s) => [s.labels.service, s.labels.operation, s.labels.key, s.value]).sort()).toEqual([
      ['__overflow__', '__overflow__', '__overflow__', 3],
      ['kc', 'execute_tool', 'kc execute_tool a', 1],
      ['kc', 'execute_tool', 'kc execute_tool b', 1],
    ]);
    expect(await value(registry, 'sidelight_operation_metrics_overflow_spans_total', {})).toBe(3);
  });

  it('completes with its input behind the event clock, emitting nothing, with every pane closed', async () => {
    const registry = new Registry();
    const spans = [makeSpan(webSearch(T0 + 1_000, 100)), makeSpan(webSearch(T0 + 2_000, 300, { failed: true }))];
    const emitted: unknown[] = [];
    let completed = false;
    from(spans)
      .pipe(eventClock({ windows: settings.windows, scheduler: asyncScheduler, idleAdvance: false }), operationMetrics({ settings, registry }))
      .subscribe({ next: (e) => emitted.push(e), complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(emitted).toEqual([]);
    expect(await value(registry, 'sidelight_operation_calls', { key: 'kc-orchestrator execute_tool web_search', window: '1m' })).toBe(2);
    expect(await value(registry, 'sidelight_operation_failure_rate', { key: 'kc-orchestrator execute_tool web_search', window: '1m' })).toBe(0.5);
  });

  it('shares one set of metrics between operators on one registry', () => {
    const registry = new Registry();
    expect(() => {
      harness(registry);
      harness(registry);
    }).not.toThrow();
    expect(registry.getSingleMetric('sidelight_operation_calls')).toBeDefined();
  });

  it('follows the time the spans imply when no watermark event arrives', async () => {
    const registry = new Registry();
    const h = harness(registry);
    h.span(webSearch(T0 + 1_000, 100));
    h.span(webSearch(T0 + 2_000, 300, { failed: true }));
    expect(await samples(registry, 'sidelight_operation_calls')).toEqual([]); // pane [0 s, 10 s) still open
    h.span(chat(T0 + 25_000, 200)); // implies watermark 15 s: the first pane is closed, the chat's is not
    expect(await value(registry, 'sidelight_operation_calls', { key: WEB_SEARCH, window: '1m' })).toBe(2);
    expect(await value(registry, 'sidelight_operation_failure_rate', { key: WEB_SEARCH, window: '1m' })).toBe(0.5);
    expect(await samples(registry, 'sidelight_operation_calls', { key: CHAT })).toEqual([]);
  });

  it('keeps the series of two pipelines apart, each under its pipeline label', async () => {
    const registry = new Registry();
    const a = harness(registry, undefined, 'traces');
    const b = harness(registry, undefined, 'audit');
    a.span(webSearch(T0 + 1_000, 100));
    a.span(webSearch(T0 + 2_000, 100));
    b.span(webSearch(T0 + 3_000, 100, { failed: true }));
    a.watermark(T0 + 10_000);
    b.watermark(T0 + 10_000);
    expect(await value(registry, 'sidelight_operation_calls', { pipeline: 'traces', key: WEB_SEARCH, window: '1m' })).toBe(2);
    expect(await value(registry, 'sidelight_operation_failure_rate', { pipeline: 'traces', key: WEB_SEARCH, window: '1m' })).toBe(0);
    expect(await value(registry, 'sidelight_operation_calls', { pipeline: 'audit', key: WEB_SEARCH, window: '1m' })).toBe(1);
    expect(await value(registry, 'sidelight_operation_failure_rate', { pipeline: 'audit', key: WEB_SEARCH, window: '1m' })).toBe(1);
  });

  it('is a processor: one span operator live, idle offline, max_operations validated', () => {
    const config = operationMetricsProcessorFactory.configSchema.parse({});
    expect(config).toEqual({ max_operations: 500 });
    expect(operationMetricsProcessorFactory.configSchema.safeParse({ max_operations: 0 }).success).toBe(false);
    const ctx = { scheduler: asyncScheduler, metrics: new Registry(), logger: silentLogger, settings, id: 'operation_metrics', pipeline: 'traces' };
    if (operationMetricsProcessorFactory.stage !== 'detector') throw new Error('expected a detector-stage processor');
    const live = operationMetricsProcessorFactory.create(config, { ...ctx, mode: 'live' });
    expect(live.map((d) => d.input)).toEqual(['spans']);
    expect(operationMetricsProcessorFactory.create(config, { ...ctx, mode: 'offline' })).toEqual([]);
  });
});

describe('operationMetrics feed (the live page charts)', () => {
  interface Recorded {
    readonly boundary: number;
    readonly operations: readonly OperationFigures[];
  }

  function feedHarness(keep: number) {
    const registry = new Registry();
    const recorded: Recorded[] = [];
    const feed: OperationFiguresFeed = { keep, record: (boundary, operations) => recorded.push({ boundary, operations }) };
    const input = new Subject<PipelineEvent>();
    input.pipe(operationMetrics({ settings, registry, feed })).subscribe();
    return {
      registry,
      recorded,
      span: (init: SpanInit) => input.next({ type: 'span', span: makeSpan({ service: 'kc', ...init }) }),
      watermark: (time: number, from: number) => input.next({ type: 'watermark', time, from }),
    };
  }

  const figuresOf = (r: Recorded | undefined, key: string) => r?.operations.find((o) => o.key === key);

  it('gets the figures of every pane boundary closed, in order, whether a watermark or the spans closed it', async () => {
    const h = feedHarness(180);
    feedTwoOperations(h as unknown as ReturnType<typeof harness>);
    // the spans imply boundaries up to 30 s (latest end 42 s − 10 s lateness); one watermark closes 40, 50 and 60 s
    expect(h.recorded.at(-1)?.boundary).toBe(T0 + 30_000);
    h.watermark(T0 + 60_000, T0 + 30_000);
    const boundaries = h.recorded.map((r) => r.boundary - T0);
    expect(boundaries).toEqual([-10_000, 0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);

    // at 10 s the 1m window holds the one web_search call (a retry) that ended before 10 s; the chat calls come later
    const early = h.recorded.find((r) => r.boundary === T0 + 10_000);
    expect(early?.operations.map((o) => o.key)).toEqual([WEB_SEARCH]);
    expect(figuresOf(early, WEB_SEARCH)?.windows[0]).toMatchObject({ window: '1m', calls: 1, failures: 0, retriesPerMinute: 1 });

    // at 60 s: the gauges' figures, window by window
    const last = h.recorded.at(-1);
    const web = figuresOf(last, WEB_SEARCH);
    expect(web).toMatchObject({ service: 'kc', operation: 'execute_tool' });
    expect(web?.windows.map((w) => [w.window, w.calls, w.failures, w.retriesPerMinute])).toEqual([
      ['1m', 10, 2, 3],
      ['5m', 10, 2, 0.6],
      ['15m', 10, 2, 0.2],
    ]);
    expect(web?.windows[0]?.p95Ms).toBe(await value(h.registry, 'sidelight_operation_latency_ms', { key: WEB_SEARCH, window: '1m', quantile: '0.95' }));
    expect(last?.operations.map((o) => o.key).sort()).toEqual([CHAT, WEB_SEARCH]);
  });

  it('computes only the last `keep` boundaries of one long advance, and the gauges stay right', async () => {
    const h = feedHarness(3);
    h.span(webSearch(T0 + 1_000, 100, { failed: true }));
    h.recorded.length = 0;
    // ten minutes of event time in one watermark: 60 boundaries closed, 3 computed
    h.watermark(T0 + 600_000, T0);
    expect(h.recorded.map((r) => r.boundary - T0)).toEqual([580_000, 590_000, 600_000]);
    const web = figuresOf(h.recorded.at(-1), WEB_SEARCH);
    // the call left the 1m and 5m windows long ago; the 15m window still holds it, with no successful call for a p95
    expect(web?.windows.map((w) => [w.window, w.calls, w.failures, w.p95Ms])).toEqual([
      ['1m', 0, 0, null],
      ['5m', 0, 0, null],
      ['15m', 1, 1, null],
    ]);
    expect(await value(h.registry, 'sidelight_operation_calls', { key: WEB_SEARCH, window: '15m' })).toBe(1);
    // once the call left every window the operation is no longer reported
    h.watermark(T0 + 920_000, T0 + 600_000);
    expect(h.recorded.at(-1)?.operations).toEqual([]);
  });

  it('is given the feed of its context by the processor factory', () => {
    const recorded: number[] = [];
    const ctx = {
      scheduler: asyncScheduler,
      metrics: new Registry(),
      logger: silentLogger,
      settings,
      id: 'operation_metrics',
      pipeline: 'traces',
      mode: 'live' as const,
      operationFigures: { keep: 10, record: (boundary: number) => recorded.push(boundary) },
    };
    if (operationMetricsProcessorFactory.stage !== 'detector') throw new Error('expected a detector-stage processor');
    const [detector] = operationMetricsProcessorFactory.create(operationMetricsProcessorFactory.configSchema.parse({}), ctx);
    if (detector?.input !== 'spans') throw new Error('expected a span operator');
    const input = new Subject<PipelineEvent>();
    input.pipe(detector.operator).subscribe();
    input.next({ type: 'span', span: makeSpan(webSearch(T0 + 1_000, 100)) });
    input.next({ type: 'watermark', time: T0 + 20_000, from: T0 });
    expect(recorded.map((b) => b - T0)).toEqual([-10_000, 0, 10_000, 20_000]);
  });
});
