/** Evidence of the anomaly kind (processors/anomaly.ts): one closed window's value against its history. */
import { z } from 'zod';
import { count } from './common.js';

/** The series the anomaly detector watches. */
export const ANOMALY_METRICS = ['tokens_per_call', 'call_rate'] as const;
export type AnomalyMetric = (typeof ANOMALY_METRICS)[number];

export const anomalyMetricsSchema = z.strictObject({
  metric: z.enum(ANOMALY_METRICS),
  /** the window's value, and the robust summary of the history it is judged against */
  value: z.number(),
  median: z.number(),
  mad: z.number().nonnegative(),
  scale: z.number().nonnegative(),
  robust_z: z.number(),
  ewma: z.number(),
  ewma_upper_limit: z.number(),
  ewma_lower_limit: z.number(),
  /** windows of history, and consecutive outlying windows */
  history: count,
  consecutive_windows: count,
  calls: count,
  /** tokens_per_call only: tokens and calls reporting them in the window, tokens above the median */
  tokens: z.number().nonnegative().optional(),
  token_calls: count.optional(),
  wasted_tokens: z.number().nonnegative().optional(),
  /** call_rate only: calls above the history's median rate in the window */
  excess_calls: z.number().nonnegative().optional(),
});

export type AnomalyMetrics = z.output<typeof anomalyMetricsSchema>;

/** A token anomaly costs money (category cost); a call-rate anomaly is performance. */
export function isTokenAnomaly(o: { readonly kind: string; readonly evidence: { readonly metrics: Readonly<Record<string, unknown>> } }): boolean {
  return o.kind === 'anomaly' && o.evidence.metrics['metric'] === 'tokens_per_call';
}
