/**
 * Evidence of the failure kinds: failure_rate and failure_spike (processors/failure-rate/),
 * error_cluster (processors/error-cluster.ts) and provider_fallback (processors/provider-fallback/).
 */
import { z } from 'zod';
import { affected, breakdown, count, fraction, wasted, wastedCost, windowName } from './common.js';

/** What every failure_rate and failure_spike judgement states about the judged window. */
const failureWindow = {
  /** calls and the calls that failed, a retried call's attempts counted once (the rate and its bound are of these) */
  calls: count,
  failures: count,
  /** every attempt and the failed ones, when retries were folded into their calls */
  attempts: count.optional(),
  failed_attempts: count.optional(),
  failure_rate: fraction,
  /** Wilson 95 % interval of the failure rate */
  wilson_lower: fraction,
  wilson_upper: fraction,
  ...wasted,
  ...wastedCost,
  ...affected,
  /** failures by error class (top 10) */
  by_error_class: breakdown,
  /** failures by provider (top 10) */
  by_provider: breakdown,
  /** the most common error class, when any failure has one */
  dominant_error_class: z.string().min(1).optional(),
} as const;

export const failureRateMetricsSchema = z.strictObject(failureWindow);

export const failureSpikeMetricsSchema = z.strictObject({
  ...failureWindow,
  /** the window the baseline was counted on, without the judged part */
  baseline_window: windowName,
  baseline_calls: count,
  baseline_failures: count,
  baseline_failure_rate: fraction,
  baseline_wilson_lower: fraction,
  baseline_wilson_upper: fraction,
  /** the judged lower bound minus the baseline's upper bound */
  spike_gap: z.number(),
});

export const errorClusterMetricsSchema = z.strictObject({
  failures: count,
  /** distinct operation keys and services the cluster's failures are on */
  operations: count,
  services: count,
  /** calls of the operations the cluster spans (its impact's denominator) */
  operation_calls: count.optional(),
  /** failures / operation_calls */
  call_share: fraction.optional(),
  /** share of all failures in the window */
  share: fraction,
  total_failures: count,
  error_class: z.string().min(1),
  /** the normalized message template ('' when the failures carry no message) */
  template: z.string(),
  ...wasted,
  ...wastedCost,
  ...affected,
  by_operation: breakdown,
  by_service: breakdown,
});

export const providerFallbackMetricsSchema = z.strictObject({
  /** tasks that tried the provider, and fallbacks away from it */
  tasks: count,
  fallbacks: count,
  fallbacks_per_task: z.number().nonnegative(),
  tasks_with_fallback: count,
  /** where the fallbacks went */
  by_provider: breakdown,
  /** the fallback reasons, classified */
  by_error_class: breakdown,
  /** the same tasks and fallbacks under the names rate readers use */
  calls: count,
  failures: count,
  ...affected,
});

export type FailureRateMetrics = z.output<typeof failureRateMetricsSchema>;
export type FailureSpikeMetrics = z.output<typeof failureSpikeMetricsSchema>;
export type ErrorClusterMetrics = z.output<typeof errorClusterMetricsSchema>;
export type ProviderFallbackMetrics = z.output<typeof providerFallbackMetricsSchema>;
