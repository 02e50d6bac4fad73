/**
 * Runs for the span detectors (docs/input.md, Runs), live and offline alike: a span that names no
 * run is held until the watermark reaches the first boundary that judges it, then passed on in the
 * run its trace's spans named before that boundary. Every span that ended before the boundary has
 * arrived by then (a later one is dropped as late), so the run a span gets does not depend on how
 * fast or in what batches the input came: the live sidecar and a fast replay agree. Spans that name
 * their run pass at once. Trace detectors see whole traces (the trace assembler resolves them).
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from '../telemetry/prom.js';
import FlatQueue from 'flatqueue';
import type { SpanRecord } from '../model/span.js';
import type { PipelineEvent } from '../model/events.js';
import type { ServiceSettings } from '../config/service-schema.js';
import { inRun, namesItsRun, type TraceRuns } from '../model/run-ids.js';
import { firstJudgingBoundary } from '../windows/window-spec.js';
import { perRegistry } from '../telemetry/per-registry.js';

interface RunResolutionMetrics {
  readonly runsForgotten: Counter;
  readonly releasedEarly: Counter;
}

const runResolutionMetrics = perRegistry((registry): RunResolutionMetrics => ({
  runsForgotten: new Counter({
    name: 'sidelight_trace_runs_forgotten_total',
    help: 'Traces whose run was forgotten because service.traces.max_traces runs were remembered',
    registers: [registry],
  }),
  releasedEarly: new Counter({
    name: 'sidelight_run_spans_released_early_total',
    help: 'Spans naming no run passed on before their boundary because service.traces.max_held_spans were held',
    registers: [registry],
  }),
}));

export function runResolution(settings: Pick<ServiceSettings, 'windows' | 'traces'>, runs: TraceRuns, registry?: Registry): OperatorFunction<PipelineEvent, PipelineEvent> {
  const maxHeld = settings.traces.max_held_spans;
  return (source) =>
    new Observable<PipelineEvent>((subscriber) => {
      const metrics = registry ? runResolutionMetrics(registry) : undefined;
      /** held spans by the boundary that first judges them, in arrival order */
      const held = new Map<number, SpanRecord[]>();
      const boundaries = new FlatQueue<number>();
      let heldCount = 0;

      const release = (boundary: number) => {
        const list = held.get(boundary);
        if (list === undefined) return;
        held.delete(boundary);
        heldCount -= list.length;
        for (const span of list) {
          const run = runs.runOf(span.traceId, boundary);
          subscriber.next({ type: 'span', span: run === undefined ? span : inRun(span, run) });
        }
      };
      const releaseUpTo = (time: number) => {
        while (boundaries.length > 0 && (boundaries.peekValue() as number) <= time) release(boundaries.pop() as number);
      };

      const sub = source.subscribe({
        next(event) {
          if (event.type === 'span') {
            const span = event.span;
            if (namesItsRun(span)) {
              const forgotten = runs.forgotten;
              runs.learn(span);
              if (metrics !== undefined && runs.forgotten !== forgotten) metrics.runsForgotten.inc(runs.forgotten - forgotten);
              subscriber.next(event);
              return;
            }
            const boundary = firstJudgingBoundary(span.endMs, settings.windows);
            let list = held.get(boundary);
            if (list === undefined) {
              held.set(boundary, (list = []));
              boundaries.push(boundary, boundary);
            }
            list.push(span);
            heldCount++;
            // Memory stays bounded under overload: past the cap the earliest boundary's spans go
            // on with the runs known so far (counted); only then can their runs depend on pacing.
            while (heldCount > maxHeld && boundaries.length > 0) {
              const earliest = boundaries.pop() as number;
              const n = held.get(earliest)?.length ?? 0;
              release(earliest);
              metrics?.releasedEarly.inc(n);
            }
            return;
          }
          if (event.type === 'watermark') releaseUpTo(event.time);
          else if (event.type === 'end') releaseUpTo(Number.POSITIVE_INFINITY);
          subscriber.next(event);
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          releaseUpTo(Number.POSITIVE_INFINITY);
          subscriber.complete();
        },
      });
      return () => sub.unsubscribe();
    });
}
