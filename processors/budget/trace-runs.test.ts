import { describe, expect, it } from 'vitest';
import { makeSpan } from '../../test/support/span-factory.js';
import type { SpanRecord } from '../../src/model/span.js';
import { TraceRuns } from './trace-runs.js';

const span = (traceId: string, runId: string | undefined, root = false): SpanRecord =>
  ({ ...makeSpan({ traceId, parentSpanId: root ? undefined : 'p' }), runId: runId ?? traceId }) as SpanRecord;

describe('TraceRuns', () => {
  it('gives a call that names no run the run named before in its trace, else its trace id', () => {
    const runs = new TraceRuns(10);
    expect(runs.runOf(span('t1', undefined))).toBe('t1');
    expect(runs.runOf(span('t1', 'run-1'))).toBe('run-1');
    expect(runs.runOf(span('t1', undefined))).toBe('run-1');
    // a span naming another run keeps its own
    expect(runs.runOf(span('t1', 'run-9'))).toBe('run-9');
    expect(runs.runOf(span('t2', undefined))).toBe('t2');
  });

  it('forgets a trace at its root, and the oldest trace past its cap, counted', () => {
    let forgotten = 0;
    const runs = new TraceRuns(2, () => forgotten++);
    runs.runOf(span('t1', 'run-1'));
    runs.runOf(span('t1', undefined, true));
    expect(runs.size).toBe(0);
    for (const t of ['a', 'b', 'c']) runs.runOf(span(t, `run-${t}`));
    expect([runs.size, forgotten]).toEqual([2, 1]);
    expect(runs.runOf(span('a', undefined))).toBe('a');
    expect(runs.runOf(span('c', undefined))).toBe('run-c');
  });
});
