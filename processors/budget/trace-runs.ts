/**
 * The run a model call spends for when it names none. A call without a run attribute has its trace
 * id as its run id (docs/input.md); where an instrumentation sets the run or conversation on some
 * spans of a trace only, one run would be counted as two. A call that names no run takes the run
 * named by a span of its trace seen before it. Bounded: at most `max` traces are remembered (the
 * oldest is forgotten, counted), and a trace is forgotten when its root span arrives.
 */
import type { SpanRecord } from '../../src/model/span.js';
import { RecencyMap } from '../../src/model/recency-map.js';

export class TraceRuns {
  /** oldest first; a RecencyMap because a Map evicted from its front slows down as it lives */
  private readonly runs = new RecencyMap<string>();

  constructor(
    private readonly max: number,
    private readonly onForgotten: () => void = () => {},
  ) {}

  get size(): number {
    return this.runs.size;
  }

  /** Learns the run a span names, and returns the run of the span: its own, else its trace's, else its trace id. */
  runOf(span: SpanRecord): string {
    const named = span.runId !== span.traceId;
    const runId = named ? span.runId : (this.runs.get(span.traceId) ?? span.runId);
    if (span.parentSpanId === undefined) this.runs.delete(span.traceId);
    else if (named && !this.runs.has(span.traceId)) {
      if (this.runs.size >= this.max) {
        this.runs.evictOldest();
        this.onForgotten();
      }
      this.runs.set(span.traceId, span.runId);
    }
    return runId;
  }
}
