import { describe, expect, it } from 'vitest';
import { makeSpan, type SpanInit } from '../../test/support/span-factory.js';
import { Registry } from '../../src/telemetry/prom.js';
import { CallTracker } from './calls.js';

const T0 = 1_700_000_000_000;
const sibling = (init: SpanInit) => makeSpan({ traceId: 'a'.repeat(32), parentSpanId: 'p1', name: 'execute_tool fetch_url', tool: 'fetch_url', durationMs: 100, ...init });

describe('CallTracker', () => {
  it('counts a retried call once: the attempts after a failed sibling are not calls of their own', () => {
    const t = new CallTracker(100);
    const first = sibling({ startMs: T0, failed: true });
    const second = sibling({ startMs: T0 + 500, failed: true });
    const third = sibling({ startMs: T0 + 1_500, failed: false });
    expect([first, second, third].map((s) => t.count(s))).toEqual([
      { calls: 1, failures: 1 },
      { calls: 0, failures: 0 },
      { calls: 0, failures: 0 },
    ]);
    // the next call after a success is a call of its own, failed or not
    expect(t.count(sibling({ startMs: T0 + 3_000, failed: true }))).toEqual({ calls: 1, failures: 1 });
  });

  it('answers the same for the same span asked again (once per series it is in)', () => {
    const t = new CallTracker(100);
    const first = sibling({ startMs: T0, failed: true });
    expect(t.count(first)).toEqual({ calls: 1, failures: 1 });
    expect(t.count(first)).toEqual({ calls: 1, failures: 1 });
  });

  it('takes no overlapping sibling, other tool-call id, other parent or other operation for a retry', () => {
    const t = new CallTracker(100);
    t.count(sibling({ startMs: T0, failed: true, toolCallId: 'call_1' }));
    // parallel call of the same tool, started before the failed one ended
    expect(t.count(sibling({ startMs: T0 + 50, failed: false, toolCallId: 'call_9' }))).toEqual({ calls: 1, failures: 0 });
    const u = new CallTracker(100);
    u.count(sibling({ startMs: T0, failed: true, toolCallId: 'call_1' }));
    expect(u.count(sibling({ startMs: T0 + 500, toolCallId: 'call_2' }))).toEqual({ calls: 1, failures: 0 });
    expect(u.count(sibling({ startMs: T0 + 500, parentSpanId: 'p2' }))).toEqual({ calls: 1, failures: 0 });
    expect(u.count(sibling({ startMs: T0 + 500, name: 'execute_tool read_file', tool: 'read_file' }))).toEqual({ calls: 1, failures: 0 });
    // the same tool-call id: the agent framework retrying the call
    const v = new CallTracker(100);
    v.count(sibling({ startMs: T0, failed: true, toolCallId: 'call_1' }));
    expect(v.count(sibling({ startMs: T0 + 500, failed: true, toolCallId: 'call_1' }))).toEqual({ calls: 0, failures: 0 });
  });

  it('takes no call after a model call of another operation for a retry (a fallback answered the turn)', () => {
    const t = new CallTracker(100);
    const chat = (model: string, startMs: number, failed: boolean) =>
      makeSpan({ traceId: 'b'.repeat(32), parentSpanId: 'agent', name: `chat ${model}`, model, operationName: 'chat', startMs, durationMs: 400, failed });
    expect(t.count(chat('claude-haiku-4', T0, true))).toEqual({ calls: 1, failures: 1 });
    expect(t.count(chat('gpt-4o', T0 + 420, false))).toEqual({ calls: 1, failures: 0 });
    // the next turn's call on the overloaded model is a call of its own
    expect(t.count(chat('claude-haiku-4', T0 + 2_000, true))).toEqual({ calls: 1, failures: 1 });
    // re-issued at once: a retry
    expect(t.count(chat('claude-haiku-4', T0 + 2_410, true))).toEqual({ calls: 0, failures: 0 });
  });

  it('reads explicit attempt numbers: attempt 2 and later are the same call, wherever they hang', () => {
    const t = new CallTracker(100);
    expect(t.count(makeSpan({ attempt: 1, failed: true }))).toEqual({ calls: 1, failures: 1 });
    expect(t.count(makeSpan({ attempt: 2, failed: true }))).toEqual({ calls: 0, failures: 0 });
    expect(t.count(makeSpan({ attempt: 3, failed: false }))).toEqual({ calls: 0, failures: 0 });
  });

  it('remembers at most max sibling groups, forgetting the oldest and counting it', async () => {
    const registry = new Registry();
    const t = new CallTracker(2, registry);
    for (const parent of ['p1', 'p2', 'p3']) t.count(sibling({ parentSpanId: parent, startMs: T0, failed: true }));
    expect(t.size).toBe(2);
    // p1 was forgotten: its retry now counts as a call of its own
    expect(t.count(sibling({ parentSpanId: 'p1', startMs: T0 + 500 }))).toEqual({ calls: 1, failures: 0 });
    expect(await registry.metrics()).toMatch(/sidelight_failure_rate_calls_forgotten_total 2/);
  });
});
