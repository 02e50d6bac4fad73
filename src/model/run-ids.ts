/**
 * The run a span belongs to (docs/input.md, Runs). A span names its run with a run attribute
 * (`kc.run.id`, `session.id`); a span without one (typically every span of a second service the
 * run calls) belongs to its trace's run: the run named by the trace's root span, else by the
 * earliest-ending span of the trace that names one. Only a trace that names no run at all is a
 * run of its own, with the trace id as its id (deriveSpan's fallback).
 *
 * The engine asks for a trace's run "before" a time: only the spans that ended before it count.
 * That is what makes the answer the same live and offline: once the watermark has closed a
 * boundary, every span that ended before it has arrived (a later one is dropped as late), so the
 * run known before the boundary no longer depends on when the spans arrived.
 */
import type { SpanRecord } from './span.js';
import { RecencyMap } from './recency-map.js';

/** True when the span names its run itself (deriveSpan falls back to the trace id). */
export function namesItsRun(span: Pick<SpanRecord, 'runId' | 'traceId'>): boolean {
  return span.runId !== span.traceId;
}

/** A span without a parent in its trace: absent, empty or all-zero parent id. */
export function isParentless(span: Pick<SpanRecord, 'parentSpanId'>): boolean {
  const p = span.parentSpanId;
  return p === undefined || p === '' || /^0+$/.test(p);
}

/** `span` in run `runId` (the span itself when it is already there). */
export function inRun(span: SpanRecord, runId: string): SpanRecord {
  return span.runId === runId ? span : { ...span, runId };
}

interface Namer {
  readonly runId: string;
  readonly endMs: number;
  readonly spanId: string;
}

/** Earlier end first; the span id breaks a tie, so the choice never depends on arrival order. */
function precedes(a: Namer, b: Namer): boolean {
  return a.endMs < b.endMs || (a.endMs === b.endMs && a.spanId < b.spanId);
}

/** The spans of one trace that decide its run: the earliest-ending root and non-root that name one. */
class TraceNamers {
  root: Namer | undefined;
  other: Namer | undefined;

  add(span: SpanRecord): void {
    if (!namesItsRun(span)) return;
    const n: Namer = { runId: span.runId, endMs: span.endMs, spanId: span.spanId };
    if (isParentless(span)) {
      if (this.root === undefined || precedes(n, this.root)) this.root = n;
    } else if (this.other === undefined || precedes(n, this.other)) this.other = n;
  }

  /** the run named by the spans that ended before `time`: the root's first */
  runBefore(time: number): string | undefined {
    if (this.root !== undefined && this.root.endMs < time) return this.root.runId;
    if (this.other !== undefined && this.other.endMs < time) return this.other.runId;
    return undefined;
  }
}

/** The run of a whole trace's spans; undefined when none names one. */
export function traceRunId(spans: Iterable<SpanRecord>): string | undefined {
  const namers = new TraceNamers();
  for (const s of spans) namers.add(s);
  return namers.runBefore(Number.POSITIVE_INFINITY);
}

/**
 * The runs of recent traces, learnt from the spans that name them, live and offline alike.
 * Bounded: past `max` traces the oldest is forgotten (counted), and the spans of a forgotten
 * trace that name no run keep the trace id.
 */
export class TraceRuns {
  /** oldest first; a RecencyMap because a Map evicted from its front slows down as it lives */
  private readonly traces = new RecencyMap<TraceNamers>();
  forgotten = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.traces.size;
  }

  /** Learns from a span that names its run; any other span is ignored. */
  learn(span: SpanRecord): void {
    if (!namesItsRun(span)) return;
    let namers = this.traces.get(span.traceId);
    if (namers === undefined) {
      if (this.traces.size >= this.max) {
        this.traces.evictOldest();
        this.forgotten++;
      }
      this.traces.set(span.traceId, (namers = new TraceNamers()));
    }
    namers.add(span);
  }

  /** the run of a trace as named by its spans that ended before `time`, if remembered */
  runOf(traceId: string, time = Number.POSITIVE_INFINITY): string | undefined {
    return this.traces.get(traceId)?.runBefore(time);
  }
}
