/**
 * Rolling per-operation metrics for Prometheus `/metrics` (SPEC §5): calls, failure rate, retries
 * per minute and latency percentiles of each operation key series (SPEC §2), on every fine window
 * (1m, 5m, 15m by default), refreshed at each watermark boundary.
 *
 * - Series are the operation series only (operationSubject), never the group-by dimensions, so
 *   label cardinality stays at one label set per operation and window.
 * - A span is a retry when its derived `attempt` is > 1; latency is over successful calls only
 *   (SPEC §3), and leaves out kc's synthetic attempt spans, whose times are apportioned.
 * - At most `maxOperations` series; spans of further operations count in `__overflow__`, which
 *   is exported (operation="__overflow__") so the cap is visible, and in a counter.
 * - A series with no call left in any window has its label sets removed, so `/metrics` does not
 *   grow without bound.
 */
import { defer, ignoreElements, tap, type Observable } from 'rxjs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PipelineEvent } from '../model/events.js';
import type { Subject } from '../model/painpoint.js';
import type { SpanRecord } from '../model/span.js';
import type { ServiceSettings } from '../config/service-schema.js';
import { OVERFLOW_SUBJECT, operationSubject, subjectKey } from '../model/series.js';
import { SeriesWindows, type PaneAggregator } from '../windows/series-windows.js';
import type { WindowSpec } from '../windows/window-spec.js';
import { QuantileSketch } from '../stats/quantile-sketch.js';
import { SYNTHETIC_KEY } from '../traces/retry-chains.js';

export const DEFAULT_MAX_OPERATIONS = 500;

export interface OperationMetricsOptions {
  readonly settings: ServiceSettings;
  readonly registry: Registry;
  /** cap on operation series exported; spans of further operations go to `__overflow__` */
  readonly maxOperations?: number;
  /** called at each boundary with what was exported (the live page's charts, src/ui) */
  readonly onBoundary?: (time: number, operations: readonly OperationFigures[]) => void;
}

/** One operation's figures on each fine window at one boundary, as exported to the gauges. */
export interface OperationFigures {
  /** the operation key text (`__overflow__` for the overflow series) */
  readonly key: string;
  readonly service: string;
  readonly operation: string;
  /** one entry per fine window, shortest first */
  readonly windows: readonly {
    readonly window: string;
    readonly calls: number;
    readonly failures: number;
    readonly retriesPerMinute: number;
    /** p95 of successful calls, ms; null without successful calls */
    readonly p95Ms: number | null;
  }[];
}

type OperationLabel = 'service' | 'operation' | 'key' | 'window';
type OperationLabels = Record<OperationLabel, string>;

export interface OperationMetricSet {
  readonly calls: Gauge<OperationLabel>;
  readonly failureRate: Gauge<OperationLabel>;
  readonly retryRate: Gauge<OperationLabel>;
  readonly latency: Gauge<OperationLabel | 'quantile'>;
  readonly overflowSpans: Counter;
}

const QUANTILES: ReadonlyArray<readonly [label: string, q: number]> = [
  ['0.5', 0.5],
  ['0.95', 0.95],
  ['0.99', 0.99],
];

const cache = new WeakMap<Registry, OperationMetricSet>();

/** One set per registry: several pipelines in one process (tests) each have their own registry. */
export function operationMetricSet(registry: Registry): OperationMetricSet {
  let m = cache.get(registry);
  if (!m) {
    const labelNames: OperationLabel[] = ['service', 'operation', 'key', 'window'];
    m = {
      calls: new Gauge({ name: 'sidelight_operation_calls', help: 'Calls of the operation in the window', labelNames, registers: [registry] }),
      failureRate: new Gauge({
        name: 'sidelight_operation_failure_rate',
        help: 'Failed calls / calls of the operation in the window (absent without calls)',
        labelNames,
        registers: [registry],
      }),
      retryRate: new Gauge({
        name: 'sidelight_operation_retry_rate',
        help: 'Retries (calls with attempt > 1) of the operation per minute over the window',
        labelNames,
        registers: [registry],
      }),
      latency: new Gauge({
        name: 'sidelight_operation_latency_ms',
        help: 'Latency percentiles of successful calls of the operation in the window, ms (absent without successful calls)',
        labelNames: [...labelNames, 'quantile'],
        registers: [registry],
      }),
      overflowSpans: new Counter({
        name: 'sidelight_operation_metrics_overflow_spans_total',
        help: 'Spans counted in the __overflow__ operation because the operation metrics cap was reached',
        registers: [registry],
      }),
    };
    cache.set(registry, m);
  }
  return m;
}

interface OperationAcc {
  calls: number;
  failures: number;
  retries: number;
  /** durations of successful, measured calls */
  readonly latency: QuantileSketch;
}

const operationAggregator: PaneAggregator<OperationAcc, SpanRecord> = {
  create: () => ({ calls: 0, failures: 0, retries: 0, latency: new QuantileSketch() }),
  add(acc, span) {
    acc.calls++;
    if (span.attempt !== undefined && span.attempt > 1) acc.retries++;
    if (span.failed) acc.failures++;
    // kc attempt spans have apportioned times (SPEC §2): their durations measure nothing
    else if (span.attributes[SYNTHETIC_KEY] !== true) acc.latency.add(span.durationMs);
  },
  merge(into, from) {
    into.calls += from.calls;
    into.failures += from.failures;
    into.retries += from.retries;
    into.latency.merge(from.latency);
  },
};

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

/** The operationKey text of a subject: service + operation + tool / model / task type. */
function keyText(subject: Subject, seriesKey: string): string {
  if (seriesKey === OVERFLOW_KEY) return '__overflow__';
  const qualifier = subject.tool ?? subject.model ?? subject.task_type;
  const base = `${subject.service} ${subject.operation ?? ''}`;
  return qualifier === undefined ? base : `${base} ${qualifier}`;
}

/**
 * An operator over the pipeline's event stream that keeps the operation gauges of `registry`
 * current. It emits nothing and completes with its input; subscribe it beside the detectors.
 */
export function operationMetrics(options: OperationMetricsOptions): (events$: Observable<PipelineEvent>) => Observable<never> {
  return (events$) =>
    defer(() => {
      const metrics = operationMetricSet(options.registry);
      // Fine windows only: a series is dropped once it leaves the longest of them, not after 24 h.
      const windows = new SeriesWindows<OperationAcc, SpanRecord>({
        aggregator: operationAggregator,
        windows: { ...options.settings.windows, coarse_sizes: [] },
        maxSeries: options.maxOperations ?? DEFAULT_MAX_OPERATIONS,
        name: 'operation_metrics',
        metrics: options.registry,
      });
      const specs = windows.specs;
      /** base labels (no window) of the series exported at the last boundary, by series key */
      let exported = new Map<string, Omit<OperationLabels, 'window'>>();

      const removeAll = (labels: OperationLabels) => {
        metrics.calls.remove(labels);
        metrics.retryRate.remove(labels);
        metrics.failureRate.remove(labels);
        for (const [quantile] of QUANTILES) metrics.latency.remove({ ...labels, quantile });
      };

      const exportWindow = (labels: OperationLabels, spec: WindowSpec, acc: OperationAcc): OperationFigures['windows'][number] => {
        const retriesPerMinute = acc.retries / (spec.sizeMs / 60_000);
        metrics.calls.set(labels, acc.calls);
        metrics.retryRate.set(labels, retriesPerMinute);
        if (acc.calls > 0) metrics.failureRate.set(labels, acc.failures / acc.calls);
        else metrics.failureRate.remove(labels);
        let p95Ms: number | null = null;
        for (const [quantile, q] of QUANTILES) {
          if (acc.latency.count > 0) {
            const value = acc.latency.quantile(q);
            metrics.latency.set({ ...labels, quantile }, value);
            if (q === 0.95) p95Ms = value;
          } else metrics.latency.remove({ ...labels, quantile });
        }
        return { window: spec.name, calls: acc.calls, failures: acc.failures, retriesPerMinute, p95Ms };
      };

      const onWatermark = (boundary: number) => {
        // Panes before every window ending at `boundary` go first; series left with none are dropped.
        windows.advance(boundary);
        const next = new Map<string, Omit<OperationLabels, 'window'>>();
        const figures: OperationFigures[] = [];
        for (const series of windows.all()) {
          // Windows are cached merges shared with SeriesWindows: read only.
          const accs = specs.map((spec) => series.window(spec, boundary));
          if (!accs.some((acc) => acc.calls > 0)) continue;
          const overflow = series.key === OVERFLOW_KEY;
          const base = {
            service: overflow ? '__overflow__' : series.subject.service,
            operation: overflow ? '__overflow__' : (series.subject.operation ?? ''),
            key: keyText(series.subject, series.key),
          };
          const perWindow = specs.map((spec, i) => exportWindow({ ...base, window: spec.name }, spec, accs[i] as OperationAcc));
          if (options.onBoundary) figures.push({ ...base, windows: perWindow });
          next.set(series.key, base);
        }
        // Aged out of every window (or only data in still-open panes): no label set left behind.
        for (const [key, base] of exported) {
          if (next.has(key)) continue;
          for (const spec of specs) removeAll({ ...base, window: spec.name });
        }
        exported = next;
        options.onBoundary?.(boundary, figures);
      };

      return events$.pipe(
        tap((event) => {
          if (event.type === 'span') {
            const before = windows.overflowed;
            windows.add([operationSubject(event.span)], event.span.endMs, event.span);
            if (windows.overflowed > before) metrics.overflowSpans.inc(windows.overflowed - before);
          } else if (event.type === 'watermark') {
            onWatermark(event.time);
          }
        }),
        ignoreElements(),
      );
    });
}
