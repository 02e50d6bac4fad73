import { describe, expect, it } from 'vitest';
import { AttributionIndex, pairKey, type IntervalFigures } from './attribution-index.js';
import type { SpanRecord } from '../model/span.js';
import { hexId, makeSpan } from '../../test/support/span-factory.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 26, 9);
const options = { paneMs: MIN, retentionMs: 7 * 60 * MIN, maxTuples: 1_000 };

/** Entries in order (Map order included), so two figures compare equal only when summed alike. */
function entries(f: IntervalFigures): unknown {
  return { tuples: [...f.tuples], failedBelow: [...f.failedBelow], pathBelow: [...f.pathBelow], parents: [...f.parents], tokensBelow: [...f.tokensBelow], traced: [...f.traced], replacedBy: [...f.replacedBy] };
}

let n = 0;
/** A call of `tool` ending at `end`, failing when asked, with a fractional duration (sums are floats). */
function call(tool: string, end: number, failed = false): SpanRecord {
  n++;
  return makeSpan({ traceId: hexId(`t${n}`, 16), spanId: hexId(`s${n}`, 8), name: 'execute_tool', tool, startMs: end - 100.37 * ((n % 7) + 1), endMs: end, failed });
}

describe('the attribution index', () => {
  it('sums an interval extended by newer panes, or with a pane changed late, exactly as summing every pane again', () => {
    const live = new AttributionIndex(options);
    const fed: SpanRecord[] = [];
    const add = (s: SpanRecord) => {
      fed.push(s);
      live.addSpan(s);
    };
    const from = T0 + 5 * MIN;
    const fresh = (to: number) => {
      const index = new AttributionIndex(options);
      for (const s of fed) index.addSpan(s);
      return index.interval(from, to);
    };
    let reusedOnce = false;
    for (let minute = 0; minute < 40; minute++) {
      const t = T0 + minute * MIN;
      add(call('web_search', t + 1_000, minute % 3 === 0));
      add(call(minute % 2 === 0 ? 'fetch' : 'web_search', t + 30_500.5, minute % 5 === 0));
      // a late span into a pane already summed: that interval is summed again, not extended
      if (minute === 20) add(call('fetch', from + 2 * MIN + 10_000, true));
      const to = t + MIN;
      const before = live.interval(from, to);
      expect(entries(before)).toEqual(entries(fresh(to)));
      // asked again with nothing changed: the same figures, not summed again
      const again = live.interval(from, to);
      if (again === before) reusedOnce = true;
      expect(again).toBe(before);
    }
    expect(reusedOnce).toBe(true);
    const whole = [...live.interval(from, T0 + 40 * MIN).tuples.values()];
    const inRange = fed.filter((s) => s.endMs >= from && s.endMs < T0 + 40 * MIN);
    expect(whole.reduce((sum, f) => sum + f.calls, 0)).toBe(inRange.length);
    expect(whole.reduce((sum, f) => sum + f.failures, 0)).toBe(inRange.filter((s) => s.failed).length);
  });

  it('counts the tokens of every span\'s descendants by their tuple, over nested levels', () => {
    const index = new AttributionIndex(options);
    const traceId = hexId('tokens', 16);
    const span = (id: string, init: Parameters<typeof makeSpan>[0]) => makeSpan({ traceId, spanId: hexId(id, 8), ...init });
    const root = span('root', { name: 'invoke_agent coder', agent: 'coder', startMs: T0, endMs: T0 + 5_000, inputTokens: 9_000 });
    const chat1 = span('c1', { name: 'chat m', model: 'm', parentSpanId: root.spanId, startMs: T0 + 10, endMs: T0 + 1_000, inputTokens: 3_000, outputTokens: 200 });
    const sub = span('sub', { name: 'invoke_agent helper', agent: 'helper', parentSpanId: root.spanId, startMs: T0 + 1_000, endMs: T0 + 4_000 });
    const chat2 = span('c2', { name: 'chat m', model: 'm', parentSpanId: sub.spanId, startMs: T0 + 1_100, endMs: T0 + 3_000, inputTokens: 5_000, outputTokens: 800 });
    for (const x of [chat1, chat2, sub, root]) index.addSpan(x);
    index.addTrace({ traceId, root: { span: root, children: [{ span: chat1, children: [] }, { span: sub, children: [{ span: chat2, children: [] }] }] }, spanCount: 4, startMs: T0, endMs: T0 + 5_000 });
    const f = index.interval(T0, T0 + MIN);
    const id = (name: string) => [...f.tuples.keys()].find((k) => index.tuple(k)?.operation === name) as number;
    const below = (parent: string, child: string) => f.tokensBelow.get(pairKey(id(parent), id(child)));
    // both model calls, the nested one too, are below the agent; the helper holds only its own
    expect(below('invoke_agent coder', 'chat m')).toBe(3_200 + 5_800);
    expect(below('invoke_agent helper', 'chat m')).toBe(5_800);
    expect(below('invoke_agent coder', 'invoke_agent helper')).toBeUndefined();
    // every span of the whole trace is traced, with its own tokens
    expect(f.traced.get(id('chat m'))).toEqual({ calls: 2, tokens: 3_200 + 5_800 });
    expect(f.traced.get(id('invoke_agent coder'))).toEqual({ calls: 1, tokens: 9_000 });
  });

  it('traces only the spans of whole traces: a fragment without its root, and a span still running, are counted but not traced', () => {
    const index = new AttributionIndex(options);
    const chat = (id: string, parent: string) =>
      makeSpan({ traceId: hexId(`frag-${id}`, 16), spanId: hexId(id, 8), parentSpanId: hexId(parent, 8), name: 'chat m', model: 'm', startMs: T0, endMs: T0 + 900, inputTokens: 4_000 });
    const fragment = chat('f1', 'absent-agent');
    const running = chat('r1', 'open-agent');
    index.addSpan(fragment);
    index.addSpan(running);
    index.addTrace({ traceId: fragment.traceId, root: { span: fragment, children: [] }, spanCount: 1, startMs: T0, endMs: T0 + 900 });
    const f = index.interval(T0, T0 + MIN);
    const [id] = [...f.tuples.keys()];
    expect(f.tuples.get(id as number)?.calls).toBe(2);
    expect(f.traced.get(id as number)).toBeUndefined();
  });

  it('counts the calls made in place of a failed sibling: its fallback to another model, its retry; not a call that overlaps it, follows a success, or calls a tool', () => {
    const index = new AttributionIndex(options);
    const traceId = hexId('fallbacks', 16);
    let k = 0;
    const span = (init: Parameters<typeof makeSpan>[0]) => makeSpan({ traceId, spanId: hexId(`fb${++k}`, 8), ...init });
    const root = span({ name: 'invoke_agent coder', agent: 'coder', startMs: T0, endMs: T0 + 20_000 });
    const under = { parentSpanId: root.spanId };
    const claude = (start: number, failed: boolean) => span({ ...under, name: 'chat claude', model: 'claude', provider: 'anthropic', startMs: start, endMs: start + 400, failed, ...(failed ? { errorClass: 'overloaded_error' } : {}) });
    const gpt = (start: number) => span({ ...under, name: 'chat gpt', model: 'gpt', provider: 'openai', startMs: start, endMs: start + 900 });
    const children = [
      claude(T0 + 100, true),
      gpt(T0 + 510), // its fallback
      claude(T0 + 2_000, true),
      claude(T0 + 2_410, false), // its retry
      gpt(T0 + 3_000), // after a success: no replacement
      claude(T0 + 5_000, true),
      gpt(T0 + 5_200), // started before the failed call ended: in parallel, not in its place
      claude(T0 + 7_000, true),
      span({ ...under, name: 'execute_tool read_file', tool: 'read_file', startMs: T0 + 7_500, endMs: T0 + 7_600 }), // the agent moved on to a tool
    ];
    for (const x of [...children, root]) index.addSpan(x);
    index.addTrace({ traceId, root: { span: root, children: children.map((c) => ({ span: c, children: [] })) }, spanCount: children.length + 1, startMs: T0, endMs: T0 + 20_000 });
    const f = index.interval(T0, T0 + MIN);
    const id = (operation: string, errorClass?: string) => [...f.tuples.keys()].find((i) => index.tuple(i)?.operation === operation && index.tuple(i)?.error_class === errorClass) as number;
    const failedClaude = id('chat claude', 'overloaded_error');
    expect(f.replacedBy.get(pairKey(failedClaude, id('chat gpt')))).toBe(1);
    expect(f.replacedBy.get(pairKey(failedClaude, id('chat claude')))).toBe(1);
    expect(f.replacedBy.get(pairKey(failedClaude, id('execute_tool read_file')))).toBeUndefined();
    expect([...f.replacedBy.values()].reduce((a, b) => a + b, 0)).toBe(2);

    // a fragment (its root's parent never came) counts none: its calls are in no traced whole
    const fragment = new AttributionIndex(options);
    const orphanRoot = { ...root, parentSpanId: hexId('absent', 8) };
    fragment.addTrace({ traceId, root: { span: orphanRoot, children: children.map((c) => ({ span: c, children: [] })) }, spanCount: children.length + 1, startMs: T0, endMs: T0 + 20_000 });
    expect(fragment.interval(T0, T0 + MIN).replacedBy.size).toBe(0);
  });

  it('leaves figures it returned earlier as they were when it extends them', () => {
    const index = new AttributionIndex(options);
    index.addSpan(call('web_search', T0 + 1_000, true));
    const first = index.interval(T0, T0 + MIN);
    const snapshot = entries(first);
    index.addSpan(call('web_search', T0 + MIN + 1_000, true));
    const later = index.interval(T0, T0 + 2 * MIN);
    expect(entries(first)).toEqual(snapshot);
    expect([...later.tuples.values()][0]?.failures).toBe(2);
  });

  it('reuses the figures of an earlier start when a later one moved past no pane, and extends them as summing every pane again', () => {
    const index = new AttributionIndex(options);
    const fed = [call('web_search', T0 + 10 * MIN + 1_000, true), call('fetch', T0 + 11 * MIN + 2_000), call('web_search', T0 + 11 * MIN + 9_000)];
    for (const s of fed) index.addSpan(s);
    const early = index.interval(T0 + 5 * MIN, T0 + 12 * MIN);
    // the start slid over quiet time: the same panes, the same figures
    expect(index.interval(T0 + 8 * MIN, T0 + 12 * MIN)).toBe(early);
    const newer = call('web_search', T0 + 12 * MIN + 5_000);
    fed.push(newer);
    index.addSpan(newer);
    const later = index.interval(T0 + 9 * MIN, T0 + 13 * MIN);
    const fresh = new AttributionIndex(options);
    for (const s of fed) fresh.addSpan(s);
    expect(entries(later)).toEqual(entries(fresh.interval(T0 + 9 * MIN, T0 + 13 * MIN)));
    expect([...later.tuples.values()].reduce((n, f) => n + f.calls, 0)).toBe(4);
    expect([...early.tuples.values()].reduce((n, f) => n + f.calls, 0)).toBe(3);
  });

  it('covers the same panes whether they were made in time order or not, before and after old panes go', () => {
    const small = { paneMs: MIN, retentionMs: 10 * MIN, maxTuples: 100 };
    const inOrder = new AttributionIndex(small);
    const late = new AttributionIndex(small);
    const minutes = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const spans = minutes.map((m) => call(m % 2 === 0 ? 'a' : 'b', T0 + m * MIN + 1_000, m % 3 === 0));
    for (const s of spans) inOrder.addSpan(s);
    // minute 2's pane made last: the panes are not in time order
    for (const s of spans) if (s !== spans[2]) late.addSpan(s);
    late.addSpan(spans[2] as SpanRecord);
    const total = (ix: AttributionIndex, from: number, to: number) => [...ix.interval(from, to).tuples.values()].reduce((n, f) => n + f.calls * 100 + f.failures, 0);
    const expected = (from: number, to: number) => spans.filter((s) => s.endMs >= Math.floor(from / MIN) * MIN && s.endMs < to).reduce((n, s) => n + 100 + (s.failed ? 1 : 0), 0);
    for (const [from, to] of [[T0, T0 + 9 * MIN], [T0 + 2 * MIN, T0 + 5 * MIN], [T0 + 2 * MIN + 30_000, T0 + 3 * MIN], [T0 + 9 * MIN, T0 + 12 * MIN], [T0 - 5 * MIN, T0]] as const) {
      expect(total(inOrder, from, to)).toBe(expected(from, to));
      expect(total(late, from, to)).toBe(expected(from, to));
    }
    // the first panes go: what is left is covered alike
    inOrder.advance(T0 + 13 * MIN);
    late.advance(T0 + 13 * MIN);
    const kept = spans.filter((s) => s.endMs >= T0 + 3 * MIN);
    for (const ix of [inOrder, late]) expect(total(ix, T0, T0 + 9 * MIN)).toBe(kept.reduce((n, s) => n + 100 + (s.failed ? 1 : 0), 0));
    late.addSpan(call('a', T0 + 12 * MIN + 1_000));
    expect(total(late, T0 + 12 * MIN, T0 + 13 * MIN)).toBe(100);
  });

  it('answers matching from its cache only while the tuple table is the same: new tuples and forgotten ones show', () => {
    const small = { paneMs: MIN, retentionMs: 10 * MIN, maxTuples: 4 };
    const index = new AttributionIndex(small);
    const scan = (subject: Parameters<AttributionIndex['matching']>[0]) => {
      const ids: number[] = [];
      for (let id = 1; id < 100; id++) {
        const t = index.tuple(id);
        if (t !== undefined && t.service === subject.service && (subject.tool === undefined || t.tool === subject.tool)) ids.push(id);
      }
      return ids;
    };
    const svc = call('a', T0).service;
    const all = { service: svc };
    const toolB = { service: svc, tool: 'b' };
    index.addSpan(call('a', T0 + 1_000));
    expect(index.matching(all)).toEqual(scan(all));
    expect(index.matching(toolB)).toEqual([]);
    // a new tuple after both were asked: both answers change
    index.addSpan(call('b', T0 + 2_000));
    expect(index.matching(all)).toEqual(scan(all));
    expect(index.matching(all)).toHaveLength(2);
    expect(index.matching(toolB)).toEqual(scan(toolB));
    expect(index.matching(toolB)).toHaveLength(1);
    // the same subject as another object, asked again with nothing new: the same answer
    expect(index.matching({ service: svc, tool: 'b' })).toBe(index.matching(toolB));
    // a third tuple, then every pane of the first two expires while the table is half full: forgotten
    index.addSpan(call('c', T0 + 35 * MIN));
    expect(index.matching(toolB)).toHaveLength(1);
    expect(index.matching(all)).toHaveLength(3);
    index.advance(T0 + 41 * MIN);
    expect(index.matching(toolB)).toEqual([]);
    expect(index.matching(all)).toEqual(scan(all));
    expect(index.matching(all)).toHaveLength(1);
  });
});
