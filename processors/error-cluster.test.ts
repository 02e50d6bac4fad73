import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import type { Observation } from '../src/model/painpoint.js';
import { makeSpan, type SpanInit } from '../test/support/span-factory.js';
import { runOnSpans, testContext, testSettings } from '../test/support/detector-harness.js';
import { errorCluster, errorClusterConfigSchema, errorClusterProcessorFactory, errorMessageOf } from './error-cluster.js';

const T0 = 1_700_000_100_000;

/** `count` failed calls, one every `everyMs`, each init picked round-robin from `variants`. */
function failures(count: number, everyMs: number, variants: SpanInit[], startMs = T0): SpanRecord[] {
  return Array.from({ length: count }, (_, i) =>
    makeSpan({ startMs: startMs + i * everyMs, durationMs: 50, failed: true, ...(variants[i % variants.length] as SpanInit) }),
  );
}

const rateLimited = (tool: string, i: number, service = 'kc-orchestrator'): SpanInit => ({
  tool,
  service,
  errorClass: 'rate_limit',
  statusMessage: `Rate limit exceeded for key 'sk-${i}abc' after 3 retries, retry in ${i * 7} ms`,
});

async function run(spans: SpanRecord[], mode: 'live' | 'offline' = 'live', overrides: Record<string, unknown> = {}): Promise<Observation[]> {
  return runOnSpans(spans, errorCluster(errorClusterConfigSchema.parse(overrides), testContext(mode)));
}

describe('error_cluster', () => {
  it('has the documented defaults', () => {
    expect(errorClusterConfigSchema.parse({})).toEqual({
      min_failures: 10,
      min_operations: 3,
      min_services: 2,
      medium_share: 0.3,
      medium_call_share: 0.05,
      max_series: 5000,
      max_exemplars: 5,
    });
    expect(errorClusterProcessorFactory.type).toBe('error_cluster');
  });

  it('never clusters failures whose error was not recorded: their shared message is a placeholder, yet they count in all failures', async () => {
    // kc retried 30 tasks of three types without recording why; 10 timeouts on the same operations
    const unrecorded = failures(30, 1_000, ['Fix', 'Add', 'Update'].map((taskType): SpanInit => ({
      service: 'kc-orchestrator',
      name: 'kc.task.attempt',
      taskType,
      errorClass: 'other',
      statusMessage: 'attempt failed; kc retried the task (error not recorded)',
      attributes: { 'sidelight.error_unrecorded': true },
    })));
    const timeouts = failures(10, 3_000, ['Fix', 'Add', 'Update'].map((taskType): SpanInit => ({ service: 'kc-orchestrator', name: 'kc.task.attempt', taskType, errorClass: 'timeout', statusMessage: 'Request timed out after 300000ms' })), T0 + 500);
    const obs = await run([...unrecorded, ...timeouts].sort((a, b) => a.endMs - b.endMs), 'offline');
    expect(obs.some((o) => o.subject.error_class === 'other')).toBe(false);
    const timeout = obs.filter((o) => o.subject.error_class === 'timeout').at(-1);
    // the timeouts are a quarter of the 40 failures: low
    expect(timeout?.evidence.metrics).toMatchObject({ failures: 10, total_failures: 40 });
    expect(timeout?.severity).toBe('low');
  });

  it('reports one error template on three operations as medium when it is most failures', async () => {
    const spans = failures(30, 1_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)));
    const obs = await run(spans);
    expect(obs.length).toBeGreaterThan(0);
    const o = obs[0] as Observation;
    expect(o.kind).toBe('error_cluster');
    expect(o.subject).toEqual({ service: 'kc-orchestrator', error_class: 'rate_limit' });
    expect(o.severity).toBe('medium');
    expect(o.evidence.metrics).toMatchObject({ operations: 3, services: 1, share: 1, template: 'Rate limit exceeded for key <str> after <num> retries, retry in <num> ms' });
    expect((o.evidence.metrics.failures as number) >= 10).toBe(true);
    expect(Object.keys(o.evidence.metrics.by_operation as object).sort()).toEqual([
      'kc-orchestrator execute_tool fetch_url',
      'kc-orchestrator execute_tool read_file',
      'kc-orchestrator execute_tool web_search',
    ]);
    expect(o.evidence.exemplar_trace_ids).toHaveLength(5);
    expect(o.title).toMatch(/^\d+ rate_limit failures across 3 operations share one error over the last 1m$/);
  });

  it('is low when the cluster is under 30 % of all failures', async () => {
    const cluster = failures(12, 5_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)));
    const other = failures(60, 1_000, [{ tool: 'compile', errorClass: 'invalid_request', statusMessage: 'syntax error at line 3' }], T0 + 300);
    const obs = (await run([...cluster, ...other])).filter((o) => o.subject.error_class === 'rate_limit');
    expect(obs.length).toBeGreaterThan(0);
    expect(obs.every((o) => o.severity === 'low')).toBe(true);
    expect((obs[0]?.evidence.metrics.share as number) < 0.3).toBe(true);
  });

  /** `count` successful calls of each tool, one every `everyMs` */
  function successes(count: number, everyMs: number, tools: readonly string[], startMs = T0): SpanRecord[] {
    return Array.from({ length: count }, (_, i) => makeSpan({ startMs: startMs + i * everyMs + 7, durationMs: 50, tool: tools[i % tools.length] }));
  }
  const tools = ['web_search', 'fetch_url', 'read_file'];
  const whole = async (spans: SpanRecord[]) => (await run(spans, 'offline')).find((o) => o.evidence.window === 'all' && o.subject.error_class === 'rate_limit') as Observation;

  it('is medium only when its failures are ≥ 5 % of the calls of the operations it spans, and says so', async () => {
    // 30 failures, all the failures there are, among 600 calls: 5 %
    const at = await whole([...failures(30, 1_000, tools.map((t, i) => rateLimited(t, i))), ...successes(570, 100, tools)]);
    expect(at.evidence.metrics).toMatchObject({ share: 1, operation_calls: 600, call_share: 0.05 });
    expect(at.severity).toBe('medium');
    expect(at.description).toContain('100 % of all 30 failures and 5 % of the 600 calls of the operations it spans');
    // 30 among 603 calls: 4.98 %
    const below = await whole([...failures(30, 1_000, tools.map((t, i) => rateLimited(t, i))), ...successes(573, 100, tools)]);
    expect(below.evidence.metrics.call_share).toBeCloseTo(0.0498, 4);
    expect(below.severity).toBe('low');
  });

  it('counts only the calls of the operations it spans', async () => {
    // plenty of calls of another operation do not dilute it
    const o = await whole([...failures(30, 1_000, tools.map((t, i) => rateLimited(t, i))), ...successes(3_000, 10, ['compile'])]);
    expect(o.evidence.metrics).toMatchObject({ operation_calls: 30, call_share: 1 });
    expect(o.severity).toBe('medium');
  });

  it('holds medium within the band of its call share once medium, and drops it past the band', async () => {
    // three minutes of 12 failures each among 200, 255 and 273 calls: 6 %, 4.7 %, 4.4 % of them
    const minute = (m: number, calls: number) => [
      ...failures(12, 5_000, tools.map((t, i) => rateLimited(t, i)), T0 + m * 60_000),
      ...successes(calls - 12, 60_000 / (calls - 12), tools, T0 + m * 60_000),
    ];
    const spans = [...minute(0, 200), ...minute(1, 255), ...minute(2, 273)];
    const at = (obs: Observation[], m: number) => obs.find((o) => o.subject.error_class === 'rate_limit' && o.evidence.window === '1m' && o.time === T0 + m * 60_000) as Observation;
    const banded = await runOnSpans(spans, errorCluster(errorClusterConfigSchema.parse({}), testContext('live')));
    expect(at(banded, 1)).toMatchObject({ severity: 'medium' });
    expect(at(banded, 2).evidence.metrics.call_share).toBeCloseTo(12 / 255, 4);
    expect(at(banded, 2).severity).toBe('medium');
    expect(at(banded, 3).evidence.metrics.call_share).toBeCloseTo(12 / 273, 4);
    expect(at(banded, 3).severity).toBe('low');
    // without a band, 4.7 % is low
    const settings = testSettings({ painpoints: { band: 0 } });
    const lined = await runOnSpans(spans, errorCluster(errorClusterConfigSchema.parse({}), testContext('live', settings)), settings);
    expect(at(lined, 2).severity).toBe('low');
  });

  it('does not report one error on two operations of one service', async () => {
    const spans = failures(40, 1_000, ['web_search', 'fetch_url'].map((t, i) => rateLimited(t, i)));
    expect(await run(spans)).toEqual([]);
  });

  it('reports one error on two services, with service "*"', async () => {
    const spans = failures(40, 1_000, [rateLimited('web_search', 1, 'planner'), rateLimited('web_search', 2, 'coder')]);
    const obs = await run(spans);
    expect(obs.length).toBeGreaterThan(0);
    expect(obs[0]?.subject).toEqual({ service: '*', error_class: 'rate_limit' });
    expect(obs[0]?.evidence.metrics.by_service).toEqual({ coder: expect.any(Number), planner: expect.any(Number) });
  });

  it('needs 10 failures: 9 across three operations are not a cluster', async () => {
    const spans = failures(9, 1_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)));
    expect(await run(spans, 'offline')).toEqual([]);
  });

  it('does not cluster different messages of one class', async () => {
    const spans = failures(60, 1_000, [
      { tool: 'web_search', errorClass: 'timeout', statusMessage: 'search backend timed out' },
      { tool: 'fetch_url', errorClass: 'timeout', statusMessage: 'page download timed out' },
      { tool: 'read_file', errorClass: 'timeout', statusMessage: 'disk read timed out' },
    ]);
    expect(await run(spans, 'offline')).toEqual([]);
  });

  it('leaves out failures with neither an error class nor a message, but counts them in the share', async () => {
    const bare = failures(60, 1_000, ['a', 'b', 'c'].map((tool) => ({ tool, errorClass: '' })));
    expect(await run(bare, 'offline')).toEqual([]);
    const cluster = failures(30, 2_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)), T0 + 100);
    const obs = (await run([...bare, ...cluster], 'offline')).filter((o) => o.evidence.window === 'all');
    expect(obs).toHaveLength(1);
    expect(obs[0]?.evidence.metrics).toMatchObject({ failures: 30, total_failures: 90, share: 0.3333 });
  });

  it('clusters on the exception message when the status message is empty', async () => {
    const spans = failures(30, 1_000, ['x', 'y', 'z'].map((tool, i) => ({
      tool,
      errorClass: 'ConnectionError',
      events: [{ name: 'exception', timeMs: T0, attributes: { 'exception.type': 'ConnectionError', 'exception.message': `connect to 10.0.0.${i}:443 refused` } }],
    })));
    const obs = await run(spans, 'offline');
    expect(obs.some((o) => o.evidence.metrics.template === 'connect to <num>.<num>:<num> refused')).toBe(true);
    expect(errorMessageOf(spans[0] as SpanRecord)).toBe('connect to 10.0.0.0:443 refused');
  });

  it('judges the whole input offline', async () => {
    // one failure every 2 minutes: never 10 in a fine window, but 30 in the whole input
    const spans = failures(30, 120_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)));
    const obs = (await run(spans, 'offline')).filter((o) => o.evidence.window === 'all');
    expect(obs).toHaveLength(1);
    expect(obs[0]?.evidence.metrics).toMatchObject({ failures: 30, operations: 3, share: 1 });
    expect(obs[0]?.title).toBe('30 rate_limit failures across 3 operations share one error over the whole input');
  });

  it('never reports the __overflow__ cluster', async () => {
    const first = failures(30, 1_000, [{ tool: 'a', errorClass: 'quota', statusMessage: 'quota exhausted' }]);
    const rest = failures(60, 1_000, ['web_search', 'fetch_url', 'read_file'].map((t, i) => rateLimited(t, i)), T0 + 100);
    expect(await run([...first, ...rest], 'offline', { max_series: 1 })).toEqual([]);
  });
});
