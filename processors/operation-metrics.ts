/**
 * operation_metrics: rolling per-operation figures for Prometheus `/metrics` (docs/outputs.md):
 * calls, failure rate, retries per minute and latency percentiles of each operation series, on
 * every fine window (1m, 5m, 15m by default). It judges nothing and emits no observation.
 *
 * - The gauges are computed when `/metrics` is scraped (prom-client `collect()`), from this
 *   processor's own per-operation windows ending at the latest closed pane boundary, so the cost
 *   is per scrape, not per boundary, and nothing depends on how often the clock emits watermarks.
 * - Every pipeline that lists the processor exports its own series, labelled `pipeline`.
 * - Series are operation series only (operationSubject), never the group-by dimensions, so label
 *   cardinality stays at one label set per operation, window and pipeline.
 * - A span is a retry when its derived `attempt` is > 1; latency is over successful calls only,
 *   and leaves out kc's synthetic attempt spans, whose times are apportioned.
 * - At most `max_operations` series; spans of further operations count in `__overflow__`, which
 *   is exported (operation="__overflow__") so the cap is visible, and in a counter. A series with
 *   no call left in any window is dropped, so neither memory nor `/metrics` grows with time.
 * - Offline runs (analyze, the library's offline mode) have no scraper: the processor is idle.
 * - The live page's charts (src/ui) need a point per boundary, so when the context carries an
 *   `operationFigures` feed, the processor also computes each crossed pane boundary's figures
 *   from the same windows and hands them over, the last `feed.keep` of an advance only.
 */
import { defer, ignoreElements, tap, type Observable } from 'rxjs';
import { Counter, Gauge, type Registry } from '../src/telemetry/prom.js';
import { z } from 'zod';
import type { PipelineEvent } from '../src/model/events.js';
import type { Subject } from '../src/model/painpoint.js';
import { isSynthetic, type SpanRecord } from '../src/model/span.js';
import type { ServiceSettings } from '../src/config/service-schema.js';
import type { OperationFigures, OperationFiguresFeed, ProcessorFactory } from '../src/component/contracts.js';
import { OVERFLOW_SUBJECT, operationSubject, subjectKey } from '../src/model/series.js';
import { SeriesWindows, type PaneAggregator } from '../src/windows/series-windows.js';
import { paneStart, type WindowSpec } from '../src/windows/window-spec.js';
import { QuantileSketch } from '../src/stats/quantile-sketch.js';

export const operationMetricsConfigSchema = z.strictObject({
  /** cap on operation series exported per pipeline; spans of further operations count in `__overflow__` */
  max_operations: z.number().int().positive().default(500),
});
export type OperationMetricsConfig = z.output<typeof operationMetricsConfigSchema>;

export interface OperationMetricsOptions {
  readonly settings: ServiceSettings;
  readonly registry: Registry;
  /** cap on operation series exported; spans of further operations go to `__overflow__` */
  readonly maxOperations?: number;
  /** `pipeline` label of the exported series; one source per pipeline name (a newer one replaces an older) */
  readonly pipeline?: string;
  /** processor id, for the window metrics' `processor` label */
  readonly name?: string;
  /** gets every closed pane boundary's figures (the live page's charts) */
  readonly feed?: OperationFiguresFeed;
}

type OperationLabel = 'pipeline' | 'service' | 'operation' | 'key' | 'window';
type OperationLabels = Record<OperationLabel, string>;

const QUANTILES: ReadonlyArray<readonly [label: string, q: number]> = [
  ['0.5', 0.5],
  ['0.95', 0.95],
  ['0.99', 0.99],
];

/** One operation's figures over one window, as exported. */
interface OperationRow {
  readonly labels: OperationLabels;
  readonly calls: number;
  /** retries per minute over the window */
  readonly retryRate: number;
  /** undefined without calls */
  readonly failureRate: number | undefined;
  /** latency by quantile label; empty without successful calls */
  readonly latency: ReadonlyArray<readonly [quantile: string, ms: number]>;
}

/** What a running operator offers the gauges: its rows as of now. */
interface OperationSource {
  rows(): readonly OperationRow[];
}

interface RegistryState {
  /** by pipeline label */
  readonly sources: Map<string, OperationSource>;
  readonly overflowSpans: Counter<'pipeline'>;
}

const states = new WeakMap<Registry, RegistryState>();

/** The gauges of one registry, filled from every registered source at scrape time. */
function registryState(registry: Registry): RegistryState {
  const known = states.get(registry);
  if (known) return known;
  const sources = new Map<string, OperationSource>();
  const rows = () => [...sources.values()].flatMap((s) => s.rows());
  const labelNames: OperationLabel[] = ['pipeline', 'service', 'operation', 'key', 'window'];
  const gauge = (name: string, help: string, fill: (g: Gauge<OperationLabel>, row: OperationRow) => void) => {
    const g: Gauge<OperationLabel> = new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        g.reset();
        for (const row of rows()) fill(g, row);
      },
    });
  };
  gauge('sidelight_operation_calls', 'Calls of the operation in the window', (g, r) => g.set(r.labels, r.calls));
  gauge('sidelight_operation_failure_rate', 'Failed calls / calls of the operation in the window (absent without calls)', (g, r) => {
    if (r.failureRate !== undefined) g.set(r.labels, r.failureRate);
  });
  gauge('sidelight_operation_retry_rate', 'Retries (calls with attempt > 1) of the operation per minute over the window', (g, r) => g.set(r.labels, r.retryRate));
  const latency: Gauge<OperationLabel | 'quantile'> = new Gauge({
    name: 'sidelight_operation_latency_ms',
    help: 'Latency percentiles of successful calls of the operation in the window, ms (absent without successful calls)',
    labelNames: [...labelNames, 'quantile'],
    registers: [registry],
    collect() {
      latency.reset();
      for (const row of rows()) for (const [quantile, ms] of row.latency) latency.set({ ...row.labels, quantile }, ms);
    },
  });
  const state: RegistryState = {
    sources,
    overflowSpans: new Counter({
      name: 'sidelight_operation_metrics_overflow_spans_total',
      help: 'Spans counted in the __overflow__ operation because the operation metrics cap was reached',
      labelNames: ['pipeline'],
      registers: [registry],
    }),
  };
  states.set(registry, state);
  return state;
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
    // kc attempt spans have apportioned times: their durations measure nothing
    else if (!isSynthetic(span)) acc.latency.add(span.durationMs);
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

/** An operation's figures on one window, as the feed reports them (the p95 is the gauge's). */
function figureOf(spec: WindowSpec, acc: OperationAcc): OperationFigures['windows'][number] {
  return {
    window: spec.name,
    calls: acc.calls,
    failures: acc.failures,
    retriesPerMinute: acc.retries / (spec.sizeMs / 60_000),
    p95Ms: acc.latency.count > 0 ? acc.latency.quantile(0.95) : null,
  };
}

function rowOf(labels: OperationLabels, spec: WindowSpec, acc: OperationAcc): OperationRow {
  return {
    labels,
    calls: acc.calls,
    retryRate: acc.retries / (spec.sizeMs / 60_000),
    failureRate: acc.calls > 0 ? acc.failures / acc.calls : undefined,
    latency: acc.latency.count > 0 ? QUANTILES.map(([quantile, q]) => [quantile, acc.latency.quantile(q)] as const) : [],
  };
}

/**
 * An operator over the pipeline's event stream that keeps per-operation windows and offers them to
 * the registry's operation gauges. It emits nothing and completes with its input (the last
 * figures stay on `/metrics`); subscribe it beside the detectors.
 */
export function operationMetrics(options: OperationMetricsOptions): (events$: Observable<PipelineEvent>) => Observable<never> {
  return (events$) =>
    defer(() => {
      const state = registryState(options.registry);
      const pipeline = options.pipeline ?? '';
      const { slide, allowed_lateness: lateness } = options.settings.windows;
      // Fine windows only: a series is dropped once it leaves the longest of them, not after 24 h.
      const windows = new SeriesWindows<OperationAcc, SpanRecord>({
        aggregator: operationAggregator,
        windows: { ...options.settings.windows, coarse_sizes: [] },
        maxSeries: options.maxOperations ?? operationMetricsConfigSchema.parse({}).max_operations,
        name: options.name ?? 'operation_metrics',
        judging: 'every', // read at scrape time, never judged: no agenda
        metrics: options.registry,
      });
      const specs = windows.specs;
      /** panes ending at or before it are closed: the latest watermark, or the one the spans imply */
      let boundary = Number.NEGATIVE_INFINITY;
      /** rows as of `cachedAt` (a change counter), so the four gauges of one scrape share one computation */
      let cached: readonly OperationRow[] = [];
      let cachedAt = -1;
      let changes = 0;

      /** Every operation with a call in some window ending at `at`, with those windows (cached merges: read only). */
      const operationsAt = (at: number) => {
        const out: { readonly labels: Omit<OperationLabels, 'window'>; readonly accs: readonly OperationAcc[] }[] = [];
        for (const series of windows.all()) {
          const accs = specs.map((spec) => series.window(spec, at));
          // Aged out of every window (or only data in still-open panes): not reported.
          if (!accs.some((acc) => acc.calls > 0)) continue;
          const overflow = series.key === OVERFLOW_KEY;
          out.push({
            labels: {
              pipeline,
              service: overflow ? '__overflow__' : series.subject.service,
              operation: overflow ? '__overflow__' : (series.subject.operation ?? ''),
              key: keyText(series.subject, series.key),
            },
            accs,
          });
        }
        return out;
      };

      const feed = options.feed;
      const moveTo = (time: number) => {
        const next = paneStart(time, slide);
        if (!(next > boundary)) return;
        // The feed gets each crossed boundary, but no more than it keeps: a long jump costs no more than a short one.
        const first = feed && boundary !== Number.NEGATIVE_INFINITY ? Math.max(boundary + slide, next - (feed.keep - 1) * slide) : next;
        boundary = next;
        changes++;
        for (let b = first; b <= next; b += slide) {
          // Panes before every window ending at `b` go first; series left with none are dropped.
          windows.advance(b);
          feed?.record(
            b,
            operationsAt(b).map(({ labels, accs }) => ({ key: labels.key, service: labels.service, operation: labels.operation, windows: specs.map((spec, i) => figureOf(spec, accs[i] as OperationAcc)) })),
          );
        }
      };

      const rows = (): readonly OperationRow[] => {
        if (cachedAt === changes) return cached;
        const out: OperationRow[] = [];
        if (boundary !== Number.NEGATIVE_INFINITY) {
          for (const { labels, accs } of operationsAt(boundary)) {
            specs.forEach((spec, i) => out.push(rowOf({ ...labels, window: spec.name }, spec, accs[i] as OperationAcc)));
          }
        }
        cached = out;
        cachedAt = changes;
        return out;
      };
      state.sources.set(pipeline, { rows });

      return events$.pipe(
        tap((event) => {
          if (event.type === 'span') {
            const before = windows.overflowed;
            windows.add([operationSubject(event.span)], event.span.endMs, event.span);
            if (windows.overflowed > before) state.overflowSpans.inc({ pipeline }, windows.overflowed - before);
            changes++;
            // The watermark the span implies, should no watermark event follow it for a while.
            moveTo(event.span.endMs - lateness);
          } else if (event.type === 'watermark') {
            moveTo(event.time);
          }
        }),
        ignoreElements(),
      );
    });
}

export const operationMetricsProcessorFactory: ProcessorFactory<OperationMetricsConfig> = {
  type: 'operation_metrics',
  stage: 'detector',
  configSchema: operationMetricsConfigSchema,
  create: (config, ctx) =>
    ctx.mode === 'offline'
      ? []
      : [
          {
            input: 'spans',
            operator: operationMetrics({
              settings: ctx.settings,
              registry: ctx.metrics,
              maxOperations: config.max_operations,
              pipeline: ctx.pipeline ?? ctx.id,
              name: ctx.id,
              ...(ctx.operationFigures ? { feed: ctx.operationFigures } : {}),
            }),
          },
        ],
};
