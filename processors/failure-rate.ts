/**
 * failure_rate and failure_spike (docs/painpoints.md). Per series (docs/input.md) and window: calls, failures and
 * the Wilson 95 % interval of the failure rate.
 *
 * - failure_rate: on the shortest window holding ≥ min_samples calls (docs/architecture.md, Event time and windows), the Wilson lower
 *   bound is ≥ lower_bound_threshold (medium; high at ≥ high_lower_bound).
 * - failure_spike: on the shortest window holding ≥ spike_min_samples calls, the lower bound is
 *   above the baseline's upper bound by ≥ spike_margin (high). The baseline is a longer window
 *   (`baseline_window`: 'longest' = the longest window whose baseline holds ≥ spike_min_samples
 *   calls, or a window name) minus the part it shares with the judged window, so a spike does not
 *   raise its own baseline.
 * - offline, at the end of input: failure_rate on the whole input; failure_spike with the last
 *   quarter of the input's time span judged against its first half (the quarter between is left
 *   out so a ramp-up belongs to neither).
 */
import { defer, mergeMap, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { SpanRecord } from '../src/model/span.js';
import { lazyObservation, type Observation, type Severity, type Subject } from '../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../src/model/events.js';
import type { ComponentContext, ProcessorFactory } from '../src/component/contracts.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectKey, subjectLabel } from '../src/model/series.js';
import {
  SeriesWindows,
  shortestSummaryWith,
  type PaneAggregator,
  type SummarizedView,
} from '../src/windows/series-windows.js';
import { paneStart, windowSpecs, type WindowSpec } from '../src/windows/window-spec.js';
import { judgeUpTo, oneShot, type JudgeLoop } from '../src/windows/judging.js';
import { wilsonInterval, type WilsonInterval } from '../src/stats/wilson.js';
import { BY_ERROR_CLASS, MAX_RUN_IDS, formatDuration, formatPercent, windowPhrase } from '../src/model/evidence-format.js';
import { AffectedSet, ExemplarList, LabelCounts, spanDuration, spanTokens } from './failure-evidence.js';
import { priceTableFor } from '../src/model/cost.js';

export const failureRateConfigSchema = z
  .strictObject({
    /** no judgement on fewer calls than this in the window (docs/painpoints.md) */
    min_samples: z.number().int().positive().default(20),
    /** failure_rate fires when the Wilson 95 % lower bound reaches this */
    lower_bound_threshold: z.number().min(0).max(1).default(0.1),
    /** … and is high from this lower bound up */
    high_lower_bound: z.number().min(0).max(1).default(0.5),
    /** failure_spike fires when short-window lower bound − baseline upper bound reaches this */
    spike_margin: z.number().min(0).max(1).default(0.15),
    /** calls needed in the short window and in the baseline to judge a spike; 0 = min_samples */
    spike_min_samples: z.number().int().min(0).default(0),
    /**
     * 'longest' (the longest window with a baseline of spike_min_samples calls) or a window name
     * such as '1h'; a named window judges spikes only on windows shorter than itself
     */
    baseline_window: z.string().min(1).default('longest'),
    /** cap on tracked series; further series go to `__overflow__`, which is never reported */
    max_series: z.number().int().positive().default(5_000),
    /** exemplar trace ids per observation */
    max_exemplars: z.number().int().min(0).max(50).default(5),
  })
  .transform((c) => ({ ...c, spike_min_samples: c.spike_min_samples > 0 ? c.spike_min_samples : c.min_samples }));
export type FailureRateConfig = z.output<typeof failureRateConfigSchema>;

/** Breakdown label caps per pane: enough for the top 10 shown, bounded for memory. */
const MAX_BREAKDOWN_LABELS = 32;
/** label for failed spans that carry no error class */
export const UNKNOWN_ERROR_CLASS = 'unknown';

export interface FailureCounts {
  calls: number;
  failures: number;
}

/** Evidence of the failed spans; allocated on a pane's first failure, so healthy panes stay small. */
export interface FailureDetail {
  readonly byErrorClass: LabelCounts;
  readonly byProvider: LabelCounts;
  readonly affected: AffectedSet;
  readonly exemplars: ExemplarList;
}

export interface FailureAcc extends FailureCounts {
  /** time spent in failed calls */
  wastedMs: number;
  /** tokens used by failed calls */
  wastedTokens: number;
  /** USD of failed calls whose cost is known, and how many they are */
  wastedCostUsd: number;
  pricedFailures: number;
  /** evidence of the spans added to this accumulator itself (panes, whole input) */
  own: FailureDetail | undefined;
  /**
   * Accumulators merged into this one, whose evidence is merged only when asked for
   * (failureDetail): windows are merged at every boundary for their counts, evidence is needed
   * only for the few that fire. The parts are read at once, before their panes change.
   */
  parts: FailureAcc[] | undefined;
}

function newDetail(maxExemplars: number): FailureDetail {
  return {
    byErrorClass: new LabelCounts(MAX_BREAKDOWN_LABELS),
    byProvider: new LabelCounts(MAX_BREAKDOWN_LABELS),
    affected: new AffectedSet(),
    exemplars: new ExemplarList(maxExemplars),
  };
}

function mergeDetail(into: FailureDetail, from: FailureDetail): void {
  into.byErrorClass.merge(from.byErrorClass);
  into.byProvider.merge(from.byProvider);
  into.affected.merge(from.affected);
  into.exemplars.merge(from.exemplars);
}

/** The evidence of the failed spans an accumulator holds, merged from its parts; undefined without failures. */
export function failureDetail(acc: FailureAcc, maxExemplars: number): FailureDetail | undefined {
  if (acc.failures === 0) return undefined;
  if (!acc.parts) return acc.own;
  const out = newDetail(maxExemplars);
  const visit = (a: FailureAcc) => {
    if (a.own) mergeDetail(out, a.own);
    for (const p of a.parts ?? []) visit(p);
  };
  visit(acc);
  return out;
}

/** The run ids failureDetail would list (same order, same cap), without merging the rest of the evidence. */
export function failureRunIds(acc: FailureAcc): string[] {
  const out: string[] = [];
  const visit = (a: FailureAcc) => {
    if (a.own) for (const id of a.own.affected.runIds) if (out.length < MAX_RUN_IDS && !out.includes(id)) out.push(id);
    for (const p of a.parts ?? []) visit(p);
  };
  if (acc.failures > 0) visit(acc);
  return out;
}

/**
 * Panes accumulate FailureAcc; a window's summary is its calls and failures, which is all the
 * failure_rate and failure_spike rules read (the rest is for the observation of a window that fires).
 */
export function failureAggregator(maxExemplars: number, costOf: (span: SpanRecord) => number | undefined = () => undefined): PaneAggregator<FailureAcc, SpanRecord, FailureCounts> {
  return {
    create: () => ({ calls: 0, failures: 0, wastedMs: 0, wastedTokens: 0, wastedCostUsd: 0, pricedFailures: 0, own: undefined, parts: undefined }),
    summary: {
      create: () => ({ calls: 0, failures: 0 }),
      add(into, pane) {
        into.calls += pane.calls;
        into.failures += pane.failures;
      },
    },
    add(acc, span) {
      acc.calls++;
      if (!span.failed) return;
      acc.failures++;
      acc.wastedMs += spanDuration(span);
      acc.wastedTokens += spanTokens(span);
      const usd = costOf(span);
      if (usd !== undefined) {
        acc.wastedCostUsd += usd;
        acc.pricedFailures++;
      }
      const d = (acc.own ??= newDetail(maxExemplars));
      d.byErrorClass.add(span.errorClass || UNKNOWN_ERROR_CLASS);
      if (span.provider) d.byProvider.add(span.provider);
      d.affected.add(span);
      d.exemplars.add(span);
    },
    merge(into, from) {
      into.calls += from.calls;
      into.failures += from.failures;
      into.wastedMs += from.wastedMs;
      into.wastedTokens += from.wastedTokens;
      into.wastedCostUsd += from.wastedCostUsd;
      into.pricedFailures += from.pricedFailures;
      if (from.failures > 0) (into.parts ??= []).push(from);
    },
  };
}

/** Buckets kept per series for the offline first-half / last-quarter split. */
const MAX_TIME_BUCKETS = 256;

/**
 * Calls and failures over event time in at most 256 buckets: when the series' time span outgrows
 * them, buckets double in width and pair up. Offline only, so the whole input can be split by time
 * without keeping its spans.
 */
export class TimeHistogram {
  private buckets = new Map<number, FailureCounts>();
  private minIdx = Number.POSITIVE_INFINITY;
  private maxIdx = Number.NEGATIVE_INFINITY;

  constructor(private width: number) {}

  add(timeMs: number, failed: boolean): void {
    let idx = Math.floor(timeMs / this.width);
    const lo = Math.min(this.minIdx, idx);
    const hi = Math.max(this.maxIdx, idx);
    if (hi - lo >= MAX_TIME_BUCKETS) {
      this.coarsen(lo, hi);
      idx = Math.floor(timeMs / this.width);
    }
    this.minIdx = Math.min(this.minIdx, idx);
    this.maxIdx = Math.max(this.maxIdx, idx);
    let b = this.buckets.get(idx);
    if (!b) {
      b = { calls: 0, failures: 0 };
      this.buckets.set(idx, b);
    }
    b.calls++;
    if (failed) b.failures++;
  }

  /** counts of the buckets whose midpoint lies in [fromMs, toMs] */
  counts(fromMs: number, toMs: number): FailureCounts {
    const out = { calls: 0, failures: 0 };
    for (const [idx, b] of this.buckets) {
      const mid = (idx + 0.5) * this.width;
      if (mid >= fromMs && mid <= toMs) {
        out.calls += b.calls;
        out.failures += b.failures;
      }
    }
    return out;
  }

  private coarsen(lo: number, hi: number): void {
    let factor = 1;
    while (Math.floor(hi / factor) - Math.floor(lo / factor) >= MAX_TIME_BUCKETS) factor *= 2;
    const merged = new Map<number, FailureCounts>();
    for (const [idx, b] of this.buckets) {
      const to = Math.floor(idx / factor);
      const m = merged.get(to);
      if (m) {
        m.calls += b.calls;
        m.failures += b.failures;
      } else merged.set(to, { ...b });
    }
    this.buckets = merged;
    this.width *= factor;
    this.minIdx = Math.floor(this.minIdx / factor);
    this.maxIdx = Math.floor(this.maxIdx / factor);
  }
}

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

/** The judged numbers of one window (or the whole input). */
interface Judged {
  readonly window: string;
  readonly acc: FailureAcc;
  readonly rate: number;
  readonly wilson: WilsonInterval;
}

interface Baseline {
  readonly window: string;
  readonly counts: FailureCounts;
  readonly rate: number;
  readonly wilson: WilsonInterval;
}

function judged(window: string, acc: FailureAcc, wilson = wilsonInterval(acc.failures, acc.calls)): Judged {
  return { window, acc, rate: acc.calls > 0 ? acc.failures / acc.calls : 0, wilson };
}

function baseline(window: string, counts: FailureCounts): Baseline {
  return { window, counts, rate: counts.calls > 0 ? counts.failures / counts.calls : 0, wilson: wilsonInterval(counts.failures, counts.calls) };
}

/** The event-time interval [start, end) a window covers at a boundary (coarse windows end at their last closed pane). */
function coveredInterval(spec: WindowSpec, boundary: number): { start: number; end: number } {
  const end = paneStart(boundary, spec.paneMs);
  return { start: end - spec.sizeMs, end };
}

/** "codex (kc.task)" for a group-by series, "web_search" for an operation series named by its tool. */
function seriesLabel(subject: Subject): string {
  const label = subjectLabel(subject);
  const groupBy = subject.provider ?? subject.agent;
  return groupBy !== undefined && subject.operation !== undefined && label === groupBy ? `${label} (${subject.operation})` : label;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

class FailureRateDetector {
  private readonly windows: SeriesWindows<FailureAcc, SpanRecord, FailureCounts>;
  private readonly specs: readonly WindowSpec[];
  private readonly longestMs: number;
  private readonly offline: boolean;
  /** offline: per-series time histograms for the first-half / last-quarter split, keyed as the series */
  private readonly histograms = new Map<string, TimeHistogram>();
  private firstMs = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;
  private lastBoundary = Number.NEGATIVE_INFINITY;
  private readonly loop: JudgeLoop<FailureAcc, FailureCounts>;

  constructor(
    private readonly config: FailureRateConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.offline = ctx.mode === 'offline';
    const prices = priceTableFor(ctx.settings.pricing);
    this.windows = new SeriesWindows({
      aggregator: failureAggregator(config.max_exemplars, (span) => prices.usd(span)),
      windows: ctx.settings.windows,
      maxSeries: config.max_series,
      name: ctx.id,
      metrics: ctx.metrics,
      keepAll: this.offline,
      judging: ctx.judging,
    });
    this.loop = { mode: ctx.judging ?? 'changed', judge: (view, boundary) => this.judgeSeries(view, boundary) };
    this.specs = this.windows.specs;
    this.longestMs = Math.max(...this.specs.map((s) => s.sizeMs)) + ctx.settings.windows.coarse_slide;
  }

  handle(event: PipelineEvent): Judgement[] {
    switch (event.type) {
      case 'span':
        this.add(event.span);
        return [];
      case 'watermark': {
        const out: Judgement[] = [];
        judgeUpTo(this.windows, event.from, event.time, this.loop, out);
        this.lastBoundary = event.time;
        return out;
      }
      case 'end':
        return this.offline ? this.judgeWholeInput().map(oneShot) : [];
      default:
        return [];
    }
  }

  private add(span: SpanRecord): void {
    const t = span.endMs;
    const subjects = seriesSubjects(span, this.ctx.settings.series.dimensions);
    this.windows.add(subjects, t, span);
    if (!this.offline) return;
    if (t < this.firstMs) this.firstMs = t;
    if (t > this.lastMs) this.lastMs = t;
    for (const subject of subjects) {
      // Same keying as SeriesWindows (first max_series series, then __overflow__), so the two line up.
      let key = subjectKey(subject);
      let h = this.histograms.get(key);
      if (!h) {
        if (this.histograms.size >= this.config.max_series) key = OVERFLOW_KEY;
        h = this.histograms.get(key);
        if (!h) {
          h = new TimeHistogram(this.ctx.settings.windows.slide);
          this.histograms.set(key, h);
        }
      }
      h.add(t, span.failed);
    }
  }

  /** Both rules on one series at one boundary. */
  private judgeSeries(series: SummarizedView<FailureAcc, FailureCounts>, boundary: number): Observation[] {
    const out: Observation[] = [];
    if (series.key === OVERFLOW_KEY) return out;
    // Nothing of this series is left in any window (offline keeps series after their panes expire).
    if (series.lastTimeMs < boundary - this.longestMs) return out;
    {
      // Windows are probed and both rules tested on the panes' summed counts (window summaries); a
      // window is merged only when a rule fires, for its observation. The rules read nothing but
      // calls and failures.
      const min = this.config.min_samples;
      const found = shortestSummaryWith(series, this.specs, boundary, (c) => c.calls >= min, min);
      if (found) {
        const c = series.summary(found, boundary);
        const wilson = wilsonInterval(c.failures, c.calls);
        if (wilson.lower >= this.config.lower_bound_threshold) {
          out.push(this.rateObservation(series.subject, judged(found.name, series.window(found, boundary), wilson), boundary));
        }
      }
      const spikeMin = this.config.spike_min_samples;
      const short = spikeMin === min ? found : shortestSummaryWith(series, this.specs, boundary, (c) => c.calls >= spikeMin, spikeMin);
      if (short) {
        const c = series.summary(short, boundary);
        const wilson = wilsonInterval(c.failures, c.calls);
        // lower − upper ≥ margin needs lower ≥ margin: skip the baseline when it cannot hold.
        if (wilson.lower >= this.config.spike_margin) {
          const base = this.baselineFor(series, short, boundary);
          if (base && wilson.lower - base.wilson.upper >= this.config.spike_margin) {
            out.push(this.spikeObservation(series.subject, judged(short.name, series.window(short, boundary), wilson), base, boundary));
          }
        }
      }
    }
    return out;
  }

  /**
   * The baseline for a judged window: a longer window's counts minus the part it shares with the
   * judged window. The shared part is merged from the judged window's own panes, so it is exact
   * even when the baseline is a coarse window that ends earlier than a fine judged one.
   */
  private baselineFor(view: SummarizedView<FailureAcc, FailureCounts>, short: WindowSpec, boundary: number): Baseline | undefined {
    const longer = this.specs.filter((s) => s.sizeMs > short.sizeMs);
    const candidates =
      this.config.baseline_window === 'longest'
        ? [...longer].reverse()
        : longer.filter((s) => s.name === this.config.baseline_window);
    const judgedSpan = coveredInterval(short, boundary);
    for (const spec of candidates) {
      const long = view.summary(spec, boundary);
      const baseSpan = coveredInterval(spec, boundary);
      const start = Math.max(judgedSpan.start, baseSpan.start);
      const end = Math.min(judgedSpan.end, baseSpan.end);
      let counts: FailureCounts = { calls: long.calls, failures: long.failures };
      if (end > start) {
        const shared = view.summary({ name: 'shared', sizeMs: end - start, paneMs: short.paneMs }, end);
        counts = { calls: Math.max(0, long.calls - shared.calls), failures: Math.max(0, long.failures - shared.failures) };
      }
      if (counts.calls >= this.config.spike_min_samples) return baseline(`${spec.name} excluding ${short.name}`, counts);
    }
    return undefined;
  }

  private judgeWholeInput(): Observation[] {
    const out: Observation[] = [];
    const time = Number.isFinite(this.lastBoundary) ? this.lastBoundary : this.lastMs;
    const span = this.lastMs - this.firstMs;
    for (const view of this.windows.all()) {
      if (view.key === OVERFLOW_KEY) continue;
      const acc = view.all();
      if (!acc) continue;
      if (acc.calls >= this.config.min_samples) {
        const j = judged('all', acc);
        if (j.wilson.lower >= this.config.lower_bound_threshold) out.push(this.rateObservation(view.subject, j, time));
      }
      const h = this.histograms.get(view.key);
      if (!h || !(span > 0)) continue;
      const early = h.counts(this.firstMs, this.firstMs + span / 2);
      const late = h.counts(this.firstMs + (3 * span) / 4, this.lastMs);
      if (late.calls < this.config.spike_min_samples || early.calls < this.config.spike_min_samples) continue;
      const j = judged('all', { ...acc, calls: late.calls, failures: late.failures });
      const base = baseline('first half of the input', early);
      if (j.wilson.lower - base.wilson.upper >= this.config.spike_margin) {
        out.push(this.spikeObservation(view.subject, j, base, time, 'in the last quarter of the input'));
      }
    }
    return out;
  }

  private evidenceMetrics(j: Judged, d: FailureDetail | undefined): Record<string, Observation['evidence']['metrics'][string]> {
    return {
      calls: j.acc.calls,
      failures: j.acc.failures,
      failure_rate: round(j.rate),
      wilson_lower: round(j.wilson.lower),
      wilson_upper: round(j.wilson.upper),
      wasted_ms: round(j.acc.wastedMs, 1),
      wasted_tokens: j.acc.wastedTokens,
      ...(j.acc.pricedFailures > 0 ? { wasted_cost_usd: round(j.acc.wastedCostUsd, 6) } : {}),
      affected_traces: d ? d.affected.traces.estimate() : 0,
      affected_runs: d ? d.affected.runs.estimate() : 0,
      [BY_ERROR_CLASS]: d ? d.byErrorClass.record(10) : {},
      by_provider: d ? d.byProvider.record(10) : {},
    };
  }

  private exemplars(d: FailureDetail | undefined): Pick<Observation['evidence'], 'exemplar_trace_ids' | 'exemplar_span_ids'> {
    const e = d?.exemplars;
    return { exemplar_trace_ids: e ? e.traceIds : [], exemplar_span_ids: e ? e.spanIds : [] };
  }

  private rateObservation(subject: Subject, j: Judged, time: number): Observation {
    const severity: Severity = j.wilson.lower >= this.config.high_lower_bound ? 'high' : 'medium';
    const head = { kind: 'failure_rate' as const, subject, severity, category: 'reliability' as const, keyMetric: j.rate, time, figures: this.figures(j) };
    return lazyObservation(head, () => {
      const label = seriesLabel(subject);
      const d = failureDetail(j.acc, this.config.max_exemplars);
      const top = d?.byErrorClass.top();
      const traces = d?.affected.traces.estimate() ?? 0;
      const runs = d?.affected.runs.estimate() ?? 0;
      return {
        title: `${label} fails ${formatPercent(j.rate)} of calls (95 % lower bound ${formatPercent(j.wilson.lower)}) ${windowPhrase(j.window)}`,
        description:
          `${j.acc.failures} of ${j.acc.calls} calls of ${label} failed ${windowPhrase(j.window)} ` +
          `(failure rate ${formatPercent(j.rate)}, Wilson 95 % interval ${formatPercent(j.wilson.lower)}–${formatPercent(j.wilson.upper)}, ` +
          `threshold ${formatPercent(this.config.lower_bound_threshold)} on the lower bound)` +
          (top ? `; the most common error is ${top[0]} (${top[1]} of ${j.acc.failures})` : '') +
          `. Failed calls took ${formatDuration(j.acc.wastedMs)} in ${traces} trace${traces === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'}.`,
        evidence: {
          window: j.window,
          metrics: { ...this.evidenceMetrics(j, d), ...(top ? { dominant_error_class: top[0] } : {}) },
          ...this.exemplars(d),
        },
      };
    }, () => failureRunIds(j.acc));
  }

  /** What the categorize rules read, as the evidence states it. */
  private figures(j: Judged): { calls: number; wilson_lower: number } {
    return { calls: j.acc.calls, wilson_lower: round(j.wilson.lower) };
  }

  private spikeObservation(subject: Subject, j: Judged, base: Baseline, time: number, where = windowPhrase(j.window)): Observation {
    const head = { kind: 'failure_spike' as const, subject, severity: 'high' as const, category: 'reliability' as const, keyMetric: j.rate, time, figures: this.figures(j) };
    return lazyObservation(head, () => {
      const label = seriesLabel(subject);
      const d = failureDetail(j.acc, this.config.max_exemplars);
      const top = d?.byErrorClass.top();
      return {
        title: `${label} failures spiked to ${formatPercent(j.rate)} ${where}, from a baseline of ${formatPercent(base.rate)}`,
        description:
          `${j.acc.failures} of ${j.acc.calls} calls of ${label} failed ${where} (${formatPercent(j.rate)}, 95 % lower bound ${formatPercent(j.wilson.lower)}), ` +
          `against ${base.counts.failures} of ${base.counts.calls} in the baseline (${base.window}: ${formatPercent(base.rate)}, 95 % upper bound ${formatPercent(base.wilson.upper)}); ` +
          `the lower bound is ${formatPercent(j.wilson.lower - base.wilson.upper)} above the baseline's upper bound (margin ${formatPercent(this.config.spike_margin)})` +
          (top ? `. The most common error is ${top[0]} (${top[1]} of ${j.acc.failures}).` : '.'),
        evidence: {
          window: j.window,
          metrics: {
            ...this.evidenceMetrics(j, d),
            ...(top ? { dominant_error_class: top[0] } : {}),
            baseline_window: base.window,
            baseline_calls: base.counts.calls,
            baseline_failures: base.counts.failures,
            baseline_failure_rate: round(base.rate),
            baseline_wilson_lower: round(base.wilson.lower),
            baseline_wilson_upper: round(base.wilson.upper),
            spike_gap: round(j.wilson.lower - base.wilson.upper),
          },
          ...this.exemplars(d),
        },
      };
    }, () => failureRunIds(j.acc));
  }
}

/** A named baseline window must be one of the configured windows; checked when the detector is built. */
function checkBaselineWindow(config: FailureRateConfig, ctx: ComponentContext): void {
  if (config.baseline_window === 'longest') return;
  const names = windowSpecs(ctx.settings.windows).map((s) => s.name);
  if (!names.includes(config.baseline_window)) {
    throw new Error(
      `processors.failure_rate.baseline_window: no window named ${JSON.stringify(config.baseline_window)} (expected longest, ${names.join(', ')})`,
    );
  }
}

/** The failure_rate / failure_spike operator over the event-time stream. */
export function failureRate(config: FailureRateConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  checkBaselineWindow(config, ctx);
  return (source) =>
    defer(() => {
      const detector = new FailureRateDetector(config, ctx);
      return source.pipe(mergeMap((event) => detector.handle(event)));
    });
}

export const failureRateProcessorFactory: ProcessorFactory<FailureRateConfig> = {
  type: 'failure_rate',
  stage: 'detector',
  configSchema: failureRateConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: failureRate(config, ctx) }],
};
