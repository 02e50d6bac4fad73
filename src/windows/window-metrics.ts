/** Self-metrics of the window core (issue: watermark lag, panes open, series tracked, late and overflowed spans). */
import { Counter, Gauge, type Registry } from '../telemetry/prom.js';

export interface WindowMetrics {
  readonly watermarkLag: Gauge;
  readonly lateSpans: Counter;
  readonly processedSpans: Counter;
  readonly panesOpen: Gauge<'processor'>;
  readonly seriesTracked: Gauge<'processor'>;
  readonly overflowSpans: Counter<'processor'>;
}

/** What the panes and series gauges read when scraped: every SeriesWindows of a registry. */
export interface WindowSource {
  readonly name: string;
  panes(): number;
  series(): number;
}

const cache = new WeakMap<Registry, WindowMetrics>();
const sources = new WeakMap<Registry, Set<WindowSource>>();

/**
 * Registers a SeriesWindows whose size the gauges report, computed when /metrics is scraped (not
 * at every watermark: counting every series' panes per watermark was measured as a real cost).
 */
export function registerWindowSource(registry: Registry, source: WindowSource): void {
  windowMetrics(registry);
  let set = sources.get(registry);
  if (set === undefined) sources.set(registry, (set = new Set()));
  set.add(source);
}

/** The gauges' values: summed per processor name over its sources. */
function collectSizes(registry: Registry, gauge: Gauge<'processor'>, of: (s: WindowSource) => number): void {
  gauge.reset();
  const sums = new Map<string, number>();
  for (const s of sources.get(registry) ?? []) sums.set(s.name, (sums.get(s.name) ?? 0) + of(s));
  for (const [processor, n] of sums) gauge.set({ processor }, n);
}

/** One set per registry: several pipelines in one process (tests) each have their own registry. */
export function windowMetrics(registry: Registry): WindowMetrics {
  let m = cache.get(registry);
  if (!m) {
    m = {
      watermarkLag: new Gauge({ name: 'sidelight_watermark_lag_seconds', help: 'Wall-clock time minus the event-time watermark', registers: [registry] }),
      lateSpans: new Counter({ name: 'sidelight_late_spans_dropped_total', help: 'Spans that arrived after their pane closed', registers: [registry] }),
      processedSpans: new Counter({ name: 'sidelight_spans_processed_total', help: 'Spans the event clock passed on to every processor (late ones are not)', registers: [registry] }),
      panesOpen: new Gauge({
        name: 'sidelight_panes_open',
        help: 'Panes held in memory',
        labelNames: ['processor'],
        registers: [registry],
        collect() {
          collectSizes(registry, this, (s) => s.panes());
        },
      }),
      seriesTracked: new Gauge({
        name: 'sidelight_series_tracked',
        help: 'Series with windowed state',
        labelNames: ['processor'],
        registers: [registry],
        collect() {
          collectSizes(registry, this, (s) => s.series());
        },
      }),
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
