/**
 * The retry_patterns operator: trace calls and chains into per-series windows, each series judged
 * at each watermark on the shortest window every rule needs (window counts first, a window merged
 * only when a rule needs it), and offline the whole input at the end.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { ComponentContext } from '../../src/component/contracts.js';
import type { Judgement, TraceStreamEvent } from '../../src/model/events.js';
import { judgeUpTo, oneShot, previously, type JudgeLoop } from '../../src/windows/judging.js';
import type { Observation, PainPointKind, Subject } from '../../src/model/painpoint.js';
import { OVERFLOW_SUBJECT, subjectLabel } from '../../src/model/series.js';
import { SeriesWindows, type SeriesView, type SummarizedView } from '../../src/windows/series-windows.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import type { SpanRecord } from '../../src/model/span.js';
import { priceTableFor } from '../../src/model/cost.js';
import type { RetryPatternsConfig } from './config.js';
import { addTrace, retryStatsAggregator, type RetryCounts, type RetryInput, type RetryStats } from './stats.js';
import { baselineSpec, exhaustionFires, judgeAmplification, judgeExhaustion, judgeNoBackoff, judgeNonRetryable, judgeStormRate, NOT_HELD, stormRate, type Finding, type Held } from './rules.js';
import { observation } from './evidence.js';

/**
 * Judges one series at a boundary on its windows; every rule picks its own shortest sufficient
 * window. Windows are probed by their counts (RetryCounts, summed from the panes) and a window is
 * merged only when a rule's counts say it fires or the rule needs more than counts: profiling
 * NativeAgentLightning on an 80 h kc replay showed the merges of windows that were only counted
 * (retryStatsAggregator.merge, its Maps and histograms) at ~40 % of retry_patterns' time.
 * `reads` receives the summary of every window read (a window's summary is the same object while
 * its merge is the same, so they stand for the merges too).
 */
function judgeSeries(
  view: SummarizedView<RetryStats, RetryCounts>,
  specs: readonly WindowSpec[],
  boundary: number,
  config: RetryPatternsConfig,
  held: (kind: PainPointKind) => Held = () => NOT_HELD,
  reads = new Map<WindowSpec, RetryCounts>(),
): Observation[] {
  const counts = (spec: WindowSpec): RetryCounts => {
    let c = reads.get(spec);
    if (c === undefined) reads.set(spec, (c = view.summary(spec, boundary)));
    return c;
  };
  const full = (spec: WindowSpec): { spec: WindowSpec; acc: RetryStats } => {
    counts(spec);
    return { spec, acc: view.window(spec, boundary) };
  };
  /** the shortest window `enough`; with `gate`, windows short of that many calls are probed by count only */
  const pick = (enough: (c: RetryCounts) => boolean, gate = 0): WindowSpec | undefined => {
    for (const spec of specs) {
      if (gate > 0 && !view.atLeast(spec, boundary, gate)) continue;
      if (enough(counts(spec))) return spec;
    }
    return undefined;
  };
  const label = subjectLabel(view.subject);
  const out: Observation[] = [];
  const emit = (f: Finding | undefined, w: { spec: WindowSpec; acc: RetryStats } | undefined) => {
    if (f !== undefined && w !== undefined) out.push(observation(f, view.subject, w.spec.name, boundary, w.acc.runs));
  };

  // retry_storm: the rate rule first (it says more), else amplification.
  let storm: Finding | undefined;
  let stormWindow: { spec: WindowSpec; acc: RetryStats } | undefined;
  const shortSpec = pick((c) => c.calls >= config.min_samples, config.min_samples);
  if (shortSpec !== undefined) {
    const longSpec = baselineSpec(specs, shortSpec, config.baseline_window_factor);
    if (longSpec !== undefined) {
      const long = { spec: longSpec, acc: counts(longSpec) };
      if (stormRate({ spec: shortSpec, acc: counts(shortSpec) }, long, config) !== undefined) {
        stormWindow = full(shortSpec);
        storm = judgeStormRate(stormWindow, long, label, config);
      }
    }
  }
  if (storm === undefined) {
    const spec = pick((c) => c.amplifiedChains >= config.amplification_min_chains, config.amplification_min_chains);
    stormWindow = spec && full(spec);
    storm = stormWindow && judgeAmplification(stormWindow.acc, label, config);
  }
  emit(storm, stormWindow);

  const exSpec = pick((c) => c.calls >= config.min_samples && c.chains >= config.exhaustion_min_chains, config.min_samples);
  // judgeExhaustion's share test on counts first
  if (exSpec !== undefined && exhaustionFires(counts(exSpec).exhausted / counts(exSpec).chains, config, held('retry_exhaustion'))) {
    const ex = full(exSpec);
    emit(judgeExhaustion(ex.acc, label, config, held('retry_exhaustion')), ex);
  }
  const nrSpec = pick((c) => c.calls >= config.min_samples && c.nonRetryableRetries >= config.non_retryable_min_retries, config.min_samples);
  if (nrSpec !== undefined) {
    const nr = full(nrSpec);
    emit(judgeNonRetryable(nr.acc, label, config, held('retry_non_retryable')), nr);
  }
  const nbSpec = pick((c) => c.calls >= config.min_samples && c.timedChains >= config.no_backoff_min_chains, config.min_samples);
  if (nbSpec !== undefined) {
    const nb = full(nbSpec);
    emit(judgeNoBackoff(nb.acc, label, config), nb);
  }
  return out;
}

/** Offline: the whole input, judged once at the end (no rate baseline there: amplification only for storms). */
function judgeWhole(view: SeriesView<RetryStats>, time: number, config: RetryPatternsConfig): Observation[] {
  const s = view.all();
  if (s === undefined) return [];
  const label = subjectLabel(view.subject);
  const out: Observation[] = [];
  for (const f of [
    judgeAmplification(s, label, config),
    judgeExhaustion(s, label, config),
    judgeNonRetryable(s, label, config),
    judgeNoBackoff(s, label, config),
  ]) {
    if (f !== undefined) out.push(observation(f, view.subject, 'all', time, s.runs));
  }
  return out;
}

function isOverflow(subject: Subject): boolean {
  return subject.service === OVERFLOW_SUBJECT.service;
}

export function retryPatterns(config: RetryPatternsConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  const dimensions = ctx.settings.series.dimensions;
  const prices = priceTableFor(ctx.settings.pricing);
  const costOf = (span: SpanRecord) => prices.usd(span);
  return (source) =>
    new Observable<Judgement>((subscriber) => {
      const windows = new SeriesWindows<RetryStats, RetryInput, RetryCounts>({
        aggregator: retryStatsAggregator,
        windows: ctx.settings.windows,
        maxSeries: ctx.settings.series.max_series,
        name: 'retry_patterns',
        metrics: ctx.metrics,
        keepAll: ctx.mode === 'offline',
        judging: ctx.judging,
      });
      const loop: JudgeLoop<RetryStats, RetryCounts> = {
        mode: ctx.judging ?? 'changed',
        order: 'key',
        judge: (view, boundary) => {
          if (isOverflow(view.subject)) return [];
          // a threshold passed at the previous judgement is held by its band (docs/painpoints.md)
          const held = (kind: PainPointKind): Held => ({ was: previously(view, kind)?.severity, band: ctx.settings.painpoints.band });
          return judgeSeries(view, windows.specs, boundary, config, held);
        },
      };
      let lastBoundary = Number.NEGATIVE_INFINITY;
      const sorted = () => [...windows.all()].filter((v) => !isOverflow(v.subject)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return source.subscribe({
        next(event) {
          switch (event.type) {
            case 'trace':
              addTrace(windows, event.trace, dimensions, config, costOf);
              return;
            case 'watermark': {
              lastBoundary = event.time;
              const out: Judgement[] = [];
              judgeUpTo(windows, event.from, event.time, loop, out);
              for (const j of out) subscriber.next(j);
              return;
            }
            case 'end':
              if (ctx.mode === 'offline' && lastBoundary !== Number.NEGATIVE_INFINITY) {
                for (const view of sorted()) for (const o of judgeWhole(view, lastBoundary, config)) subscriber.next(oneShot(o));
              }
              return;
            case 'drain':
              return;
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
