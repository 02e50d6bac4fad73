/** Advice for the retry kinds: retry_storm, retry_exhaustion, retry_non_retryable, retry_no_backoff. */
import { formatCount, formatDuration, formatNumber, formatPercent } from '../../model/evidence-format.js';
import { formatBreakdown } from '../format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate } from './types.js';
import { nonEmpty } from './failure-facts.js';

export const retryStormAdvice: AdviceTemplate<'retry_storm'> = (f): Advice => {
  const { retries_per_min: perMin, baseline_retries_per_min: baseline, amplification, retries } = f.m;
  const target = Math.max(10, Math.ceil((baseline ?? 0) * 1.5));
  const figures = [
    perMin !== undefined ? `${formatNumber(perMin)} retries/min` : undefined,
    baseline !== undefined ? `baseline ${formatNumber(baseline)}/min` : undefined,
    amplification !== undefined ? `nested attempts multiply to ×${formatNumber(amplification)}` : undefined,
    retries !== undefined ? `${formatCount(retries)} retries` : undefined,
  ].filter((s): s is string => s !== undefined);
  return {
    title: `Stop the retry storm on ${f.label}`,
    summary: `${f.label} is retried far above normal in ${f.window}${figures.length > 0 ? `: ${figures.join(', ')}` : ''}.`,
    steps: [
      `Retry at one layer only${amplification !== undefined ? ` (today nested layers multiply attempts ×${formatNumber(amplification)})` : ''}: remove retries from inner clients or outer task loops.`,
      `Add a retry budget: retries of ${f.label} may be at most 10 % of its calls per minute; beyond it fail fast.`,
      'Add a circuit breaker that opens after 5 consecutive failures and probes again after 30 s.',
      'Space the remaining retries with exponential backoff and full jitter.',
    ],
    acceptance: [criterion('retries_per_min', `retries per minute of ${f.label} below ${formatCount(target)} ${f.over}`)],
    do: [...COMMON_DO, 'Keep the retry policy in one shared place'],
    dont: [...COMMON_DONT, 'Do not add another retry layer'],
    outputs: ['one retry policy with a budget', 'a circuit breaker around the call'],
    effort: 'M',
  };
};

export const retryExhaustionAdvice: AdviceTemplate<'retry_exhaustion'> = (f): Advice => {
  const { chains, exhausted_chains: exhausted, wasted_ms: wasted } = f.m;
  const share = f.m.share ?? (chains && exhausted !== undefined ? exhausted / chains : undefined);
  const provider = f.pp.subject.provider;
  return {
    title: `Add a circuit breaker or fallback provider for ${f.label}`,
    summary:
      `${exhausted !== undefined && chains !== undefined ? `${formatCount(exhausted)} of ${formatCount(chains)} retried chains` : 'Retried chains'} of ${f.label} ended in failure after all attempts` +
      `${share !== undefined ? ` (${formatPercent(share)})` : ''} in ${f.window}${wasted !== undefined ? `, wasting ${formatDuration(wasted)}` : ''}.`,
    steps: [
      `Wrap ${f.label} in a circuit breaker: open when ≥ 50 % of calls fail over 30 s (min 10 calls), half-open after 30 s with one probe.`,
      `When the breaker is open or attempts are exhausted, switch to a fallback${provider ? ` provider other than ${provider}` : ' provider or a cached answer'} instead of failing the task.`,
      'Lower max attempts to 3: attempts past that rarely succeed here and cost time.',
    ],
    acceptance: [criterion('exhausted_chain_share', `fewer than 20 % of retried ${f.label} chains end in failure ${f.over}`)],
    do: [...COMMON_DO, 'Make the fallback visible as a span attribute'],
    dont: [...COMMON_DONT, 'Do not raise the number of attempts'],
    outputs: ['a circuit breaker around the call', 'a configured fallback'],
    effort: 'M',
  };
};

export const retryNonRetryableAdvice: AdviceTemplate<'retry_non_retryable'> = (f): Advice => {
  const byClass = nonEmpty(f.m.by_error_class);
  const seen = byClass ? formatBreakdown(byClass, 10) : (f.pp.subject.error_class ?? 'non-retryable errors');
  return {
    title: `Fail fast on non-retryable ${f.label} errors`,
    summary:
      `${f.m.retries !== undefined ? formatCount(f.m.retries) : 'Several'} retries of ${f.label} followed errors that cannot succeed on retry (${seen})` +
      `${f.m.share !== undefined ? `, ${formatPercent(f.m.share)} of its calls` : ''} in ${f.window}.`,
    steps: [
      'Classify errors before retrying: retryable = timeouts, network errors, 408, 429, 5xx; everything else fails fast.',
      `Stop retrying the classes seen here: ${seen}.`,
      'Surface the error to the caller with its class so the task fails with a clear reason.',
    ],
    acceptance: [criterion('non_retryable_retries', `0 retries after non-retryable errors (4xx other than 408/429, validation, auth) of ${f.label} ${f.over}`)],
    do: [...COMMON_DO, 'Keep the retryable list in one function with a test per class'],
    dont: [...COMMON_DONT, 'Do not retry 4xx answers other than 408 and 429'],
    outputs: ['an error classifier used by the retry policy', 'tests per error class'],
    effort: 'S',
  };
};

export const retryNoBackoffAdvice: AdviceTemplate<'retry_no_backoff'> = (f): Advice => {
  const { median_gap_ms: gap, retries, max_attempts: maxAttempts } = f.m;
  const baseMs = gap !== undefined && gap >= 250 ? Math.round(gap / 50) * 50 : 250;
  const capMs = Math.min(30_000, baseMs * 32);
  const attempts = maxAttempts !== undefined && maxAttempts >= 2 ? Math.min(5, Math.round(maxAttempts)) : 4;
  return {
    title: `Add exponential backoff with jitter to ${f.label} retries`,
    summary:
      `${retries !== undefined ? `${formatCount(retries)} retries` : 'Retries'} of ${f.label} came at fixed intervals` +
      `${gap !== undefined ? ` (median gap ${formatDuration(gap)})` : ''} in ${f.window}, with no backoff or jitter.`,
    steps: [
      `Wait delay = random(0, min(${formatCount(capMs)} ms, ${formatCount(baseMs)} ms × 2^attempt)) before each retry (full jitter).`,
      `Stop after ${attempts} attempts in all.`,
      'Honour Retry-After when the answer carries it, taking the longer of it and the computed delay.',
    ],
    acceptance: [
      criterion('retry_gap_growth', `${f.label} retry gaps grow ≥ 1.5× per attempt ${f.over}`),
      criterion('median_retry_gap', `median retry gap of ${f.label} ≥ ${formatCount(baseMs)} ms ${f.over}`),
    ],
    do: [...COMMON_DO, 'Inject the random source so tests are deterministic'],
    dont: [...COMMON_DONT, 'Do not sleep a fixed interval between attempts'],
    outputs: ['a backoff function with base, cap and max attempts as configuration'],
    effort: 'S',
  };
};
