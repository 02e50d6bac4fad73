import { describe, expect, it } from 'vitest';
import type { TraceNode } from '../model/trace.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { criticalPath, criticalPathByOperation } from './critical-path.js';

const T0 = 1_700_000_000_000;

/** A node named `name` over [start, end] ms after T0. */
function node(name: string, start: number, end: number, children: TraceNode[] = []): TraceNode {
  return { span: makeSpan({ name, startMs: T0 + start, endMs: T0 + end, traceId: 'a'.repeat(32) }), children };
}

function selfTimes(root: TraceNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of criticalPath(root).entries) out[e.span.name] = (out[e.span.name] ?? 0) + e.selfMs;
  return out;
}

describe('criticalPath', () => {
  it('puts every child of a serial chain on the path', () => {
    const root = node('root', 0, 1_000, [node('a', 0, 300), node('b', 300, 700), node('c', 700, 1_000)]);
    expect(selfTimes(root)).toEqual({ root: 0, a: 300, b: 400, c: 300 });
    expect(criticalPath(root).totalMs).toBe(1_000);
  });

  it('keeps only the longest of parallel children on the path', () => {
    const root = node('root', 0, 1_000, [node('long', 0, 900), node('short', 0, 400)]);
    expect(selfTimes(root)).toEqual({ root: 100, long: 900 });
  });

  it('descends into nested children and leaves uncovered time to the parent', () => {
    const root = node('root', 0, 1_000, [node('agent', 100, 900, [node('chat', 100, 500), node('tool', 500, 800)])]);
    expect(selfTimes(root)).toEqual({ root: 200, agent: 100, chat: 400, tool: 300 });
  });

  it('skips a child that overlaps the start of a later child on the path, as Jaeger does', () => {
    const root = node('root', 0, 1_000, [node('early', 0, 600), node('late', 400, 1_000)]);
    expect(selfTimes(root)).toEqual({ root: 400, late: 600 });
  });

  it('continues with children that ended before the path child started', () => {
    const root = node('root', 0, 1_000, [node('x', 0, 200), node('y', 100, 350), node('z', 400, 1_000)]);
    // z (400–1000), then y ends 350 ≤ 400 (y: 100–350), then x ends 200 > 100: parallel with y
    expect(selfTimes(root)).toEqual({ root: 150, z: 600, y: 250 });
  });

  it('clips a child that outlives its parent to the parent end', () => {
    const root = node('root', 0, 1_000, [node('background', 200, 5_000)]);
    const path = criticalPath(root);
    expect(path.totalMs).toBe(1_000);
    expect(selfTimes(root)).toEqual({ root: 200, background: 800 });
    expect(path.entries.find((e) => e.span.name === 'background')?.endMs).toBe(T0 + 1_000);
  });

  it('clips a child that started before its parent and drops one entirely outside it', () => {
    const root = node('root', 100, 1_000, [node('before', 0, 500), node('after', 1_200, 1_500)]);
    expect(selfTimes(root)).toEqual({ root: 500, before: 400 });
  });

  it('handles zero-length children and equal end times without looping', () => {
    const root = node('root', 0, 1_000, [node('zero', 500, 500), node('a', 200, 1_000), node('b', 0, 1_000)]);
    // b and a both end at 1000: the longer one (b) covers the whole parent
    expect(selfTimes(root)).toEqual({ root: 0, b: 1_000 });
  });

  it('walks a trace deeper than the call stack allows', () => {
    let deepest = node('leaf', 0, 1_000);
    for (let i = 0; i < 20_000; i++) deepest = node('wrapper', 0, 1_000, [deepest]);
    const times = selfTimes(deepest);
    expect(times.leaf).toBe(1_000);
    expect(times.wrapper).toBe(0);
  });

  it('sums self time on the path per operation key with the biggest span as exemplar', () => {
    const root = node('root', 0, 1_000, [node('tool', 0, 100), node('tool', 100, 400), node('chat', 400, 1_000)]);
    const byOp = criticalPathByOperation(criticalPath(root));
    expect([...byOp.keys()]).toEqual(['kc-orchestrator chat', 'kc-orchestrator tool', 'kc-orchestrator root']);
    expect(byOp.get('kc-orchestrator tool')?.selfMs).toBe(400);
    expect(byOp.get('kc-orchestrator tool')?.span.durationMs).toBe(300);
  });
});
