/**
 * Names, before the event clock (docs/input.md, Names): provider and model names in their display
 * spelling, the first spelling seen. Live, in arrival order with bounded memory; offline
 * (`prepareSpans`), in the order the engine will see the input. Runs are resolved after the clock,
 * live and offline alike (src/pipeline/run-resolution.ts).
 */
import { map, defer, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from '../telemetry/prom.js';
import type { SpanRecord } from '../model/span.js';
import type { ServiceSettings } from '../config/service-schema.js';
import { NameNormalizer } from '../model/names.js';
import { perRegistry } from '../telemetry/per-registry.js';

const namesOverflow = perRegistry((registry): Counter => new Counter({
  name: 'sidelight_names_overflow_total',
  help: 'Provider and model names seen past service.names.max_names, shown in lower case',
  registers: [registry],
}));

/** Live: names in arrival order. */
export function spanPreparation(settings: Pick<ServiceSettings, 'names'>, registry?: Registry): OperatorFunction<SpanRecord, SpanRecord> {
  return (source) =>
    defer(() => {
      const names = new NameNormalizer(settings.names);
      const overflow = registry ? namesOverflow(registry) : undefined;
      return source.pipe(
        map((span) => {
          const overflowed = names.overflowed;
          const out = names.span(span);
          if (overflow !== undefined && names.overflowed !== overflowed) overflow.inc(names.overflowed - overflowed);
          return out;
        }),
      );
    });
}

/** Offline: the spans in the order given (names take the first spelling in that order). */
export function prepareSpans(spans: readonly SpanRecord[], settings: Pick<ServiceSettings, 'names'>, names = new NameNormalizer(settings.names)): SpanRecord[] {
  return spans.map((s) => names.span(s));
}
