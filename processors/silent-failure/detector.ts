/**
 * silent_failure (docs/painpoints.md): per series, the rate of successful calls that did not do
 * their job, judged as failure rates are — on the shortest window holding ≥ min_samples judged
 * calls, by the Wilson 95 % lower bound (≥ lower_bound_threshold: medium; ≥ high_lower_bound:
 * high) — with the signals broken down in the evidence. Offline, `end` also judges the whole input.
 * The failure_rate processor keeps counting only real failures.
 */
import type { SpanRecord } from '../../src/model/span.js';
import { lazyObservation, type Observation, type Severity, type Subject } from '../../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectKey, subjectLabel } from '../../src/model/series.js';
import { SeriesWindows, shortestSummaryWith, type SummarizedView } from '../../src/windows/series-windows.js';
import { judgeUpTo, oneShot, type JudgeLoop } from '../../src/windows/judging.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import { wilsonInterval, type WilsonInterval } from '../../src/stats/wilson.js';
import { formatCount, formatDuration, formatPercent, windowPhrase } from '../../src/model/evidence-format.js';
import { formatUsd, priceTableFor, type PriceTable } from '../../src/model/cost.js';
import type { SilentFailureConfig } from './config.js';
import { silentClassifier, type SilentClassifier } from './signals.js';
import { signalBreakdown, silentAggregator, type SilentAcc, type SilentCounts, type SilentInput } from './accumulator.js';

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** What a signal means, for titles. */
const SIGNAL_TEXT: Readonly<Record<string, string>> = {
  length: 'cut off at the token limit',
  content_filter: 'withheld by a content filter',
  empty_output: 'answered with no output',
  tool_result_error: 'returned a result that says the call failed',
};

export class SilentFailureDetector {
  private readonly windows: SeriesWindows<SilentAcc, SilentInput, SilentCounts>;
  private readonly specs: readonly WindowSpec[];
  private readonly loop: JudgeLoop<SilentAcc, SilentCounts>;
  private readonly classifier: SilentClassifier;
  private readonly prices: PriceTable;
  private readonly offline: boolean;
  private readonly longestMs: number;
  private lastBoundary = Number.NEGATIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: SilentFailureConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.offline = ctx.mode === 'offline';
    this.windows = new SeriesWindows({
      aggregator: silentAggregator(config.max_exemplars),
      windows: ctx.settings.windows,
      maxSeries: Math.min(config.max_series, ctx.settings.series.max_series),
      name: ctx.id,
      metrics: ctx.metrics,
      keepAll: this.offline,
      judging: ctx.judging,
    });
    this.specs = this.windows.specs;
    this.longestMs = Math.max(...this.specs.map((s) => s.sizeMs)) + ctx.settings.windows.coarse_slide;
    this.loop = { mode: ctx.judging ?? 'changed', judge: (view, boundary) => this.judgeSeries(view, boundary) };
    this.classifier = silentClassifier(config);
    this.prices = priceTableFor(ctx.settings.pricing);
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
    if (!this.classifier.judged(span)) return;
    const signal = this.classifier.signal(span);
    const input: SilentInput = { span, signal, usd: signal === undefined ? undefined : this.prices.usd(span) };
    this.windows.add(seriesSubjects(span, this.ctx.settings.series.dimensions), span.endMs, input);
    if (span.endMs > this.lastMs) this.lastMs = span.endMs;
  }

  private judgeSeries(view: SummarizedView<SilentAcc, SilentCounts>, boundary: number): Observation[] {
    if (view.key === OVERFLOW_KEY) return [];
    if (view.lastTimeMs < boundary - this.longestMs) return [];
    const min = this.config.min_samples;
    const spec = shortestSummaryWith(view, this.specs, boundary, (c) => c.calls >= min, min);
    if (spec === undefined) return [];
    const c = view.summary(spec, boundary);
    const wilson = wilsonInterval(c.silent, c.calls);
    if (wilson.lower < this.config.lower_bound_threshold) return [];
    return [this.observation(view.subject, spec.name, view.window(spec, boundary), wilson, boundary)];
  }

  private judgeWholeInput(): Observation[] {
    const out: Observation[] = [];
    const time = Number.isFinite(this.lastBoundary) ? this.lastBoundary : this.lastMs;
    for (const view of this.windows.all()) {
      if (view.key === OVERFLOW_KEY) continue;
      const acc = view.all();
      if (acc === undefined || acc.calls < this.config.min_samples) continue;
      const wilson = wilsonInterval(acc.silent, acc.calls);
      if (wilson.lower >= this.config.lower_bound_threshold) out.push(this.observation(view.subject, 'all', acc, wilson, time));
    }
    return out;
  }

  private observation(subject: Subject, window: string, acc: SilentAcc, wilson: WilsonInterval, time: number): Observation {
    const rate = acc.calls > 0 ? acc.silent / acc.calls : 0;
    const severity: Severity = wilson.lower >= this.config.high_lower_bound ? 'high' : 'medium';
    const head = {
      kind: 'silent_failure' as const,
      subject,
      severity,
      category: 'reliability' as const,
      keyMetric: rate,
      time,
      figures: { calls: acc.calls, wilson_lower: round(wilson.lower) },
    };
    return lazyObservation(
      head,
      () => {
        const label = subjectLabel(subject);
        const signals = signalBreakdown(acc);
        const [dominant, dominantCount] = Object.entries(signals)[0] ?? ['length', 0];
        const traces = acc.affected?.traces.estimate() ?? 0;
        const runs = acc.affected?.runs.estimate() ?? 0;
        const costKnown = acc.pricedSilent > 0;
        const cutoff =
          acc.cutoffCalls > 0
            ? ` Cut-off answers had up to ${formatCount(acc.cutoffMaxOutput)} output tokens (about the max_tokens they were given) after ${formatCount(Math.round(acc.cutoffInputTokens / acc.cutoffCalls))} input tokens on average.`
            : '';
        return {
          title: `${formatPercent(rate)} of ${label} calls reported success but did not do their job (mostly ${SIGNAL_TEXT[dominant] ?? dominant}) ${windowPhrase(window)}`,
          description:
            `${acc.silent} of ${acc.calls} successful calls of ${label} ${windowPhrase(window)} were silent failures ` +
            `(${formatPercent(rate)}, Wilson 95 % interval ${formatPercent(wilson.lower)}–${formatPercent(wilson.upper)}, threshold ${formatPercent(this.config.lower_bound_threshold)} on the lower bound): ` +
            `${Object.entries(signals)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ')}; ${dominantCount} ${SIGNAL_TEXT[dominant] ?? dominant}. They took ${formatDuration(acc.wastedMs)} and ${formatCount(acc.wastedTokens)} tokens` +
            `${costKnown ? ` (${formatUsd(acc.wastedCostUsd)})` : ''} in ${traces} trace${traces === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'}.${cutoff}`,
          evidence: {
            window,
            metrics: {
              calls: acc.calls,
              silent_failures: acc.silent,
              silent_rate: round(rate),
              wilson_lower: round(wilson.lower),
              wilson_upper: round(wilson.upper),
              by_signal: signals,
              dominant_signal: dominant,
              wasted_ms: round(acc.wastedMs, 1),
              wasted_tokens: acc.wastedTokens,
              ...(costKnown ? { wasted_cost_usd: round(acc.wastedCostUsd, 6) } : {}),
              ...(acc.cutoffCalls > 0 ? { cutoff_max_output_tokens: acc.cutoffMaxOutput, cutoff_mean_input_tokens: Math.round(acc.cutoffInputTokens / acc.cutoffCalls) } : {}),
              affected_traces: traces,
              affected_runs: runs,
            },
            exemplar_trace_ids: acc.exemplars?.traceIds ?? [],
            exemplar_span_ids: acc.exemplars?.spanIds ?? [],
          },
        };
      },
      () => acc.affected?.runIds.slice() ?? [],
    );
  }
}
