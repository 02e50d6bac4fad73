/**
 * The failure_rate operator: per-series windows of FailureAcc, judged at each watermark (the rate
 * and spike rules on window counts, the baseline read from a longer window), and offline the
 * whole input at the end.
 */
import { defer, type OperatorFunction } from 'rxjs';
import type { SpanRecord } from '../../src/model/span.js';
import type { Observation } from '../../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectKey } from '../../src/model/series.js';
import { SeriesWindows, shortestSummaryWith, type JudgedSeries, type SummarizedView } from '../../src/windows/series-windows.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import { eachEvent, judgeUpTo, oneShot, previously, type JudgeLoop } from '../../src/windows/judging.js';
import { checkBaselineWindow, type FailureRateConfig } from './config.js';
import { failureAggregator, TimeHistogram, type FailureAcc, type FailureCounts } from './accumulation.js';
import { baseline, confirmsBeyond, coveredInterval, unconfirmedRule, judged, judgedWindow, rateRule, rateSeverity, spikeCandidate, spikeRule, type Baseline } from './rules.js';
import { rateObservation, spikeObservation } from './evidence.js';
import { priceTableFor } from '../../src/model/cost.js';
import { CallTracker } from './calls.js';

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

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
  private readonly band: number;
  /** tells a retry from a new call, so a retried call's attempts count once */
  private readonly calls: CallTracker;

  constructor(
    private readonly config: FailureRateConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.offline = ctx.mode === 'offline';
    const prices = priceTableFor(ctx.settings.pricing);
    this.calls = new CallTracker(config.max_tracked_calls, ctx.metrics);
    this.windows = new SeriesWindows({
      aggregator: failureAggregator(config.max_exemplars, (span) => prices.usd(span), (span) => this.calls.count(span)),
      windows: ctx.settings.windows,
      maxSeries: config.max_series,
      name: ctx.id,
      metrics: ctx.metrics,
      keepAll: this.offline,
      judging: ctx.judging,
    });
    this.loop = { mode: ctx.judging ?? 'changed', judge: (view, boundary) => this.judgeSeries(view, boundary) };
    this.band = ctx.settings.painpoints.band;
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
          h = new TimeHistogram(this.ctx.settings.windows.slide, this.config.max_exemplars, (s) => this.calls.count(s));
          this.histograms.set(key, h);
        }
      }
      h.add(t, span);
    }
  }

  /** Both rules on one series at one boundary. */
  private judgeSeries(series: JudgedSeries<FailureAcc, FailureCounts>, boundary: number): Observation[] {
    const out: Observation[] = [];
    if (series.key === OVERFLOW_KEY) return out;
    // Nothing of this series is left in any window (offline keeps series after their panes expire).
    if (series.lastTimeMs < boundary - this.longestMs) return out;
    // Windows are probed and both rules tested on the panes' summed counts (window summaries); a
    // window is merged only when a rule fires, for its observation. The rules read nothing but
    // calls and failures.
    const min = this.config.min_samples;
    const found = shortestSummaryWith(series, this.specs, boundary, (c) => c.calls >= min, min);
    if (found) {
      // a rate that fired (or was high) keeps doing so until it drops below the band
      const was = previously(series, 'failure_rate');
      const wilson = rateRule(series.summary(found, boundary), this.config, was !== undefined, this.band);
      if (wilson && this.holdsOnLonger(series, found, boundary, was !== undefined)) {
        const severity = rateSeverity(wilson, this.config, was?.severity === 'high', this.band);
        out.push(rateObservation(series.subject, judgedWindow(found.name, series.summary(found, boundary), series.deferredWindow(found, boundary), wilson), boundary, this.config, severity));
      }
    }
    const spikeMin = this.config.spike_min_samples;
    const short = spikeMin === min ? found : shortestSummaryWith(series, this.specs, boundary, (c) => c.calls >= spikeMin, spikeMin);
    if (short) {
      const wilson = spikeCandidate(series.summary(short, boundary), this.config);
      if (wilson) {
        const base = this.baselineFor(series, short, boundary);
        if (base && spikeRule(wilson, base, this.config)) {
          out.push(spikeObservation(series.subject, judgedWindow(short.name, series.summary(short, boundary), series.deferredWindow(short, boundary), wilson), base, boundary, this.config));
        }
      }
    }
    return out;
  }

  /**
   * A failure rate is sustained (docs/painpoints.md: medium is sustained elevated failure): a short window's
   * rate holds only when the next longer window, once it holds min_samples calls beyond the judged
   * one, is over the line too. A burst of a few failures in one minute of background errors is
   * chance across the many windows judged; a real fault soon fills the longer window. A sudden
   * jump is failure_spike's. Until the longer window holds more than the judged one (a sidecar's
   * first minutes, a sparse operation), nothing confirms the rate: it must then hold at 99 %
   * confidence on its own (unconfirmedRule). The longest window has nothing longer to confirm it.
   */
  private holdsOnLonger(series: JudgedSeries<FailureAcc, FailureCounts>, found: WindowSpec, boundary: number, firing: boolean): boolean {
    const longer = this.specs[this.specs.indexOf(found) + 1];
    if (longer === undefined) return true;
    const judgedCounts = series.summary(found, boundary);
    const counts = series.summary(longer, boundary);
    if (!confirmsBeyond(counts, judgedCounts, this.config.min_samples)) return unconfirmedRule(judgedCounts, this.config, firing, this.band);
    return rateRule(counts, this.config, firing, this.band) !== undefined;
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
        const wilson = rateRule(acc, this.config);
        if (wilson) out.push(rateObservation(view.subject, judged('all', acc, wilson), time, this.config));
      }
      const h = this.histograms.get(view.key);
      if (!h || !(span > 0)) continue;
      const early = h.counts(this.firstMs, this.firstMs + span / 2);
      const late = h.counts(this.firstMs + (3 * span) / 4, this.lastMs);
      if (late.calls < this.config.spike_min_samples || early.calls < this.config.spike_min_samples) continue;
      // judged and described on the last quarter's own spans: its error classes, time and exemplars
      const j = judged('all', late);
      const base = baseline('first half of the input', early);
      if (spikeRule(j.wilson, base, this.config)) {
        out.push(spikeObservation(view.subject, j, base, time, this.config, 'in the last quarter of the input'));
      }
    }
    return out;
  }
}

/** The failure_rate / failure_spike operator over the event-time stream. */
export function failureRate(config: FailureRateConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  checkBaselineWindow(config, ctx);
  return (source) =>
    defer(() => {
      const detector = new FailureRateDetector(config, ctx);
      return source.pipe(eachEvent((event: PipelineEvent) => detector.handle(event)));
    });
}
