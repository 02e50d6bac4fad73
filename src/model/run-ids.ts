/**
 * The run a span belongs to (docs/input.md, Runs). A span names its run with a run attribute
 * (`kc.run.id`, `session.id`); a span without one (typically every span of a second service the
 * run calls) belongs to its trace's run: the run of the trace's root span, else of the earliest
 * span of the trace that names one. Only a trace that names no run at all is a run of its own,
 * with the trace id as its id (deriveSpan's fallback).
 */
import type { SpanRecord } from './span.js';

/** True when the span names its run itself (deriveSpan falls back to the trace id). */
export function namesItsRun(span: Pick<SpanRecord, 'runId' | 'traceId'>): boolean {
  return span.runId !== span.traceId;
}

function isEarlier(a: SpanRecord, b: SpanRecord): boolean {
  return a.startMs < b.startMs || (a.startMs === b.startMs && a.spanId < b.spanId);
}

/**
 * The run of one trace's spans: the root's (a span without parent, the earliest if several) when
 * it names one, else the earliest span's that does; undefined when none does.
 */
export function traceRunId(spans: Iterable<SpanRecord>): string | undefined {
  let root: SpanRecord | undefined;
  let earliest: SpanRecord | undefined;
  for (const s of spans) {
    if (!namesItsRun(s)) continue;
    if (s.parentSpanId === undefined && (root === undefined || isEarlier(s, root))) root = s;
    if (earliest === undefined || isEarlier(s, earliest)) earliest = s;
  }
  return (root ?? earliest)?.runId;
}

/** `span` in run `runId` (the span itself when it is already there). */
export function inRun(span: SpanRecord, runId: string): SpanRecord {
  return span.runId === runId ? span : { ...span, runId };
}

/**
 * Every span that names no run, in its trace's run (offline: the whole input is at hand). Spans
 * keep their order; a span that changes nothing is the same object.
 */
export function resolveRunIds(spans: readonly SpanRecord[]): SpanRecord[] {
  const byTrace = new Map<string, SpanRecord[]>();
  let unnamed = false;
  for (const s of spans) {
    let list = byTrace.get(s.traceId);
    if (list === undefined) byTrace.set(s.traceId, (list = []));
    list.push(s);
    if (!namesItsRun(s)) unnamed = true;
  }
  if (!unnamed) return [...spans];
  const runOf = new Map<string, string>();
  for (const [traceId, list] of byTrace) {
    const run = traceRunId(list);
    if (run !== undefined) runOf.set(traceId, run);
  }
  return spans.map((s) => {
    if (namesItsRun(s)) return s;
    const run = runOf.get(s.traceId);
    return run === undefined ? s : inRun(s, run);
  });
}

/**
 * Live: the runs of recent traces, learnt from the spans that name them, so a span that names no
 * run and arrives after one of its trace that does takes that run. Bounded: past `max` traces the
 * oldest is forgotten (counted). A span that arrives before any span of its trace naming the run
 * keeps the trace id: the trace detectors still see it in its run (buildTrace resolves a whole
 * trace), and the lifecycle maps such ids to their runs when it writes a record (runOf).
 */
export class TraceRuns {
  private readonly runs = new Map<string, { readonly runId: string; readonly root: boolean }>();
  forgotten = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.runs.size;
  }

  /** the run learnt for a trace, if it is remembered */
  runOf(traceId: string): string | undefined {
    return this.runs.get(traceId)?.runId;
  }

  span(span: SpanRecord): SpanRecord {
    if (!namesItsRun(span)) {
      const known = this.runs.get(span.traceId);
      return known === undefined ? span : inRun(span, known.runId);
    }
    const root = span.parentSpanId === undefined;
    const known = this.runs.get(span.traceId);
    // the root's run wins over a child's
    if (known !== undefined && (known.root || !root)) return span;
    if (known === undefined && this.runs.size >= this.max) {
      const oldest = this.runs.keys().next().value as string;
      this.runs.delete(oldest);
      this.forgotten++;
    }
    this.runs.set(span.traceId, { runId: span.runId, root });
    return span;
  }
}
