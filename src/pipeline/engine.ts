/**
 * The analysis engine as one RxJS composition, shared by the live sidecar and offline analysis:
 * spans → event clock → detectors (on spans, or on traces from one shared assembler) →
 * categorize → lifecycle → recommend. The event stream is connected only after every part has
 * subscribed, in a fixed order, so at each watermark every detector judges before the lifecycle
 * resolves what was not observed.
 */
import { catchError, connectable, EMPTY, filter, map, merge, Observable, Subject, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { Observation } from '../model/painpoint.js';
import type { PainPointChange, PipelineEvent, TraceStreamEvent } from '../model/events.js';
import type { ServiceSettings } from '../config/service-schema.js';
import type { Detector } from './component.js';
import type { Logger } from '../telemetry/logger.js';
import { eventClock, type EventClockState } from '../windows/event-clock.js';
import { painPointLifecycle, type LifecycleInput } from '../painpoints/lifecycle.js';
import { operationMetrics, type OperationMetricsOptions } from '../telemetry/operation-metrics.js';
import { criticalPathShares, type CriticalPathSharesOptions } from '../telemetry/critical-path-shares.js';

export interface EngineParts {
  readonly detectors: readonly { readonly id: string; readonly detector: Detector }[];
  readonly categorize: readonly OperatorFunction<Observation, Observation>[];
  readonly recommend: readonly OperatorFunction<PainPointChange, PainPointChange>[];
  /** the shared trace assembler; required when a detector takes traces */
  readonly traceAssembler?: OperatorFunction<PipelineEvent, TraceStreamEvent>;
}

export interface EngineOptions {
  readonly settings: ServiceSettings;
  readonly scheduler: import('rxjs').SchedulerLike;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** live: the idle watermark follows the wall clock; offline: only the data moves it */
  readonly idleAdvance: boolean;
  readonly clockState: EventClockState;
  /** publish per-operation rolling metrics on the registry (the live sidecar's /metrics) */
  readonly operationMetrics?: boolean;
  /** the live page's feeds (src/ui), read at each boundary */
  readonly liveFeed?: LiveFeed;
}

export interface LiveFeed {
  /** the per-operation figures exported to /metrics (needs operationMetrics) */
  readonly operations?: NonNullable<OperationMetricsOptions['onBoundary']>;
  /** critical-path shares per operation (needs a trace detector, which brings the trace assembler) */
  readonly criticalPath?: Omit<CriticalPathSharesOptions, 'windows' | 'registry'>;
}

const errorCounters = new WeakMap<Registry, Counter<'processor'>>();
function processorErrors(registry: Registry): Counter<'processor'> {
  let c = errorCounters.get(registry);
  if (!c) {
    c = new Counter({ name: 'sidelight_processor_failures_total', help: 'Detectors stopped by an internal error', labelNames: ['processor'], registers: [registry] });
    errorCounters.set(registry, c);
  }
  return c;
}

export function runEngine(spans$: Observable<SpanRecord>, parts: EngineParts, options: EngineOptions): Observable<PainPointChange> {
  return new Observable<PainPointChange>((subscriber) => {
    const events$ = connectable(
      spans$.pipe(eventClock({ windows: options.settings.windows, scheduler: options.scheduler, metrics: options.metrics, idleAdvance: options.idleAdvance }, options.clockState)),
      { connector: () => new Subject<PipelineEvent>(), resetOnDisconnect: false },
    );

    // A detector that throws is a bug, not bad input: log it, count it, keep the others running.
    const guard = (id: string) =>
      catchError<Observation, Observable<Observation>>((err: unknown) => {
        options.logger.error(`processor ${id} stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        processorErrors(options.metrics).inc({ processor: id });
        return EMPTY;
      });

    const traceDetectors = parts.detectors.filter((d) => d.detector.input === 'traces');
    let traces$: ReturnType<typeof connectable<TraceStreamEvent>> | undefined;
    if (traceDetectors.length > 0) {
      if (!parts.traceAssembler) throw new Error('a trace detector is configured but no trace assembler');
      traces$ = connectable(events$.pipe(parts.traceAssembler), { connector: () => new Subject<TraceStreamEvent>(), resetOnDisconnect: false });
    }

    const outputs: Observable<Observation>[] = parts.detectors.map(({ id, detector }) =>
      detector.input === 'spans' ? events$.pipe(detector.operator, guard(id)) : (traces$ as Observable<TraceStreamEvent>).pipe(detector.operator, guard(id)),
    );
    let observations$: Observable<Observation> = merge(...outputs);
    for (const op of parts.categorize) observations$ = observations$.pipe(op);

    const lifecycleInput$: Observable<LifecycleInput> = merge(
      observations$.pipe(map((observation): LifecycleInput => ({ type: 'observation', observation }))),
      // Subscribed last: the lifecycle sees a watermark after every detector has judged at it.
      events$.pipe(filter((e): e is Extract<PipelineEvent, { type: 'watermark' | 'end' }> => e.type === 'watermark' || e.type === 'end')),
    );
    let changes$ = lifecycleInput$.pipe(painPointLifecycle(options.settings.painpoints, options.metrics));
    for (const op of parts.recommend) changes$ = changes$.pipe(op);

    const sub = changes$.subscribe(subscriber);
    const stopped = (what: string) =>
      catchError((err: unknown) => {
        options.logger.error(`${what} stopped: ${String(err)}`);
        return EMPTY;
      });
    if (options.liveFeed?.criticalPath && traces$) {
      sub.add(
        traces$.pipe(criticalPathShares({ ...options.liveFeed.criticalPath, windows: options.settings.windows, registry: options.metrics }), stopped('critical path shares')).subscribe(),
      );
    }
    if (options.operationMetrics) {
      const onBoundary = options.liveFeed?.operations;
      sub.add(
        events$
          .pipe(
            operationMetrics({ settings: options.settings, registry: options.metrics, ...(onBoundary ? { onBoundary } : {}) }),
            catchError((err: unknown) => {
              options.logger.error(`operation metrics stopped: ${String(err)}`);
              return EMPTY;
            }),
          )
          .subscribe(),
      );
    }
    const traceConnection = traces$?.connect();
    const eventConnection = events$.connect();
    return () => {
      sub.unsubscribe();
      traceConnection?.unsubscribe();
      eventConnection.unsubscribe();
    };
  });
}
