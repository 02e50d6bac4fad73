/**
 * The retry rules on one window's statistics (docs/painpoints.md): each returns a Finding (kind,
 * severity, text, metrics, exemplars) or undefined; stormRate tests the storm rate on counts alone.
 */
import type { Severity } from '../../src/model/painpoint.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import type { QuantileSketch } from '../../src/stats/quantile-sketch.js';
import { formatDuration, formatPercent, type Exemplar } from '../../src/model/evidence-format.js';
import { NOT_HELD, reaches, type Held } from '../../src/windows/judging.js';

export { NOT_HELD, type Held };
import type { EvidenceMetrics, RetryChainMetrics } from '../../src/model/evidence/index.js';
import type { RetryPatternsConfig } from './config.js';
import type { RetryCounts, RetryStats } from './stats.js';

type RetryKind = 'retry_storm' | 'retry_exhaustion' | 'retry_non_retryable' | 'retry_no_backoff';

/** What a rule of kind K found on one window, its metrics typed as the kind's evidence. */
export interface FindingOf<K extends RetryKind> {
  readonly kind: K;
  readonly severity: Severity;
  readonly title: string;
  readonly description: string;
  readonly metrics: EvidenceMetrics<K>;
  readonly exemplars: readonly Exemplar[];
  readonly keyMetric: number;
}

/** What a rule found on one window. */
export type Finding = { [K in RetryKind]: FindingOf<K> }[RetryKind];

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** "31 % of its 420 calls": the share of the operation's calls a figure takes (the impact of docs/painpoints.md). */
function shareOfCalls(n: number, calls: number): string {
  return `${formatPercent(calls > 0 ? n / calls : 0)} of its ${calls} calls`;
}

function topLabels(table: Map<string, number>, n = 3): string {
  let text = '';
  for (const [k, v] of sortedLabels(table, (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1), n)) text += `${text === '' ? '' : ', '}${k} ${v}`;
  return text;
}

/** The first `n` entries of a label table in `order` (sorted only when it holds more than one). */
function sortedLabels(m: Map<string, number>, order: (a: [string, number], b: [string, number]) => number, n = Number.POSITIVE_INFINITY): [string, number][] {
  const entries = [...m];
  if (entries.length > 1) entries.sort(order);
  if (entries.length > n) entries.length = n;
  return entries;
}

const byLabel = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function table(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  // defined, not assigned: a label "__proto__" is a field (as Object.fromEntries made it)
  for (const [k, v] of sortedLabels(m, byLabel)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/**
 * Figures every retry finding carries (names the categorize and recommend stages read), with
 * `override`'s values in place of the common ones it names and its other fields after them; built
 * field by field, as the object spreads did (profiling the kc history showed the spreads and the
 * tables at most of a finding's cost).
 */
function commonMetrics<E extends object>(s: RetryStats, override: Partial<RetryChainMetrics> = {}, extra?: E): RetryChainMetrics & E {
  const m: Omit<RetryChainMetrics, 'affected_traces' | 'affected_runs'> & Partial<RetryChainMetrics> = {
    calls: s.calls,
    failures: s.failures,
    chains: s.chains,
    retries: override.retries ?? s.retries,
    attempts_hist: table(s.attemptsHist),
    max_attempts: s.maxAttempts,
    exhausted_chains: s.exhausted,
    by_error_class: override.by_error_class ?? table(s.errorClasses),
    wasted_ms: override.wasted_ms ?? Math.round(s.wastedMs),
    wasted_tokens: s.wastedTokens,
  };
  if (s.pricedChains > 0) m.wasted_cost_usd = Math.round(s.wastedCostUsd * 1e6) / 1e6;
  m.affected_traces = s.traces;
  m.affected_runs = s.runs.size;
  const full = m as RetryChainMetrics;
  return extra === undefined ? (full as RetryChainMetrics & E) : Object.assign(full, extra);
}

function gapFigures(s: RetryStats): { medianGap?: number; ratio?: number; cv?: number } {
  const median = (sketch: QuantileSketch) => (sketch.count > 0 ? sketch.quantile(0.5) : undefined);
  return { medianGap: median(s.gaps), ratio: median(s.ratios), cv: median(s.cvs) };
}

/**
 * retry_exhaustion: significant when exhaustion_ratio of the retried chains fail on every attempt;
 * its impact, the share of the operation's calls the exhausted chains' attempts are, makes it
 * medium or high from exhaustion_medium_share, else low (docs/painpoints.md: medium or high needs
 * impact — a missing file retried once, failing again, among thousands of reads is not one).
 */
export function judgeExhaustion(s: RetryStats, label: string, config: RetryPatternsConfig, held: Held = NOT_HELD): FindingOf<'retry_exhaustion'> | undefined {
  if (s.calls < config.min_samples || s.chains < config.exhaustion_min_chains) return undefined;
  const share = s.exhausted / s.chains;
  if (!exhaustionFires(share, config, held)) return undefined;
  return {
    kind: 'retry_exhaustion',
    severity: exhaustionSeverity(share, s.calls > 0 ? s.exhaustedAttempts / s.calls : 0, config, held),
    title: `${formatPercent(share)} of retried ${label} chains end in failure after all attempts`,
    description:
      `${s.exhausted} of ${s.chains} retried ${label} chains failed on every attempt (up to ${s.maxAttempts} attempts); ` +
      `their ${s.exhaustedAttempts} attempts are ${shareOfCalls(s.exhaustedAttempts, s.calls)} and took ${formatDuration(s.exhaustedWastedMs)}; ` +
      `errors of its retried attempts: ${topLabels(s.errorClasses) || 'unknown'}.`,
    metrics: commonMetrics(s, { wasted_ms: Math.round(s.exhaustedWastedMs) }, { share: round(share, 3), exhausted_attempts: s.exhaustedAttempts }),
    exemplars: s.exemplars.exhausted,
    keyMetric: share,
  };
}

/** What a rule decides from a window's counts alone: the head of the finding it makes on the window's merge. */
export interface CountedFinding {
  readonly kind: Finding['kind'];
  readonly severity: Severity;
  readonly keyMetric: number;
  /** the window's calls (the figure the categorize stage reads) */
  readonly calls: number;
}

/** judgeExhaustion on a window's counts: the kind, severity and key metric it states on the window's merge, or undefined when it does not fire. */
export function exhaustionOnCounts(c: RetryCounts, config: RetryPatternsConfig, held: Held = NOT_HELD): CountedFinding | undefined {
  if (c.calls < config.min_samples || c.chains < config.exhaustion_min_chains) return undefined;
  const share = c.exhausted / c.chains;
  if (!exhaustionFires(share, config, held)) return undefined;
  return { kind: 'retry_exhaustion', severity: exhaustionSeverity(share, c.calls > 0 ? c.exhaustedAttempts / c.calls : 0, config, held), keyMetric: share, calls: c.calls };
}

/** judgeNonRetryable on a window's counts (see exhaustionOnCounts). */
export function nonRetryableOnCounts(c: RetryCounts, config: RetryPatternsConfig, held: Held = NOT_HELD): CountedFinding | undefined {
  if (c.calls < config.min_samples || c.nonRetryableRetries < config.non_retryable_min_retries) return undefined;
  return { kind: 'retry_non_retryable', severity: nonRetryableSeverity(c.nonRetryableRetries / c.calls, config, held), keyMetric: c.nonRetryableRetries, calls: c.calls };
}

/** judgeStormRate on the short window's counts and its baseline's (see exhaustionOnCounts). */
export function stormRateOnCounts(
  short: { spec: WindowSpec; acc: RetryCounts },
  long: { spec: WindowSpec; acc: CallsAndRetries },
  config: RetryPatternsConfig,
): CountedFinding | undefined {
  const rate = stormRate(short, long, config);
  return rate === undefined ? undefined : { kind: 'retry_storm', severity: 'high', keyMetric: rate.perMin, calls: short.acc.calls };
}

/** retry_exhaustion's severity from the share of exhausted chains and their attempts' share of the calls (its impact). */
export function exhaustionSeverity(share: number, impact: number, config: RetryPatternsConfig, held: Held = NOT_HELD): Severity {
  if (!reaches(impact, config.exhaustion_medium_share, 'medium', held)) return 'low';
  return reaches(share, config.exhaustion_high_ratio, 'high', held) ? 'high' : 'medium';
}

/** retry_exhaustion's firing test on a share of exhausted chains (held by its band once it fired). */
export function exhaustionFires(share: number, config: RetryPatternsConfig, held: Held = NOT_HELD): boolean {
  return reaches(share, config.exhaustion_ratio, 'medium', held);
}

/**
 * retry_non_retryable: significant from non_retryable_min_retries retries; its impact, the share
 * of the operation's calls they are, makes it medium (non_retryable_medium_share) or high
 * (non_retryable_high_share), else low (docs/painpoints.md: medium or high needs impact).
 */
export function judgeNonRetryable(s: RetryStats, label: string, config: RetryPatternsConfig, held: Held = NOT_HELD): FindingOf<'retry_non_retryable'> | undefined {
  if (s.calls < config.min_samples || s.nonRetryableRetries < config.non_retryable_min_retries) return undefined;
  const share = s.nonRetryableRetries / s.calls;
  return {
    kind: 'retry_non_retryable',
    severity: nonRetryableSeverity(share, config, held),
    title: `${label} is retried after errors a retry cannot fix (${s.nonRetryableRetries} retries)`,
    description:
      `${s.nonRetryableRetries} retries of ${label} followed non-retryable errors (${topLabels(s.nonRetryableByClass)}), ` +
      `${shareOfCalls(s.nonRetryableRetries, s.calls)}, wasting ${formatDuration(s.nonRetryableWastedMs)}.`,
    metrics: commonMetrics(
      s,
      { retries: s.nonRetryableRetries, by_error_class: table(s.nonRetryableByClass), wasted_ms: Math.round(s.nonRetryableWastedMs) },
      { all_retries: s.retries, share: round(share, 3) },
    ),
    exemplars: s.exemplars.nonRetryable,
    keyMetric: s.nonRetryableRetries,
  };
}

/** retry_non_retryable's severity from the share of the calls its retries are (each level held by its band once reached). */
export function nonRetryableSeverity(share: number, config: RetryPatternsConfig, held: Held = NOT_HELD): Severity {
  if (reaches(share, config.non_retryable_high_share, 'high', held)) return 'high';
  return reaches(share, config.non_retryable_medium_share, 'medium', held) ? 'medium' : 'low';
}

export function judgeNoBackoff(s: RetryStats, label: string, config: RetryPatternsConfig): FindingOf<'retry_no_backoff'> | undefined {
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
      `${label} is retried ${how} (${s.retries} retries in ${s.chains} chains, ${shareOfCalls(s.retries, s.calls)}, gap CV ${round(cv, 2)}, ` +
      `successive gap ratio ${round(ratio, 2)}; exponential backoff would give a ratio near 2).`,
    metrics: commonMetrics(s, {}, { timed_chains: s.timedChains, median_gap_ms: Math.round(medianGap), gap_ratio: round(ratio), gap_cv: round(cv, 3) }),
    exemplars: s.exemplars.noBackoff,
    keyMetric: medianGap,
  };
}

export function judgeAmplification(s: RetryStats, label: string, config: RetryPatternsConfig): FindingOf<'retry_storm'> | undefined {
  if (s.amplifiedChains < config.amplification_min_chains) return undefined;
  return {
    kind: 'retry_storm',
    severity: 'high',
    title: `${label} retries multiply across nested layers (×${s.maxAmplification})`,
    description:
      `${s.amplifiedChains} retried ${label} chains contain retried calls of their own (${topLabels(s.nestedOperations)}), ` +
      `so attempts multiply up to ×${s.maxAmplification}; its ${s.retries} retries are ${shareOfCalls(s.retries, s.calls)}, wasting ${formatDuration(s.wastedMs)}.`,
    metrics: commonMetrics(s, {}, { amplification: s.maxAmplification, amplified_chains: s.amplifiedChains, nested_operations: table(s.nestedOperations) }),
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
export function judgeStormRate(
  short: { spec: WindowSpec; acc: RetryStats },
  long: { spec: WindowSpec; acc: CallsAndRetries },
  label: string,
  config: RetryPatternsConfig,
): FindingOf<'retry_storm'> | undefined {
  const rate = stormRate(short, long, config);
  if (rate === undefined) return undefined;
  const { perMin, basePerMin, baseMinutes } = rate;
  const s = short.acc;
  return {
    kind: 'retry_storm',
    severity: 'high',
    title: `${label} retries surged to ${round(perMin, 1)}/min (baseline ${round(basePerMin, 1)}/min)`,
    description:
      `${s.retries} retries of ${label} in ${short.spec.name} (${round(perMin, 1)}/min, ${shareOfCalls(s.retries, s.calls)}) against ${round(basePerMin, 1)}/min over the ` +
      `previous ${round(baseMinutes, 0)} min; ${s.exhausted} of ${s.chains} chains still failed, wasting ${formatDuration(s.wastedMs)}.`,
    metrics: commonMetrics(
      s,
      {},
      {
        retries_per_min: round(perMin),
        baseline_retries_per_min: round(basePerMin),
        baseline_window: long.spec.name,
        ...(s.amplifiedChains > 0 ? { amplification: s.maxAmplification } : {}),
      },
    ),
    exemplars: s.exemplars.any,
    keyMetric: perMin,
  };
}

/** The baseline for a short window: the first at least `factor` × longer, else the longest longer one. */
export function baselineSpec(specs: readonly WindowSpec[], short: WindowSpec, factor: number): WindowSpec | undefined {
  const longer = specs.filter((s) => s.sizeMs > short.sizeMs);
  return longer.find((s) => s.sizeMs >= factor * short.sizeMs) ?? longer[longer.length - 1];
}
