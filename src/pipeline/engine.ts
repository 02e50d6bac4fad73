/**
 * The analysis engine as one RxJS composition, shared by the live sidecar and offline analysis:
 * spans → event clock → detectors (on spans in their runs, or on traces from one shared
 * assembler) → categorize → lifecycle → recommend. Detectors judge only what changed and emit
 * judgements (standing observations and clears); the lifecycle replays each watermark's boundaries
 * in the order the detectors would have judged them (docs/engine.md). Live and offline run this
 * same composition; they differ only in `idleAdvance` (docs/engine.md, Live and offline).
 */
import { catchError, EMPTY, map, merge, Observable, share, Subject, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from '../telemetry/prom.js';
import type { SpanRecord } from '../model/span.js';
import type { Judgement, OutputChange, PainPointChange, PipelineEvent, TaggedJudgement, TraceStreamEvent } from '../model/events.js';
import type { ServiceSettings } from '../config/service-schema.js';
import type { Detector } from '../component/contracts.js';
import type { Logger } from '../telemetry/logger.js';
import { eventClock, type EventClockState } from '../windows/event-clock.js';
import { firstJudgingBoundary } from '../windows/window-spec.js';
import { nextMultipleAfter } from '../windows/judging.js';
import { painPointLifecycle, type LifecycleInput } from '../painpoints/lifecycle.js';
import { AttributionIndex } from '../problems/attribution-index.js';
import { problemsStage, type ProblemsInput } from '../problems/stage.js';
import { spanPreparation } from './span-preparation.js';
import { runResolution } from './run-resolution.js';
import { TraceRuns } from '../model/run-ids.js';
import { perRegistry } from '../telemetry/per-registry.js';

export interface EngineParts {
  readonly detectors: readonly { readonly id: string; readonly detector: Detector }[];
  readonly categorize: readonly OperatorFunction<TaggedJudgement, TaggedJudgement>[];
  readonly recommend: readonly OperatorFunction<PainPointChange, PainPointChange>[];
  /** the shared trace assembler; required when a detector takes traces */
  readonly traceAssembler?: OperatorFunction<PipelineEvent, TraceStreamEvent>;
}

export interface EngineOptions {
  readonly settings: ServiceSettings;
  readonly scheduler: import('rxjs').SchedulerLike;
  readonly metrics: Registry;
  readonly logger: Logger;
  /**
   * live: the idle watermark follows the wall clock; offline: only the data moves it. The one
   * difference between the two: a replay has no wall clock to follow, and the idle advance only
   * changes when a boundary closes, never what it holds (docs/engine.md, Live and offline).
   */
  readonly idleAdvance: boolean;
  readonly clockState: EventClockState;
  /**
   * the spans' names were prepared already (offline: prepareSpans in the order of the replay); else
   * they are prepared here, in arrival order (src/pipeline/span-preparation.ts)
   */
  readonly prepared?: boolean;
}

const processorErrors = perRegistry((registry): Counter<'processor'> => new Counter({ name: 'sidelight_processor_failures_total', help: 'Detectors stopped by an internal error', labelNames: ['processor'], registers: [registry] }));

/**
 * A judgement with its detector's index, its fields named (a spread per judgement was most of the
 * engine's own time on the 10-day kc history: ~90 000 judgements a call).
 */
function tagged(j: Judgement, detector: number): TaggedJudgement {
  if (j.type === 'clear') return { type: 'clear', kind: j.kind, subject: j.subject, time: j.time, source: j.source, detector };
  return j.standing === undefined ? { type: 'observation', observation: j.observation, detector } : { type: 'observation', observation: j.observation, standing: j.standing, detector };
}

export function runEngine(spans$: Observable<SpanRecord>, parts: EngineParts, options: EngineOptions): Observable<OutputChange> {
  return new Observable<OutputChange>((subscriber) => {
    // Every part subscribes to `events` before the clock starts. A watermark (and `end`) reaches
    // the lifecycle through `ticks` only after every detector has judged it, the trace detectors
    // (behind the assembler) included, so the lifecycle replays complete boundaries.
    const events = new Subject<PipelineEvent>();
    const ticks = new Subject<LifecycleInput>();

    // A detector that throws is a bug, not bad input: log it, count it, keep the others running.
    const guard = (id: string) =>
      catchError<TaggedJudgement, Observable<TaggedJudgement>>((err: unknown) => {
        options.logger.error(`processor ${id} stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        processorErrors(options.metrics).inc({ processor: id });
        return EMPTY;
      });

    const traceDetectors = parts.detectors.filter((d) => d.detector.input === 'traces');
    let traces$: Observable<TraceStreamEvent> | undefined;
    if (traceDetectors.length > 0) {
      if (!parts.traceAssembler) throw new Error('a trace detector is configured but no trace assembler');
      traces$ = events.pipe(parts.traceAssembler, share());
    }

    // Span detectors see each span in its run: one that names none is held until the boundary
    // that first judges it and takes the run its trace named before then (run-resolution.ts).
    const traceRuns = new TraceRuns(options.settings.traces.max_traces);
    const spanEvents$ = events.pipe(runResolution(options.settings, traceRuns, options.metrics), share());

    const tag = (detector: number) => map((j: Judgement) => tagged(j, detector));
    const outputs: Observable<TaggedJudgement>[] = parts.detectors.map(({ id, detector }, index) =>
      detector.input === 'spans'
        ? spanEvents$.pipe(detector.operator, tag(index), guard(id))
        : (traces$ as Observable<TraceStreamEvent>).pipe(detector.operator, tag(index), guard(id)),
    );
    let judgements$: Observable<TaggedJudgement> = merge(...outputs);
    for (const op of parts.categorize) judgements$ = judgements$.pipe(op);

    const lifecycleInput$: Observable<LifecycleInput> = merge(judgements$, ticks);
    const clockStepMs = Math.max(options.settings.windows.slide, options.settings.windows.judge_every ?? options.settings.windows.slide);
    // a record lists the run of a trace id standing in for one, as named before the boundary it is written at
    const runOf = (traceId: string, before: number) => traceRuns.runOf(traceId, before);
    // after each boundary the lifecycle replayed, the problems stage groups what changed there
    const boundaries = new Subject<ProblemsInput>();
    const onBoundary = (time: number) => boundaries.next({ type: 'watermark', time });
    let changes$ = lifecycleInput$.pipe(painPointLifecycle(options.settings.painpoints, options.metrics, { clockStepMs, runOf, onBoundary }));
    for (const op of parts.recommend) changes$ = changes$.pipe(op);

    // The problems stage reads the spans (and traces) behind the pain points from its own index. It
    // groups after each boundary the lifecycle replayed, then at the watermark (`ticks` reaches it
    // after the lifecycle: merge subscribes in order), advancing the index there: a span counts from
    // the boundary that first judges it, a trace from the first boundary its watermark closes (a
    // trace detector judges a trace's calls at the first boundary after the previous watermark, which
    // precedes the trace's completion when one watermark closes several boundaries: a kc run file
    // arriving at once), so a grouping at a boundary reads the traces its pain points were judged on.
    const problems = options.settings.problems;
    const index = new AttributionIndex({ paneMs: problems.pane, retentionMs: problems.max_interval + problems.baseline, maxTuples: problems.max_tuples });
    const indexSub = events.subscribe((e) => {
      if (e.type === 'span') index.addSpan(e.span, firstJudgingBoundary(e.span.endMs, options.settings.windows));
    });
    if (traces$) {
      indexSub.add(
        traces$.subscribe((e) => {
          // Held by the index as figures until the next watermark names their boundary: traces the
          // caps complete early come between watermarks, and under a heavy load whose event time
          // moves slowly that is minutes and tens of thousands of traces.
          if (e.type === 'trace') index.holdTrace(e.trace);
          // the assembler follows a boundary's traces with a watermark at it; drained ones count at once
          else if (e.type === 'watermark') index.placeHeldTraces(Math.min(e.time, nextMultipleAfter(e.from, clockStepMs)));
          else if (e.type === 'drain') index.placeHeldTraces(Number.NEGATIVE_INFINITY);
        }),
      );
    }
    const output$ = merge(changes$ as Observable<ProblemsInput>, boundaries, ticks as Observable<ProblemsInput>).pipe(problemsStage(problems, index, options.metrics, options.logger));

    const sub = output$.subscribe(subscriber);
    sub.add(indexSub);
    sub.add(
      (options.prepared ? spans$ : spans$.pipe(spanPreparation(options.settings, options.metrics)))
        .pipe(eventClock({ windows: options.settings.windows, scheduler: options.scheduler, metrics: options.metrics, idleAdvance: options.idleAdvance }, options.clockState))
        .subscribe({
          next(e) {
            events.next(e);
            if (e.type === 'watermark' || e.type === 'end') ticks.next(e);
          },
          error(err) {
            events.error(err);
            ticks.error(err);
            boundaries.error(err);
          },
          complete() {
            events.complete();
            ticks.complete();
            boundaries.complete();
          },
        }),
    );
    return () => sub.unsubscribe();
  });
}
