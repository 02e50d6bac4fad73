/** Evidence of the retry kinds (processors/retry-patterns/rules.ts): every finding carries the chain figures. */
import { z } from 'zod';
import { affected, breakdown, count, fraction, millis, multiple, wasted, wastedCost, windowName } from './common.js';

/** The retry chains of the judged window, as every retry finding states them. */
const retryChains = {
  calls: count,
  failures: count,
  /** retried chains, and the retries in them */
  chains: count,
  retries: count,
  /** attempts per chain → chains */
  attempts_hist: breakdown,
  max_attempts: count,
  /** chains that failed on every attempt */
  exhausted_chains: count,
  /** failures by error class */
  by_error_class: breakdown,
  ...wasted,
  ...wastedCost,
  ...affected,
} as const;

export const retryStormMetricsSchema = z.strictObject({
  ...retryChains,
  /** a rate storm: retries per minute in the judged window against the baseline window's */
  retries_per_min: z.number().nonnegative().optional(),
  baseline_retries_per_min: z.number().nonnegative().optional(),
  baseline_window: windowName.optional(),
  /** nested retries: the largest product of attempts across layers (also on a rate storm that has some) */
  amplification: multiple.optional(),
  amplified_chains: count.optional(),
  /** retried operations nested inside the chains → chains */
  nested_operations: breakdown.optional(),
});

export const retryExhaustionMetricsSchema = z.strictObject({
  ...retryChains,
  /** exhausted_chains / chains; wasted_ms is the time of the exhausted chains */
  share: fraction,
  /** attempts the exhausted chains made */
  exhausted_attempts: count.optional(),
});

export const retryNonRetryableMetricsSchema = z.strictObject({
  ...retryChains,
  /** here: retries after non-retryable errors, by_error_class their classes and wasted_ms their time */
  all_retries: count,
  /** retries after non-retryable errors / calls */
  share: fraction,
});

export const retryNoBackoffMetricsSchema = z.strictObject({
  ...retryChains,
  /** chains with ≥ 2 gaps, whose gaps are judged */
  timed_chains: count,
  median_gap_ms: millis,
  /** median ratio of successive gaps (exponential backoff: near 2) */
  gap_ratio: multiple,
  /** median coefficient of variation of a chain's gaps */
  gap_cv: z.number().nonnegative(),
});

export type RetryStormMetrics = z.output<typeof retryStormMetricsSchema>;
export type RetryExhaustionMetrics = z.output<typeof retryExhaustionMetricsSchema>;
export type RetryNonRetryableMetrics = z.output<typeof retryNonRetryableMetricsSchema>;
export type RetryNoBackoffMetrics = z.output<typeof retryNoBackoffMetricsSchema>;
/** The figures every retry finding shares. */
export type RetryChainMetrics = Pick<RetryExhaustionMetrics, keyof typeof retryChains>;
