/**
 * Hand-built traces and seeded data for the latency-family detector tests (latency_bottleneck,
 * repeated_calls, sequential_fanout): trees from a compact description, and the trace stream
 * with watermarks as the pipeline builder feeds it (traces before the watermark that completes them).
 */
import { from, lastValueFrom, tap, toArray, type OperatorFunction } from 'rxjs';
import type { SpanRecord } from '../../src/model/span.js';
import type { Trace, TraceNode } from '../../src/model/trace.js';
import type { Observation } from '../../src/model/painpoint.js';
import type { Judgement, TraceStreamEvent } from '../../src/model/events.js';
import { expandJudgements } from './detector-harness.js';
import { hexId, makeSpan, type SpanInit } from './span-factory.js';

/** mulberry32: a small seeded generator */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function lognormal(rand: () => number, median: number, sigma: number): number {
  const u = Math.max(rand(), 1e-12);
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand()));
}

export interface NodeSpec extends Omit<SpanInit, 'startMs' | 'endMs' | 'traceId' | 'parentSpanId' | 'spanId'> {
  /** ms after the trace's origin */
  readonly start: number;
  readonly end: number;
  readonly children?: readonly NodeSpec[];
}

let traceCounter = 0;

/** Builds a trace from a description; times are ms after `originMs`. */
export function buildTrace(spec: NodeSpec, originMs: number, seed = `t${++traceCounter}`): Trace {
  const traceId = hexId(`trace-${seed}`, 16);
  let spanCounter = 0;
  let spanCount = 0;
  let minStart = Number.POSITIVE_INFINITY;
  let maxEnd = Number.NEGATIVE_INFINITY;
  const build = (s: NodeSpec, parent: SpanRecord | undefined): TraceNode => {
    const { start, end, children, ...init } = s;
    const span = makeSpan({
      ...init,
      traceId,
      runId: init.runId ?? `run-${seed}`,
      spanId: hexId(`span-${seed}-${++spanCounter}`, 8),
      parentSpanId: parent?.spanId,
      startMs: originMs + start,
      endMs: originMs + end,
    });
    spanCount++;
    minStart = Math.min(minStart, span.startMs);
    maxEnd = Math.max(maxEnd, span.endMs);
    const kids = (children ?? []).map((c) => build(c, span)).sort((a, b) => a.span.startMs - b.span.startMs);
    return { span, children: kids };
  };
  const root = build(spec, undefined);
  return { traceId, root, spanCount, startMs: minStart, endMs: maxEnd };
}

/** The trace stream: traces by end time, each boundary's watermark after the traces that end before it, then end. */
export function traceStream(traces: readonly Trace[], slideMs = 10_000): TraceStreamEvent[] {
  const sorted = [...traces].sort((a, b) => a.endMs - b.endMs);
  const out: TraceStreamEvent[] = [];
  let next: number | undefined;
  for (const trace of sorted) {
    const pane = Math.floor(trace.endMs / slideMs) * slideMs;
    if (next === undefined) next = pane + slideMs;
    while (next <= pane) {
      out.push({ type: 'watermark', time: next, from: next - slideMs });
      next += slideMs;
    }
    out.push({ type: 'trace', trace });
  }
  if (next !== undefined) out.push({ type: 'watermark', time: next, from: next - slideMs });
  out.push({ type: 'drain' }, { type: 'end' });
  return out;
}

/** Runs a trace detector; its judgements are expanded to what judging every boundary observes (see runOnSpans). */
export async function runOnTraces<T>(traces: readonly Trace[], operator: OperatorFunction<TraceStreamEvent, T>): Promise<(T extends Judgement ? Observation : T)[]> {
  const marks: { from: number; time: number; at: number }[] = [];
  const out: T[] = [];
  await lastValueFrom(
    from(traceStream(traces)).pipe(
      tap((e) => {
        if (e.type === 'watermark') marks.push({ from: e.from, time: e.time, at: out.length });
      }),
      operator,
      tap((x) => out.push(x)),
      toArray(),
    ),
  );
  return expandJudgements(out as unknown as Judgement[], marks) as never;
}
