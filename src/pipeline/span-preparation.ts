/**
 * What every span goes through before the detectors (docs/input.md, Names and Runs): provider and
 * model names in their display spelling, and a span that names no run in its trace's run. Live,
 * in arrival order with bounded memory; offline (`prepareSpans`), over the whole input at once, so
 * every span of a trace finds its run whatever the order.
 */
import { map, defer, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from '../telemetry/prom.js';
import type { SpanRecord } from '../model/span.js';
import type { ServiceSettings } from '../config/service-schema.js';
import { NameNormalizer } from '../model/names.js';
import { resolveRunIds, type TraceRuns } from '../model/run-ids.js';

interface PreparationMetrics {
  readonly namesOverflow: Counter;
  readonly runsForgotten: Counter;
}

const metricsCache = new WeakMap<Registry, PreparationMetrics>();
function preparationMetrics(registry: Registry): PreparationMetrics {
  let m = metricsCache.get(registry);
  if (m === undefined) {
    m = {
      namesOverflow: new Counter({
        name: 'sidelight_names_overflow_total',
        help: 'Provider and model names seen past service.names.max_names, shown in lower case',
        registers: [registry],
      }),
      runsForgotten: new Counter({
        name: 'sidelight_trace_runs_forgotten_total',
        help: 'Traces whose run was forgotten because service.traces.max_traces runs were remembered',
        registers: [registry],
      }),
    };
    metricsCache.set(registry, m);
  }
  return m;
}

/** Live: names, then the run learnt from earlier spans of the trace (`runs`, shared with the lifecycle). */
export function spanPreparation(settings: ServiceSettings, runs: TraceRuns, registry?: Registry): OperatorFunction<SpanRecord, SpanRecord> {
  return (source) =>
    defer(() => {
      const names = new NameNormalizer(settings.names);
      const metrics = registry ? preparationMetrics(registry) : undefined;
      return source.pipe(
        map((span) => {
          const overflowed = names.overflowed;
          const forgotten = runs.forgotten;
          const out = runs.span(names.span(span));
          if (metrics !== undefined) {
            if (names.overflowed !== overflowed) metrics.namesOverflow.inc(names.overflowed - overflowed);
            if (runs.forgotten !== forgotten) metrics.runsForgotten.inc(runs.forgotten - forgotten);
          }
          return out;
        }),
      );
    });
}

/** Offline: the spans in the order given (names take the first spelling in that order), each trace in its run. */
export function prepareSpans(spans: readonly SpanRecord[], settings: Pick<ServiceSettings, 'names'>, names = new NameNormalizer(settings.names)): SpanRecord[] {
  return resolveRunIds(spans.map((s) => names.span(s)));
}
