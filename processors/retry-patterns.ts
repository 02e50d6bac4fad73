/**
 * Retry-pattern detectors (docs/painpoints.md): retry_storm, retry_exhaustion, retry_non_retryable and
 * retry_no_backoff over the retry chains of assembled traces, windowed per series (the operation
 * series of the chain's first attempt + its group-by series), keyed on chain end time. The same
 * factory also contributes the provider_fallback detector (processors/provider-fallback.ts).
 *
 * Rules, judged at each watermark on the shortest window holding `min_samples` calls of the
 * operation and the rule's own minimum (offline also on the whole input):
 * - retry_storm (high): retries/min ≥ storm_min_per_minute and ≥ storm_factor × the baseline rate
 *   (the longer window minus the short one, which must itself hold min_samples calls); or
 *   ≥ amplification_min_chains outermost chains whose nested attempts multiply to ≥ amplification_min.
 * - retry_exhaustion: ≥ exhaustion_ratio of ≥ exhaustion_min_chains retried chains end in failure
 *   (medium; high at ≥ exhaustion_high_ratio).
 * - retry_non_retryable: ≥ non_retryable_min_retries retries after non-retryable errors (medium;
 *   high when they are ≥ non_retryable_high_share of the operation's calls).
 * - retry_no_backoff (medium): over ≥ no_backoff_min_chains chains with ≥ 2 measured gaps: median
 *   per-chain gap CV < no_backoff_max_cv and median successive gap ratio within
 *   [no_backoff_ratio_min, no_backoff_ratio_max]; or median gap < no_backoff_min_gap.
 */
import { z } from 'zod';
import { Observable, type OperatorFunction } from 'rxjs';
import type { ProcessorFactory, ComponentContext, Detector } from '../src/component/contracts.js';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import { judgeUpTo, oneShot, type JudgeLoop } from '../src/windows/judging.js';
import type { Observation, Severity, Subject, PainPointKind, EvidenceValue } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import type { Dimension } from '../src/model/series.js';
import { zDuration } from '../src/config/duration.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectKey, subjectLabel } from '../src/model/series.js';
import { SeriesWindows, type PaneAggregator, type SeriesView, type SummarizedView } from '../src/windows/series-windows.js';
import type { WindowSpec } from '../src/windows/window-spec.js';
import { findRetryChains, gapCv, gapRatios, retriesOf, type RetryChain } from '../src/traces/retry-chains.js';
import { walkTrace } from '../src/traces/trace-assembler.js';
import type { TraceNode } from '../src/model/trace.js';
import { priceTableFor } from '../src/model/cost.js';
import { QuantileSketch } from '../src/stats/quantile-sketch.js';
import { BY_ERROR_CLASS, countLabel, formatDuration, formatPercent, MAX_EXEMPLAR_TRACES, MAX_RUN_IDS, type Exemplar } from '../src/model/evidence-format.js';
import { providerFallbackDetector } from './provider-fallback.js';

export const retryPatternsConfigSchema = z.strictObject({
  /** calls of the operation a window must hold before any retry rule judges it (docs/painpoints.md) */
  min_samples: z.number().int().positive().default(20),
  /** retry_storm: retries per minute in the short window, at least */
  storm_min_per_minute: z.number().positive().default(10),
  /** retry_storm: … and at least this many times the baseline rate */
  storm_factor: z.number().positive().default(3),
  /** baseline window: the first window at least this many times longer than the short one (else the longest) */
  baseline_window_factor: z.number().positive().default(10),
  /** retry_storm by amplification: nested attempts multiply to at least this … */
  amplification_min: z.number().positive().default(6),
  /** … in at least this many outermost chains */
  amplification_min_chains: z.number().int().positive().default(5),
  exhaustion_min_chains: z.number().int().positive().default(10),
  exhaustion_ratio: z.number().min(0).max(1).default(0.2),
  exhaustion_high_ratio: z.number().min(0).max(1).default(0.5),
  non_retryable_min_retries: z.number().int().positive().default(5),
  /** retry_non_retryable is high when such retries are at least this share of the operation's calls */
  non_retryable_high_share: z.number().min(0).max(1).default(0.2),
  no_backoff_min_chains: z.number().int().positive().default(5),
  no_backoff_max_cv: z.number().positive().default(0.2),
  no_backoff_ratio_min: z.number().positive().default(0.8),
  no_backoff_ratio_max: z.number().positive().default(1.25),
  /** a median gap below this is no backoff whatever the ratios */
  no_backoff_min_gap: zDuration.default(100),
  /** provider_fallback: tasks (of the operation that tried the provider) a window must hold */
  fallback_min_tasks: z.number().int().positive().default(10),
  /** provider_fallback: fallbacks per task for medium … */
  fallback_per_task: z.number().positive().default(0.5),
  /** … and for low */
  fallback_per_task_low: z.number().positive().default(0.2),
});
export type RetryPatternsConfig = z.output<typeof retryPatternsConfigSchema>;

/** Caps on the per-pane tables (bounded memory). */
const MAX_LABELS = 32;
const MAX_RUNS = 100;
/** attempts above this go into one histogram bucket */
const MAX_ATTEMPTS_BUCKET = 10;

/** Windowed retry statistics of one series (one pane, or a merged window). */
export interface RetryStats {
  calls: number;
  failures: number;
  chains: number;
  retries: number;
  exhausted: number;
  attemptsHist: Map<string, number>;
  maxAttempts: number;
  wastedMs: number;
  wastedTokens: number;
  /** USD of the failed attempts whose cost is known, and the chains it was known for */
  wastedCostUsd: number;
  pricedChains: number;
  exhaustedWastedMs: number;
  errorClasses: Map<string, number>;
  nonRetryableRetries: number;
  nonRetryableByClass: Map<string, number>;
  nonRetryableWastedMs: number;
  timedChains: number;
  /** retry gaps (ms), gap coefficients of variation and successive gap ratios of timed chains */
  gaps: QuantileSketch;
  cvs: QuantileSketch;
  ratios: QuantileSketch;
  amplifiedChains: number;
  maxAmplification: number;
  nestedOperations: Map<string, number>;
  traces: number;
  runs: Set<string>;
  exemplars: { any: Exemplar[]; exhausted: Exemplar[]; nonRetryable: Exemplar[]; noBackoff: Exemplar[]; amplified: Exemplar[] };
}

/**
 * The counts the retry rules pick their windows by, and test before anything else: summed from
 * the panes without merging them (SeriesView.summary), so only a window a rule actually judges
 * is merged.
 */
export interface RetryCounts {
  calls: number;
  chains: number;
  retries: number;
  exhausted: number;
  nonRetryableRetries: number;
  timedChains: number;
  amplifiedChains: number;
}

export type RetryInput =
  | { readonly kind: 'call'; readonly span: SpanRecord }
  | { readonly kind: 'chain'; readonly chain: RetryChain; readonly firstInTrace: boolean; readonly config: RetryPatternsConfig; readonly wastedCostUsd?: number | undefined };

function newStats(): RetryStats {
  return {
    calls: 0,
    failures: 0,
    chains: 0,
    retries: 0,
    exhausted: 0,
    attemptsHist: new Map(),
    maxAttempts: 0,
    wastedMs: 0,
    wastedTokens: 0,
    wastedCostUsd: 0,
    pricedChains: 0,
    exhaustedWastedMs: 0,
    errorClasses: new Map(),
    nonRetryableRetries: 0,
    nonRetryableByClass: new Map(),
    nonRetryableWastedMs: 0,
    timedChains: 0,
    gaps: new QuantileSketch(),
    cvs: new QuantileSketch(),
    ratios: new QuantileSketch(),
    amplifiedChains: 0,
    maxAmplification: 0,
    nestedOperations: new Map(),
    traces: 0,
    runs: new Set(),
    exemplars: { any: [], exhausted: [], nonRetryable: [], noBackoff: [], amplified: [] },
  };
}

/** Adds to a label table; past MAX_LABELS labels, new ones count under OVERFLOW_LABEL. */
function count(table: Map<string, number>, label: string, n = 1): void {
  countLabel(table, label, n, MAX_LABELS);
}

function pushExemplar(list: Exemplar[], e: Exemplar): void {
  if (list.length < MAX_EXEMPLAR_TRACES && !list.some((x) => x.traceId === e.traceId)) list.push(e);
}

function addRun(runs: Set<string>, runId: string): void {
  if (runs.size < MAX_RUNS) runs.add(runId);
}

function addChain(s: RetryStats, chain: RetryChain, firstInTrace: boolean, config: RetryPatternsConfig, wastedCostUsd: number | undefined): void {
  const exemplar = { traceId: chain.traceId, spanId: chain.spans[0]?.span.spanId ?? '' };
  if (firstInTrace) s.traces++;
  addRun(s.runs, chain.runId);
  s.chains++;
  s.retries += retriesOf(chain);
  const bucket = chain.attempts > MAX_ATTEMPTS_BUCKET ? `${MAX_ATTEMPTS_BUCKET}+` : String(chain.attempts);
  s.attemptsHist.set(bucket, (s.attemptsHist.get(bucket) ?? 0) + 1);
  s.maxAttempts = Math.max(s.maxAttempts, chain.attempts);
  s.wastedMs += chain.wastedMs;
  s.wastedTokens += chain.wastedTokens;
  if (wastedCostUsd !== undefined) {
    s.wastedCostUsd += wastedCostUsd;
    s.pricedChains++;
  }
  pushExemplar(s.exemplars.any, exemplar);
  for (const a of chain.spans) if (a.failed) count(s.errorClasses, a.errorClass ?? 'unknown');
  if (chain.outcome === 'exhausted') {
    s.exhausted++;
    s.exhaustedWastedMs += chain.spans.reduce((sum, a) => sum + a.span.durationMs, 0);
    pushExemplar(s.exemplars.exhausted, exemplar);
  }
  if (chain.nonRetryableRetries > 0) {
    s.nonRetryableRetries += chain.nonRetryableRetries;
    for (let i = 0; i + 1 < chain.spans.length; i++) {
      const a = chain.spans[i];
      const next = chain.spans[i + 1];
      if (a === undefined || next === undefined || !a.nonRetryable) continue;
      count(s.nonRetryableByClass, a.errorClass ?? (a.httpStatus !== undefined ? `http_${a.httpStatus}` : 'unknown'));
      s.nonRetryableWastedMs += next.span.durationMs;
    }
    pushExemplar(s.exemplars.nonRetryable, exemplar);
  }
  if (chain.timed && chain.gapsMs.length >= 2) {
    s.timedChains++;
    for (const g of chain.gapsMs) s.gaps.add(g);
    s.cvs.add(gapCv(chain.gapsMs) as number);
    for (const r of gapRatios(chain.gapsMs)) s.ratios.add(r);
    pushExemplar(s.exemplars.noBackoff, exemplar);
  }
  if (chain.outer === undefined && chain.nested.length > 0 && chain.amplification >= config.amplification_min) {
    s.amplifiedChains++;
    s.maxAmplification = Math.max(s.maxAmplification, chain.amplification);
    for (const n of innermost(chain)) count(s.nestedOperations, n.operationKey);
    pushExemplar(s.exemplars.amplified, exemplar);
  }
}

/** The innermost chains below a chain (those with no nested chain of their own). */
function innermost(chain: RetryChain): RetryChain[] {
  const out: RetryChain[] = [];
  const stack = [...chain.nested];
  while (stack.length > 0) {
    const c = stack.pop() as RetryChain;
    if (c.nested.length === 0) {
      if (!out.some((o) => o.operationKey === c.operationKey)) out.push(c);
    } else stack.push(...c.nested);
  }
  return out;
}

function mergeMap(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, n] of from) count(into, k, n);
}

export const retryStatsAggregator: PaneAggregator<RetryStats, RetryInput, RetryCounts> = {
  create: newStats,
  // samples are calls and chains: a window with n calls, or n amplified chains, holds ≥ n of them
  weight: () => 1,
  summary: {
    create: () => ({ calls: 0, chains: 0, retries: 0, exhausted: 0, nonRetryableRetries: 0, timedChains: 0, amplifiedChains: 0 }),
    add(into, s) {
      into.calls += s.calls;
      into.chains += s.chains;
      into.retries += s.retries;
      into.exhausted += s.exhausted;
      into.nonRetryableRetries += s.nonRetryableRetries;
      into.timedChains += s.timedChains;
      into.amplifiedChains += s.amplifiedChains;
    },
  },
  add(s, input) {
    if (input.kind === 'call') {
      s.calls++;
      if (input.span.failed) s.failures++;
      return;
    }
    addChain(s, input.chain, input.firstInTrace, input.config, input.wastedCostUsd);
  },
  merge(into, from) {
    into.calls += from.calls;
    into.failures += from.failures;
    into.chains += from.chains;
    into.retries += from.retries;
    into.exhausted += from.exhausted;
    for (const [k, n] of from.attemptsHist) into.attemptsHist.set(k, (into.attemptsHist.get(k) ?? 0) + n);
    into.maxAttempts = Math.max(into.maxAttempts, from.maxAttempts);
    into.wastedMs += from.wastedMs;
    into.wastedTokens += from.wastedTokens;
    into.wastedCostUsd += from.wastedCostUsd;
    into.pricedChains += from.pricedChains;
    into.exhaustedWastedMs += from.exhaustedWastedMs;
    mergeMap(into.errorClasses, from.errorClasses);
    into.nonRetryableRetries += from.nonRetryableRetries;
    mergeMap(into.nonRetryableByClass, from.nonRetryableByClass);
    into.nonRetryableWastedMs += from.nonRetryableWastedMs;
    into.timedChains += from.timedChains;
    into.gaps.merge(from.gaps);
    into.cvs.merge(from.cvs);
    into.ratios.merge(from.ratios);
    into.amplifiedChains += from.amplifiedChains;
    into.maxAmplification = Math.max(into.maxAmplification, from.maxAmplification);
    mergeMap(into.nestedOperations, from.nestedOperations);
    into.traces += from.traces;
    for (const r of from.runs) addRun(into.runs, r);
    for (const key of ['any', 'exhausted', 'nonRetryable', 'noBackoff', 'amplified'] as const) {
      for (const e of from.exemplars[key]) pushExemplar(into.exemplars[key], e);
    }
  },
};

/** What a rule found on one window. */
interface Finding {
  readonly kind: PainPointKind;
  readonly severity: Severity;
  readonly title: string;
  readonly description: string;
  readonly metrics: Record<string, EvidenceValue>;
  readonly exemplars: readonly Exemplar[];
  readonly keyMetric: number;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function topLabels(table: Map<string, number>, n = 3): string {
  return [...table]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function table(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Figures every retry finding carries (names the categorize and recommend stages read). */
function commonMetrics(s: RetryStats): Record<string, EvidenceValue> {
  return {
    calls: s.calls,
    failures: s.failures,
    chains: s.chains,
    retries: s.retries,
    attempts_hist: table(s.attemptsHist),
    max_attempts: s.maxAttempts,
    exhausted_chains: s.exhausted,
    [BY_ERROR_CLASS]: table(s.errorClasses),
    wasted_ms: Math.round(s.wastedMs),
    wasted_tokens: s.wastedTokens,
    ...(s.pricedChains > 0 ? { wasted_cost_usd: Math.round(s.wastedCostUsd * 1e6) / 1e6 } : {}),
    affected_traces: s.traces,
    affected_runs: s.runs.size,
  };
}

function gapFigures(s: RetryStats): { medianGap?: number; ratio?: number; cv?: number } {
  const median = (sketch: QuantileSketch) => (sketch.count > 0 ? sketch.quantile(0.5) : undefined);
  return { medianGap: median(s.gaps), ratio: median(s.ratios), cv: median(s.cvs) };
}

function gapMetrics(s: RetryStats): Record<string, EvidenceValue> {
  const g = gapFigures(s);
  return {
    timed_chains: s.timedChains,
    median_gap_ms: g.medianGap === undefined ? null : Math.round(g.medianGap),
    gap_ratio: g.ratio === undefined ? null : round(g.ratio),
    gap_cv: g.cv === undefined ? null : round(g.cv, 3),
  };
}

export function judgeExhaustion(s: RetryStats, label: string, config: RetryPatternsConfig): Finding | undefined {
  if (s.calls < config.min_samples || s.chains < config.exhaustion_min_chains) return undefined;
  const share = s.exhausted / s.chains;
  if (share < config.exhaustion_ratio) return undefined;
  return {
    kind: 'retry_exhaustion',
    severity: share >= config.exhaustion_high_ratio ? 'high' : 'medium',
    title: `${formatPercent(share)} of retried ${label} chains end in failure after all attempts`,
    description:
      `${s.exhausted} of ${s.chains} retried ${label} chains failed on every attempt (up to ${s.maxAttempts} attempts), ` +
      `wasting ${formatDuration(s.exhaustedWastedMs)}; errors: ${topLabels(s.errorClasses) || 'unknown'}.`,
    metrics: { ...commonMetrics(s), share: round(share, 3), wasted_ms: Math.round(s.exhaustedWastedMs) },
    exemplars: s.exemplars.exhausted,
    keyMetric: share,
  };
}

export function judgeNonRetryable(s: RetryStats, label: string, config: RetryPatternsConfig): Finding | undefined {
  if (s.calls < config.min_samples || s.nonRetryableRetries < config.non_retryable_min_retries) return undefined;
  const share = s.nonRetryableRetries / s.calls;
  return {
    kind: 'retry_non_retryable',
    severity: share >= config.non_retryable_high_share ? 'high' : 'medium',
    title: `${label} is retried after errors a retry cannot fix (${s.nonRetryableRetries} retries)`,
    description:
      `${s.nonRetryableRetries} retries of ${label} followed non-retryable errors (${topLabels(s.nonRetryableByClass)}), ` +
      `${formatPercent(share)} of its ${s.calls} calls, wasting ${formatDuration(s.nonRetryableWastedMs)}.`,
    metrics: {
      ...commonMetrics(s),
      retries: s.nonRetryableRetries,
      all_retries: s.retries,
      share: round(share, 3),
      by_error_class: table(s.nonRetryableByClass),
      wasted_ms: Math.round(s.nonRetryableWastedMs),
    },
    exemplars: s.exemplars.nonRetryable,
    keyMetric: s.nonRetryableRetries,
  };
}

export function judgeNoBackoff(s: RetryStats, label: string, config: RetryPatternsConfig): Finding | undefined {
  if (s.calls < config.min_samples || s.timedChains < config.no_backoff_min_chains) return undefined;
  const { medianGap, ratio, cv } = gapFigures(s);
  if (medianGap === undefined || ratio === undefined || cv === undefined) return undefined;
  const fixed = cv < config.no_backoff_max_cv && ratio >= config.no_backoff_ratio_min && ratio <= config.no_backoff_ratio_max;
  const immediate = medianGap < config.no_backoff_min_gap;
  if (!fixed && !immediate) return undefined;
  const how = immediate ? `immediately (median gap ${formatDuration(medianGap)})` : `every ~${formatDuration(medianGap)} without backoff`;
  return {
    kind: 'retry_no_backoff',
    severity: 'medium',
    title: `${label} is retried ${how}`,
    description:
      `${label} is retried ${how} (${s.retries} retries in ${s.chains} chains, gap CV ${round(cv, 2)}, ` +
      `successive gap ratio ${round(ratio, 2)}; exponential backoff would give a ratio near 2).`,
    metrics: { ...commonMetrics(s), ...gapMetrics(s) },
    exemplars: s.exemplars.noBackoff,
    keyMetric: medianGap,
  };
}

export function judgeAmplification(s: RetryStats, label: string, config: RetryPatternsConfig): Finding | undefined {
  if (s.amplifiedChains < config.amplification_min_chains) return undefined;
  return {
    kind: 'retry_storm',
    severity: 'high',
    title: `${label} retries multiply across nested layers (×${s.maxAmplification})`,
    description:
      `${s.amplifiedChains} retried ${label} chains contain retried calls of their own (${topLabels(s.nestedOperations)}), ` +
      `so attempts multiply up to ×${s.maxAmplification}.`,
    metrics: { ...commonMetrics(s), amplification: s.maxAmplification, amplified_chains: s.amplifiedChains, nested_operations: table(s.nestedOperations) },
    exemplars: s.exemplars.amplified,
    keyMetric: s.maxAmplification,
  };
}

type CallsAndRetries = Pick<RetryStats, 'calls' | 'retries'>;

/** The storm rate rule on counts alone: the rates when it fires, else undefined. */
export function stormRate(
  short: { spec: WindowSpec; acc: CallsAndRetries },
  long: { spec: WindowSpec; acc: CallsAndRetries },
  config: RetryPatternsConfig,
): { perMin: number; basePerMin: number; baseMinutes: number } | undefined {
  const minutes = short.spec.sizeMs / 60_000;
  const perMin = short.acc.retries / minutes;
  if (perMin < config.storm_min_per_minute) return undefined;
  const baseMinutes = (long.spec.sizeMs - short.spec.sizeMs) / 60_000;
  const baseCalls = long.acc.calls - short.acc.calls;
  // No normal to compare with: a series that just appeared is not "far above normal" yet.
  if (baseMinutes <= 0 || baseCalls < config.min_samples) return undefined;
  const basePerMin = Math.max(0, long.acc.retries - short.acc.retries) / baseMinutes;
  if (perMin < config.storm_factor * basePerMin) return undefined;
  return { perMin, basePerMin, baseMinutes };
}

/** retries/min in `short` against the baseline: the longer window's part before the short one (only its counts are read). */
export function judgeStormRate(short: { spec: WindowSpec; acc: RetryStats }, long: { spec: WindowSpec; acc: CallsAndRetries }, label: string, config: RetryPatternsConfig): Finding | undefined {
  const rate = stormRate(short, long, config);
  if (rate === undefined) return undefined;
  const { perMin, basePerMin, baseMinutes } = rate;
  const s = short.acc;
  return {
    kind: 'retry_storm',
    severity: 'high',
    title: `${label} retries surged to ${round(perMin, 1)}/min (baseline ${round(basePerMin, 1)}/min)`,
    description:
      `${s.retries} retries of ${label} in ${short.spec.name} (${round(perMin, 1)}/min) against ${round(basePerMin, 1)}/min over the ` +
      `previous ${round(baseMinutes, 0)} min; ${s.exhausted} of ${s.chains} chains still failed, wasting ${formatDuration(s.wastedMs)}.`,
    metrics: {
      ...commonMetrics(s),
      retries_per_min: round(perMin),
      baseline_retries_per_min: round(basePerMin),
      baseline_window: long.spec.name,
      ...(s.amplifiedChains > 0 ? { amplification: s.maxAmplification } : {}),
    },
    exemplars: s.exemplars.any,
    keyMetric: perMin,
  };
}

function observation(f: Finding, subject: Subject, window: string, time: number, runs: Set<string>): Observation {
  return {
    kind: f.kind,
    subject,
    severity: f.severity,
    category: f.kind === 'retry_non_retryable' ? 'efficiency' : 'reliability',
    title: f.title,
    description: f.description,
    evidence: {
      window,
      metrics: f.metrics,
      exemplar_trace_ids: f.exemplars.map((e) => e.traceId),
      exemplar_span_ids: f.exemplars.map((e) => e.spanId),
    },
    keyMetric: f.keyMetric,
    time,
    runIds: [...runs].sort().slice(0, MAX_RUN_IDS),
  };
}

/** The baseline for a short window: the first at least `factor` × longer, else the longest longer one. */
export function baselineSpec(specs: readonly WindowSpec[], short: WindowSpec, factor: number): WindowSpec | undefined {
  const longer = specs.filter((s) => s.sizeMs > short.sizeMs);
  return longer.find((s) => s.sizeMs >= factor * short.sizeMs) ?? longer[longer.length - 1];
}

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
  if (exSpec !== undefined && counts(exSpec).exhausted / counts(exSpec).chains >= config.exhaustion_ratio) {
    const ex = full(exSpec);
    emit(judgeExhaustion(ex.acc, label, config), ex);
  }
  const nrSpec = pick((c) => c.calls >= config.min_samples && c.nonRetryableRetries >= config.non_retryable_min_retries, config.min_samples);
  if (nrSpec !== undefined) {
    const nr = full(nrSpec);
    emit(judgeNonRetryable(nr.acc, label, config), nr);
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

/** Adds one trace's calls and chains to the series windows. */
export function addTrace(
  windows: SeriesWindows<RetryStats, RetryInput, RetryCounts>,
  trace: import('../src/model/trace.js').Trace,
  dimensions: readonly Dimension[],
  config: RetryPatternsConfig,
  costOf?: (span: SpanRecord) => number | undefined,
): void {
  const nodes = new Map<string, TraceNode>();
  for (const { node } of walkTrace(trace)) {
    nodes.set(node.span.spanId, node);
    windows.add(seriesSubjects(node.span, dimensions), node.span.endMs, { kind: 'call', span: node.span });
  }
  const seen = new Set<string>();
  for (const chain of findRetryChains(trace)) {
    const first = chain.spans[0]?.span;
    if (first === undefined) continue;
    const wastedCostUsd = costOf !== undefined ? failedAttemptsCost(chain, nodes, costOf) : undefined;
    const subjects = seriesSubjects(first, dimensions);
    for (const subject of subjects) {
      const key = subjectKey(subject);
      const firstInTrace = !seen.has(key);
      seen.add(key);
      windows.add([subject], chain.endMs, { kind: 'chain', chain, firstInTrace, config, wastedCostUsd });
    }
  }
}

/** USD of the model calls in a chain's failed attempts (each attempt's subtree), undefined when none had a known cost. */
function failedAttemptsCost(chain: RetryChain, nodes: ReadonlyMap<string, TraceNode>, costOf: (span: SpanRecord) => number | undefined): number | undefined {
  let usd: number | undefined;
  for (const a of chain.spans) {
    if (!a.failed) continue;
    const stack = [nodes.get(a.span.spanId)];
    while (stack.length > 0) {
      const n = stack.pop();
      if (n === undefined) continue;
      const c = costOf(n.span);
      if (c !== undefined) usd = (usd ?? 0) + c;
      stack.push(...n.children);
    }
  }
  return usd;
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
        judge: (view, boundary) => (isOverflow(view.subject) ? [] : judgeSeries(view, windows.specs, boundary, config)),
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

export const retryPatternsProcessorFactory: ProcessorFactory<RetryPatternsConfig> = {
  type: 'retry_patterns',
  stage: 'detector',
  configSchema: retryPatternsConfigSchema,
  create(config, ctx): Detector[] {
    return [
      { input: 'traces', operator: retryPatterns(config, ctx) },
      { input: 'traces', operator: providerFallbackDetector(config, ctx) },
    ];
  },
};
