import { describe, expect, it } from 'vitest';
import { makeSpan } from '../../test/support/span-factory.js';
import { isParentless, traceRunId, TraceRuns } from './run-ids.js';

const T0 = 1_700_000_000_000;
const traceId = 'c'.repeat(32);
const root = (runId: string, endMs: number) => makeSpan({ traceId, name: 'root', endMs: T0 + endMs, runId });
const child = (runId: string | undefined, endMs: number) => makeSpan({ traceId, parentSpanId: 'f'.repeat(16), name: 'child', endMs: T0 + endMs, ...(runId ? { runId } : {}) });

describe('run ids', () => {
  it("a trace's run is its root's, else the earliest-ending span's that names one", () => {
    expect(traceRunId([child('run-B', 1_000), root('run-A', 9_000), child(undefined, 500)])).toBe('run-A');
    expect(traceRunId([child('run-C', 3_000), child('run-B', 1_000), child(undefined, 500)])).toBe('run-B');
    expect(traceRunId([child(undefined, 500)])).toBeUndefined();
  });

  it('knows a run before a time only from the spans that ended before it, whatever order they came in', () => {
    const runs = new TraceRuns(10);
    runs.learn(root('run-A', 9_000));
    runs.learn(child('run-B', 1_000));
    expect(runs.runOf(traceId, T0 + 1_000)).toBeUndefined();
    expect(runs.runOf(traceId, T0 + 5_000)).toBe('run-B');
    expect(runs.runOf(traceId, T0 + 10_000)).toBe('run-A');
    expect(runs.runOf(traceId)).toBe('run-A');
  });

  it('forgets the oldest trace past its cap, counted', () => {
    const runs = new TraceRuns(2);
    for (const id of ['1', '2', '3']) runs.learn(makeSpan({ traceId: id.repeat(32), runId: `run-${id}` }));
    expect(runs.forgotten).toBe(1);
    expect(runs.size).toBe(2);
    expect(runs.runOf('1'.repeat(32))).toBeUndefined();
    expect(runs.runOf('3'.repeat(32))).toBe('run-3');
  });

  it('a root has no parent id, an empty one or an all-zero one', () => {
    expect([undefined, '', '0000000000000000', 'ab00000000000000'].map((parentSpanId) => isParentless({ parentSpanId }))).toEqual([true, true, true, false]);
  });
});
