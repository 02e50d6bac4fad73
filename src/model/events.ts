/** What flows through the pipeline between the parts (docs/architecture.md). */
import type { SpanRecord } from './span.js';
import type { Observation, PainPointKind, PainPointRecord, Subject } from './painpoint.js';
import type { Recommendation } from './recommendation.js';
import type { Trace } from './trace.js';
import type { ProblemChange } from './problem.js';

/**
 * The event-time stream every processor consumes (built by src/windows/event-clock.ts):
 * - `span`: an accepted (not late) span;
 * - `watermark`: the watermark moved from the boundary `from` to the boundary `time` (multiples of
 *   the judging step): every pane ending at or before `time` is closed. One event per advance,
 *   however many boundaries it crosses: a detector judges, in order, the boundaries in
 *   (from, time] at which something it reads changed (docs/engine.md), so empty event time costs
 *   nothing and evaluation does not depend on how fast input arrives;
 * - `drain`: input ended (SIGTERM or end of file): flush buffers (trace assembler) now, before
 *   the final watermarks that close every open pane;
 * - `end`: after the final watermarks; offline detectors also judge the whole input here.
 */
export type PipelineEvent =
  | { readonly type: 'span'; readonly span: SpanRecord }
  | { readonly type: 'watermark'; readonly time: number; readonly from: number }
  | { readonly type: 'drain' }
  | { readonly type: 'end' };

/** The trace assembler's output: completed traces, with the clock events passed through in order. */
export type TraceStreamEvent =
  | { readonly type: 'trace'; readonly trace: Trace }
  | { readonly type: 'watermark'; readonly time: number; readonly from: number }
  | { readonly type: 'drain' }
  | { readonly type: 'end' };

/** What the outputs receive: pain-point changes and problem changes (docs/outputs.md). */
export type OutputChange = PainPointChange | ProblemChange;

export function isProblemChange(c: OutputChange): c is ProblemChange {
  return 'problem' in c;
}

/** One pain-point state change with the recommendations made for it (the exporters' input). */
export interface PainPointChange {
  readonly painpoint: PainPointRecord;
  /** recommendations whose group contains this pain point (empty until the recommend processor runs) */
  readonly recommendations: readonly Recommendation[];
}

/**
 * Where a standing observation comes from and where it sits among one boundary's observations.
 * A detector judges a series only when something it reads changed; between judgements its last
 * judgement stands, and the lifecycle counts a standing observation as seen at every multiple of
 * `gridMs` until the same source judges again (docs/engine.md).
 */
export interface Standing {
  /** the judged unit within its detector (a series key); a later judgement of it replaces this one */
  readonly source: string;
  /** the detector's judging period */
  readonly gridMs: number;
  /** the series' place in the detector's iteration order, then the observation's place in its judgement */
  readonly rank: number | string;
  readonly index: number;
}

/**
 * A detector's output. `observation`: the condition holds at `observation.time`; standing until
 * its source is judged again, or one-shot without `standing` (the whole-input judgement, and the
 * judge-every-boundary reference mode). `clear`: the source was judged at `time` and no longer
 * observes this kind and subject.
 */
export type Judgement =
  | { readonly type: 'observation'; readonly observation: Observation; readonly standing?: Standing }
  | { readonly type: 'clear'; readonly kind: PainPointKind; readonly subject: Subject; readonly time: number; readonly source: string };

/** A judgement tagged with the index of the detector that made it (the engine's subscription order). */
export type TaggedJudgement = Judgement & { readonly detector: number };

/** How detectors judge: at the boundaries where what they read changed, or (the reference) at every boundary. */
export type JudgeMode = 'changed' | 'every';
