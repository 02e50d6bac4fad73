import { describe, expect, it } from 'vitest';
import { AttributionIndex } from './attribution-index.js';
import type { Trace } from '../model/trace.js';
import { makeSpan } from '../../test/support/span-factory.js';

const T0 = Date.UTC(2026, 10, 26, 9);
const MIN = 60_000;

const index = () => new AttributionIndex({ paneMs: MIN, retentionMs: 60 * MIN, maxTuples: 100 });
const calls = (ix: AttributionIndex, to: number) => [...ix.interval(T0, to).tuples.values()].reduce((n, f) => n + f.calls, 0);

describe('AttributionIndex', () => {
  it('reads a span staged for a boundary only once it has advanced there, so a boundary reads the same however far ahead the input came', () => {
    const ahead = index();
    const paced = index();
    const early = makeSpan({ endMs: T0 + 5_000, tool: 'grep' });
    const later = makeSpan({ endMs: T0 + 25_000, tool: 'grep' });
    // a fast replay has both spans before the boundary at 10 s is grouped…
    ahead.addSpan(early, T0 + 10_000);
    ahead.addSpan(later, T0 + 30_000);
    ahead.advance(T0 + 10_000);
    // …a paced sidecar only the first: both read one call in the pane they share
    paced.addSpan(early, T0 + 10_000);
    paced.advance(T0 + 10_000);
    expect(calls(ahead, T0 + 10_000)).toBe(1);
    expect(calls(paced, T0 + 10_000)).toBe(1);
    paced.addSpan(later, T0 + 30_000);
    ahead.advance(T0 + 30_000);
    paced.advance(T0 + 30_000);
    expect(calls(ahead, T0 + 30_000)).toBe(2);
    expect(calls(paced, T0 + 30_000)).toBe(2);
  });

  it('reads a trace from the boundary it completed at', () => {
    const ix = index();
    const parent = makeSpan({ endMs: T0 + 9_000, name: 'invoke_agent', agent: 'coder' });
    const child = makeSpan({ endMs: T0 + 8_000, parentSpanId: parent.spanId, tool: 'grep', failed: true });
    const failedParent = { ...parent, failed: true };
    const trace: Trace = { traceId: parent.traceId, root: { span: failedParent, children: [{ span: child, children: [] }] }, spanCount: 2, startMs: parent.startMs, endMs: parent.endMs };
    ix.addTrace(trace, T0 + 20_000);
    ix.advance(T0 + 10_000);
    expect(ix.interval(T0, T0 + 20_000).failedBelow.size).toBe(0);
    ix.advance(T0 + 20_000);
    expect(ix.interval(T0, T0 + 20_000).failedBelow.size).toBe(1);
  });

  it('holds a trace completed early as its figures until a watermark names its boundary, then reads it as a trace staged there', () => {
    const parent = makeSpan({ endMs: T0 + 9_000, name: 'invoke_agent', agent: 'coder', failed: true });
    const failedChild = makeSpan({ startMs: T0 + 7_000, endMs: T0 + 8_000, parentSpanId: parent.spanId, tool: 'grep', failed: true });
    // its retry, made in its place (a replacement)
    const retry = makeSpan({ startMs: T0 + 8_100, endMs: T0 + 8_900, parentSpanId: parent.spanId, tool: 'grep' });
    const okParent = makeSpan({ startMs: T0 + 10_000, endMs: T0 + 14_000, name: 'invoke_agent', agent: 'planner' });
    const chat = makeSpan({ startMs: T0 + 11_000, endMs: T0 + 13_000, parentSpanId: okParent.spanId, model: 'gpt-4o', inputTokens: 700, outputTokens: 50 });
    const traces: Trace[] = [
      { traceId: parent.traceId, root: { span: parent, children: [{ span: failedChild, children: [] }, { span: retry, children: [] }] }, spanCount: 3, startMs: parent.startMs, endMs: parent.endMs },
      { traceId: okParent.traceId, root: { span: okParent, children: [{ span: chat, children: [] }] }, spanCount: 2, startMs: okParent.startMs, endMs: okParent.endMs },
    ];
    const staged = index();
    const held = index();
    for (const span of [parent, failedChild, retry, okParent, chat]) {
      staged.addSpan(span);
      held.addSpan(span);
    }
    for (const t of traces) {
      staged.addTrace(t, T0 + 20_000);
      held.holdTrace(t);
    }
    held.advance(T0 + 10_000);
    held.placeHeldTraces(T0 + 20_000);
    staged.advance(T0 + 10_000);
    expect(held.interval(T0, T0 + 20_000).failedBelow.size).toBe(0);
    // the calls of whole traces wait with the rest of their trace's figures
    expect(held.interval(T0, T0 + 20_000).traced.size).toBe(0);
    expect(held.interval(T0, T0 + 20_000).replacedBy.size).toBe(0);
    held.advance(T0 + 20_000);
    staged.advance(T0 + 20_000);
    const figures = held.interval(T0, T0 + 20_000);
    expect(figures.failedBelow.size).toBe(1);
    expect([...figures.tokensBelow.values()]).toEqual([750]);
    expect([...figures.pathBelow.values()]).toEqual([2_000]);
    expect([...figures.replacedBy.values()]).toEqual([1]);
    expect(figures).toEqual(staged.interval(T0, T0 + 20_000));
    // drained: counted at once
    const drained = index();
    drained.holdTrace(traces[0] as Trace);
    drained.placeHeldTraces();
    expect(drained.interval(T0, T0 + 20_000).failedBelow.size).toBe(1);
  });

  it('counts a span without a boundary at once, as before', () => {
    const ix = index();
    ix.addSpan(makeSpan({ endMs: T0 + 5_000 }));
    expect(calls(ix, T0 + MIN)).toBe(1);
  });
});
