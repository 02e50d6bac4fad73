/** Self-metrics of the window core (issue: watermark lag, panes open, series tracked, late and overflowed spans). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface WindowMetrics {
  readonly watermarkLag: Gauge;
  readonly lateSpans: Counter;
  readonly processedSpans: Counter;
  readonly panesOpen: Gauge<'processor'>;
  readonly seriesTracked: Gauge<'processor'>;
  readonly overflowSpans: Counter<'processor'>;
}

const cache = new WeakMap<Registry, WindowMetrics>();

/** One set per registry: several pipelines in one process (tests) each have their own registry. */
export function windowMetrics(registry: Registry): WindowMetrics {
  let m = cache.get(registry);
  if (!m) {
    m = {
      watermarkLag: new Gauge({ name: 'sidelight_watermark_lag_seconds', help: 'Wall-clock time minus the event-time watermark', registers: [registry] }),
      lateSpans: new Counter({ name: 'sidelight_late_spans_dropped_total', help: 'Spans that arrived after their pane closed', registers: [registry] }),
      processedSpans: new Counter({ name: 'sidelight_spans_processed_total', help: 'Spans the event clock passed on to every processor (late ones are not)', registers: [registry] }),
      panesOpen: new Gauge({ name: 'sidelight_panes_open', help: 'Panes held in memory', labelNames: ['processor'], registers: [registry] }),
      seriesTracked: new Gauge({ name: 'sidelight_series_tracked', help: 'Series with windowed state', labelNames: ['processor'], registers: [registry] }),
      overflowSpans: new Counter({
        name: 'sidelight_series_overflow_spans_total',
        help: 'Spans counted in the __overflow__ series because max_series was reached',
        labelNames: ['processor'],
        registers: [registry],
      }),
    };
    cache.set(registry, m);
  }
  return m;
}
