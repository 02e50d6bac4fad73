/** What flows through the pipeline between the parts (docs/architecture.md). */
import type { SpanRecord } from './span.js';
import type { PainPointRecord } from './painpoint.js';
import type { Recommendation } from './recommendation.js';
import type { Trace } from './trace.js';

/**
 * The event-time stream every processor consumes (built by src/windows/event-clock.ts):
 * - `span`: an accepted (not late) span;
 * - `watermark`: the watermark reached `time`, a multiple of the slide; every pane ending at or
 *   before `time` is closed and detectors judge their windows ending at `time`. One event per
 *   boundary crossed, in order, so evaluation does not depend on how fast input arrives;
 * - `drain`: input ended (SIGTERM or end of file): flush buffers (trace assembler) now, before
 *   the final watermarks that close every open pane;
 * - `end`: after the final watermarks; offline detectors also judge the whole input here.
 */
export type PipelineEvent =
  | { readonly type: 'span'; readonly span: SpanRecord }
  | { readonly type: 'watermark'; readonly time: number }
  | { readonly type: 'drain' }
  | { readonly type: 'end' };

/** The trace assembler's output: completed traces, with the clock events passed through in order. */
export type TraceStreamEvent =
  | { readonly type: 'trace'; readonly trace: Trace }
  | { readonly type: 'watermark'; readonly time: number }
  | { readonly type: 'drain' }
  | { readonly type: 'end' };

/** One pain-point state change with the recommendations made for it (the exporters' input). */
export interface PainPointChange {
  readonly painpoint: PainPointRecord;
  /** recommendations whose group contains this pain point (empty until the recommend processor runs) */
  readonly recommendations: readonly Recommendation[];
}
