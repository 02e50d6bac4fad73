import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import type { PipelineEvent, TraceStreamEvent } from '../model/events.js';
import { RECORDED_RUN_SCOPE, type SpanRecord } from '../model/span.js';
import type { Trace, TraceNode } from '../model/trace.js';
import { testContext } from '../../test/support/detector-harness.js';
import { recordTraces } from '../../test/support/readable-to-record.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { newTraceAssemblerStats, traceAssembler, traceAssemblerSchema, type TraceAssemblerConfig } from './trace-assembler.js';

const T0 = 1_700_000_000_000;


async function run(events: PipelineEvent[], overrides: Partial<TraceAssemblerConfig> = {}) {
  const ctx = testContext();
  const stats = newTraceAssemblerStats();
  const config = { ...traceAssemblerSchema.parse({}), ...overrides };
  const out = await lastValueFrom(from(events).pipe(traceAssembler(config, ctx, stats), toArray()));
  return { out, stats, ctx };
}

const spans = (records: SpanRecord[]): PipelineEvent[] => records.map((span) => ({ type: 'span', span }));
const wm = (time: number, from = time - 10_000): PipelineEvent => ({ type: 'watermark', time, from });
const kinds = (out: TraceStreamEvent[]) => out.map((e) => (e.type === 'trace' ? `trace:${e.trace.root.span.name}` : e.type === 'watermark' ? `wm:${e.time - T0}` : e.type));

/** A tree as nested names, with `~` marking re-parented nodes: compact to assert on. */
function shape(node: TraceNode): unknown {
  const name = `${node.reparented ? '~' : ''}${node.span.name}`;
  return node.children.length === 0 ? name : { [name]: node.children.map(shape) };
}

function traceOf(out: TraceStreamEvent[], i = 0): Trace {
  const traces = out.filter((e): e is Extract<TraceStreamEvent, { type: 'trace' }> => e.type === 'trace');
  return (traces[i] as { trace: Trace }).trace;
}

const simpleRun = () =>
  recordTraces([
    {
      name: 'run',
      start: T0,
      end: T0 + 10_000,
      children: [
        { name: 'task', start: T0 + 1_000, end: T0 + 9_000, children: [{ name: 'chat', start: T0 + 2_000, end: T0 + 3_000 }] },
        { name: 'tool', start: T0 + 500, end: T0 + 800 },
      ],
    },
  ]);

describe('traceAssembler', () => {
  it('completes traces at each boundary a watermark closes, each boundary\'s traces followed by a watermark at it', async () => {
    const early = simpleRun(); // root ends T0+10 s: complete at the boundary T0+10 s
    const late = recordTraces([{ name: 'run2', start: T0 + 20_000, end: T0 + 30_000 }]); // complete at T0+30 s
    // one watermark closing (T0, T0+40 s]: the two traces come out at their own boundaries
    const { out } = await run([...spans([...early, ...late]), wm(T0, T0 - 10_000), wm(T0 + 40_000, T0)]);
    expect(kinds(out)).toEqual(['wm:0', 'trace:run', 'wm:10000', 'trace:run2', 'wm:30000', 'wm:40000']);
    expect(out.flatMap((e) => (e.type === 'watermark' ? [[e.from - T0, e.time - T0]] : []))).toEqual([
      [-10_000, 0],
      [0, 10_000],
      [10_000, 30_000],
      [30_000, 40_000],
    ]);
  });

  it('emits a trace whose root ended once trace_idle of event time passed without a new span, before the watermark', async () => {
    const records = simpleRun();
    // last span ends at T0+10s; now = wm + 10 s: wm T0 → idle 0 s, wm T0+10s → idle 10 s ≥ 5 s
    const { out } = await run([...spans(records), wm(T0 - 10_000), wm(T0), wm(T0 + 10_000)]);
    expect(kinds(out)).toEqual(['wm:-10000', 'wm:0', 'trace:run', 'wm:10000']);
    const t = traceOf(out);
    expect(t.spanCount).toBe(4);
    expect(t.startMs).toBe(T0);
    expect(t.endMs).toBe(T0 + 10_000);
    // children in start order
    expect(shape(t.root)).toEqual({ run: ['tool', { task: ['chat'] }] });
  });

  it('waits while a new span keeps arriving within trace_idle', async () => {
    const [root, ...rest] = simpleRun().sort((a, b) => (a.name === 'run' ? -1 : b.name === 'run' ? 1 : 0));
    const late = makeSpan({ traceId: root!.traceId, parentSpanId: root!.spanId, name: 'late', startMs: T0 + 9_000, endMs: T0 + 13_000 });
    const { out } = await run([...spans([root!, ...rest]), wm(T0 - 10_000), ...spans([late]), wm(T0), wm(T0 + 10_000), wm(T0 + 20_000)]);
    // root idle from T0+10 s, but `late` ended at T0+13 s: complete at now ≥ T0+18 s, i.e. the boundary T0+10 s
    expect(kinds(out)).toEqual(['wm:-10000', 'wm:0', 'trace:run', 'wm:10000', 'wm:20000']);
    expect(traceOf(out).spanCount).toBe(5);
  });

  it('emits a trace without a root decision_wait after its first span, re-parenting the orphans', async () => {
    const traceId = 'a'.repeat(32);
    const a = makeSpan({ traceId, spanId: '1'.repeat(16), parentSpanId: 'f'.repeat(16), name: 'task', startMs: T0, endMs: T0 + 8_000 });
    const b = makeSpan({ traceId, spanId: '2'.repeat(16), parentSpanId: 'e'.repeat(16), name: 'chat', startMs: T0 + 1_000, endMs: T0 + 2_000 });
    // first span seen at T0+2 s (earliest end); decision at now ≥ T0+32 s ⇒ the boundary T0+30 s
    const { out, stats } = await run([...spans([a, b]), wm(T0 + 10_000), wm(T0 + 20_000), wm(T0 + 30_000)]);
    expect(kinds(out)).toEqual(['wm:10000', 'wm:20000', 'trace:task', 'wm:30000']);
    // no parentless span: the earliest-starting span whose parent is missing is the root; b is inside it
    expect(shape(traceOf(out).root)).toEqual({ task: ['~chat'] });
    expect(stats.spansReparented).toBe(1);
  });

  it("waits for the root of a kc run's trace however long the run, while another trace without root is cut at decision_wait", async () => {
    const kc = 'd'.repeat(32);
    const otlp = 'e'.repeat(32);
    const rootId = 'd000000000000001';
    // a kc run: a task whose attempts end minutes apart, then the run's root an hour later
    const attempt = makeSpan({ traceId: kc, spanId: 'd000000000000003', parentSpanId: 'd000000000000002', name: 'attempt', startMs: T0, endMs: T0 + 1_000, scopeName: RECORDED_RUN_SCOPE });
    const task = makeSpan({ traceId: kc, spanId: 'd000000000000002', parentSpanId: rootId, name: 'task', startMs: T0, endMs: T0 + 240_000, scopeName: RECORDED_RUN_SCOPE });
    const root = makeSpan({ traceId: kc, spanId: rootId, name: 'run', startMs: T0 - 1_000, endMs: T0 + 3_600_000, scopeName: RECORDED_RUN_SCOPE });
    const orphan = makeSpan({ traceId: otlp, spanId: 'e000000000000001', parentSpanId: 'f'.repeat(16), name: 'server', startMs: T0, endMs: T0 + 1_000 });
    const { out } = await run([...spans([attempt, orphan]), wm(T0 + 100_000, T0), ...spans([task]), wm(T0 + 3_000_000, T0 + 100_000), ...spans([root]), wm(T0 + 3_700_000, T0 + 3_000_000)]);
    const traces = out.filter((e): e is Extract<TraceStreamEvent, { type: 'trace' }> => e.type === 'trace').map((e) => e.trace);
    expect(traces.map((t) => t.traceId)).toEqual([otlp, kc]);
    expect(shape(traces[1]!.root)).toEqual({ run: [{ task: ['attempt'] }] });
  });

  it('re-parents an orphan under the deepest span containing it in time', async () => {
    const traceId = 'b'.repeat(32);
    const run_ = makeSpan({ traceId, spanId: 'a000000000000001', name: 'run', startMs: T0, endMs: T0 + 100 });
    const task = makeSpan({ traceId, spanId: 'a000000000000002', parentSpanId: run_.spanId, name: 'task', startMs: T0 + 10, endMs: T0 + 90 });
    const agent = makeSpan({ traceId, spanId: 'a000000000000003', parentSpanId: task.spanId, name: 'agent', startMs: T0 + 20, endMs: T0 + 60 });
    const other = makeSpan({ traceId, spanId: 'a000000000000004', parentSpanId: task.spanId, name: 'other', startMs: T0 + 61, endMs: T0 + 89 });
    // its parent (a tool span) was never received; it lies inside agent (and task, and run)
    const orphan = makeSpan({ traceId, spanId: 'a000000000000005', parentSpanId: 'dead00000000beef', name: 'http', startMs: T0 + 30, endMs: T0 + 40 });
    // outside every span but the root's own range: goes under the root
    const outside = makeSpan({ traceId, spanId: 'a000000000000006', parentSpanId: 'dead00000000bee2', name: 'late', startMs: T0 + 95, endMs: T0 + 120 });
    const { out, stats, ctx } = await run([...spans([orphan, outside, other, agent, task, run_]), { type: 'drain' }]);
    expect(shape(traceOf(out).root)).toEqual({ run: [{ task: [{ agent: ['~http'] }, 'other'] }, '~late'] });
    expect(stats.spansReparented).toBe(2);
    expect(await ctx.metrics.getSingleMetricAsString('sidelight_spans_reparented_total')).toContain('sidelight_spans_reparented_total 2');
  });

  it('chooses the earliest-starting parentless span as root when there are several', async () => {
    const traceId = 'c'.repeat(32);
    const r1 = makeSpan({ traceId, spanId: 'c000000000000001', name: 'second-root', startMs: T0 + 10, endMs: T0 + 50 });
    const r0 = makeSpan({ traceId, spanId: 'c000000000000002', name: 'first-root', startMs: T0, endMs: T0 + 100 });
    const child = makeSpan({ traceId, spanId: 'c000000000000003', parentSpanId: r1.spanId, name: 'child', startMs: T0 + 20, endMs: T0 + 30 });
    const { out } = await run([...spans([child, r1, r0]), { type: 'drain' }]);
    expect(shape(traceOf(out).root)).toEqual({ 'first-root': [{ '~second-root': ['child'] }] });
  });

  it('builds the same tree whatever order the spans arrive in', async () => {
    const records = recordTraces([
      {
        name: 'run',
        start: T0,
        end: T0 + 1_000,
        children: [
          { name: 'a', start: T0 + 100, end: T0 + 200, children: [{ name: 'a1', start: T0 + 110, end: T0 + 150 }] },
          { name: 'b', start: T0 + 100, end: T0 + 300 },
          { name: 'c', start: T0 + 50, end: T0 + 900, children: [{ name: 'c1', start: T0 + 60, end: T0 + 70 }] },
        ],
      },
    ]);
    // drop `c` so c1 is an orphan too
    const partial = records.filter((s) => s.name !== 'c');
    const trees = new Set<string>();
    let seed = 7;
    for (let i = 0; i < 20; i++) {
      const shuffled = [...partial];
      for (let j = shuffled.length - 1; j > 0; j--) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        const k = seed % (j + 1);
        [shuffled[j], shuffled[k]] = [shuffled[k] as SpanRecord, shuffled[j] as SpanRecord];
      }
      const { out } = await run([...spans(shuffled), { type: 'drain' }]);
      trees.add(JSON.stringify(shape(traceOf(out).root)));
    }
    expect(trees.size).toBe(1);
    // a and b start together: span id breaks the tie, so their order is fixed, whichever it is
    const [only] = [...trees];
    expect(JSON.parse(only as string).run).toHaveLength(3);
  });

  it('evicts the oldest trace early at max_traces, counted', async () => {
    const mk = (id: string, t: number) => makeSpan({ traceId: id.repeat(32), spanId: id.repeat(16), name: `root-${id}`, startMs: t, endMs: t + 10 });
    const { out, stats, ctx } = await run([...spans([mk('1', T0), mk('2', T0 + 1), mk('3', T0 + 2)]), { type: 'drain' }, { type: 'end' }], {
      max_traces: 2,
    });
    expect(kinds(out)).toEqual(['trace:root-1', 'trace:root-2', 'trace:root-3', 'drain', 'end']);
    expect(stats.tracesEvicted).toBe(1);
    expect(await ctx.metrics.getSingleMetricAsString('sidelight_traces_evicted_total')).toContain('sidelight_traces_evicted_total{reason="max_traces"} 1');
  });

  it('evicts the oldest trace early past max_buffered_spans spans over every trace, counted by cap', async () => {
    const mk = (id: string, i: number) =>
      makeSpan({ traceId: id.repeat(32), spanId: `${id}00000000000000${i}`, parentSpanId: i === 0 ? undefined : `${id}000000000000000`, name: `${i === 0 ? 'root' : 'child'}-${id}`, startMs: T0, endMs: T0 + 10 + i });
    // trace 1 holds 3 spans, trace 2 two: the sixth span buffered evicts trace 1 with all of its spans
    const events = spans([mk('1', 0), mk('1', 1), mk('1', 2), mk('2', 0), mk('2', 1), mk('3', 0)]);
    const { out, stats, ctx } = await run([...events, { type: 'drain' }, { type: 'end' }], { max_buffered_spans: 5 });
    expect(out.filter((e) => e.type === 'trace').map((e) => (e.type === 'trace' ? [e.trace.root.span.name, e.trace.spanCount] : []))).toEqual([
      ['root-1', 3],
      ['root-2', 2],
      ['root-3', 1],
    ]);
    expect(kinds(out).slice(1)).toEqual(['trace:root-2', 'trace:root-3', 'drain', 'end']);
    expect(stats.tracesEvicted).toBe(1);
    expect(stats.bufferedSpans).toBe(0);
    const text = await ctx.metrics.getSingleMetricAsString('sidelight_traces_evicted_total');
    expect(text).toContain('sidelight_traces_evicted_total{reason="max_buffered_spans"} 1');
    expect(text).not.toContain('reason="max_traces"');
  });

  it('still completes the buffered traces at their boundary after the completion queue is rebuilt', async () => {
    // max_traces 1: every new trace evicts the previous one, whose completion entry goes stale; the
    // last trace's entry is the 1 027th, past 2 × 1 buffered + 1 024: the queue is rebuilt from it
    const mk = (i: number) => makeSpan({ traceId: i.toString(16).padStart(32, '0'), spanId: i.toString(16).padStart(16, '0'), name: `root-${i}`, startMs: T0, endMs: T0 + 10 + i });
    const list = Array.from({ length: 1_027 }, (_, i) => mk(i));
    const { out, stats } = await run([wm(T0 - 10_000), ...spans(list), wm(T0 + 40_000, T0 - 10_000)], { max_traces: 1 });
    expect(stats.tracesEvicted).toBe(1_026);
    expect(kinds(out.slice(-3))).toEqual(['trace:root-1026', 'wm:0', 'wm:40000']);
    expect(out.filter((e) => e.type === 'trace')).toHaveLength(1_027);
  });

  it('keeps its arrival order bounded by the traces buffered when the caps evict every trace', async () => {
    // max_traces 10: each new trace evicts the oldest; the entries of the evicted ones must go
    const mk = (i: number) => makeSpan({ traceId: i.toString(16).padStart(32, '0'), spanId: i.toString(16).padStart(16, '0'), name: `root-${i}`, startMs: T0, endMs: T0 + 10 + i });
    const list = Array.from({ length: 5_000 }, (_, i) => mk(i));
    const { stats } = await run([wm(T0 - 10_000), ...spans(list)], { max_traces: 10 });
    expect(stats.tracesEvicted).toBe(4_990);
    expect(stats.buffered).toBe(10);
    expect(stats.arrivalEntries).toBeLessThanOrEqual(2 * 10 + 1_024 + 1);
  });

  it('counts the spans it buffers and releases them when their trace is emitted', async () => {
    const records = simpleRun();
    const ctx = testContext();
    const stats = newTraceAssemblerStats();
    const input = new Subject<PipelineEvent>();
    const traces: Trace[] = [];
    input.pipe(traceAssembler(traceAssemblerSchema.parse({}), ctx, stats)).subscribe((e) => e.type === 'trace' && traces.push(e.trace));
    for (const span of records) input.next({ type: 'span', span });
    expect(stats.bufferedSpans).toBe(4);
    expect(await ctx.metrics.getSingleMetricAsString('sidelight_trace_spans_buffered')).toContain('sidelight_trace_spans_buffered 4');
    input.next(wm(T0 - 10_000));
    input.next(wm(T0 + 10_000));
    expect(traces).toHaveLength(1);
    expect(stats.bufferedSpans).toBe(0);
    expect(await ctx.metrics.getSingleMetricAsString('sidelight_trace_spans_buffered')).toContain('sidelight_trace_spans_buffered 0');
  });

  it('drops spans beyond max_spans_per_trace, counted', async () => {
    const traceId = 'd'.repeat(32);
    const list = [0, 1, 2, 3].map((i) => makeSpan({ traceId, spanId: `d00000000000000${i}`, name: `s${i}`, startMs: T0 + i, endMs: T0 + 10 }));
    const { out, stats } = await run([...spans(list), { type: 'drain' }], { max_spans_per_trace: 3 });
    expect(traceOf(out).spanCount).toBe(3);
    expect(stats.spansDropped).toBe(1);
  });

  it('drops a span whose id the trace already holds, in a short trace and in a long one, counted', async () => {
    const traceId = 'e'.repeat(32);
    const span = (i: number) => makeSpan({ traceId, spanId: i.toString(16).padStart(16, '0'), name: `s${i}`, startMs: T0 + i, endMs: T0 + 100 });
    // ids 1..40 and 0x41 (whose last two characters share id 1's bit), then 3 (while the trace is
    // short) and 5, 39 (once it is long) again
    const list = [1, 2, 3, 0x41, 4, 3, ...Array.from({ length: 36 }, (_, i) => i + 5), 5, 39];
    const { out, stats } = await run([...spans(list.map(span)), { type: 'drain' }]);
    expect(traceOf(out).spanCount).toBe(41);
    expect(stats.spansDropped).toBe(3);
  });

  it('on drain emits every buffered trace ordered by root end time then trace id, then passes drain', async () => {
    const mk = (id: string, end: number) => makeSpan({ traceId: id.repeat(32), spanId: id.repeat(16), name: `root-${id}`, startMs: T0, endMs: T0 + end });
    const { out, stats } = await run([...spans([mk('9', 50), mk('2', 80), mk('5', 50)]), wm(T0 - 60_000), { type: 'drain' }, wm(T0), { type: 'end' }]);
    expect(kinds(out)).toEqual(['wm:-60000', 'trace:root-5', 'trace:root-9', 'trace:root-2', 'drain', 'wm:0', 'end']);
    expect(stats.buffered).toBe(0);
    expect(stats.tracesCompleted).toBe(3);
  });

  it('reads durations in config', () => {
    expect(traceAssemblerSchema.parse({ trace_idle: '2s', decision_wait: '1m' })).toEqual({
      trace_idle: 2_000,
      decision_wait: 60_000,
      max_traces: 50_000,
      max_buffered_spans: 100_000,
      max_spans_per_trace: 10_000,
    });
    expect(() => traceAssemblerSchema.parse({ idle: '2s' })).toThrow();
  });
});


