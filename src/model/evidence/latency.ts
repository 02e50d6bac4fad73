/**
 * Evidence of the latency kinds: latency_regression and slow_tail (processors/latency.ts, over
 * successful calls), latency_bottleneck (processors/latency-bottleneck.ts, critical-path shares).
 */
import { z } from 'zod';
import { affected, count, fraction, millis, multiple, windowName } from './common.js';

export const LATENCY_PERCENTILES = ['p95', 'p99'] as const;

export const latencyRegressionMetricsSchema = z.strictObject({
  calls: count,
  successful_calls: count,
  failed_calls: count,
  /** the percentile judged: p99 when both windows hold enough calls for it */
  percentile: z.enum(LATENCY_PERCENTILES),
  p50_ms: millis,
  p95_ms: millis,
  p99_ms: millis.optional(),
  baseline_window: windowName,
  baseline_calls: count,
  baseline_p95_ms: millis,
  /** set when the p99 was judged */
  baseline_p99_ms: millis.optional(),
  /** what the baseline's judged percentile may be at most (95 % upper confidence bound over its calls): the ratio's denominator */
  baseline_bound_ms: millis.optional(),
  /** judged percentile / the baseline's bound */
  ratio: multiple,
  /** calls slower than slow_threshold_ms (the ratio threshold × the baseline's bound) */
  slow_calls: count,
  slow_threshold_ms: millis,
  /** the longer window that confirmed it, and its percentile there */
  confirm_window: windowName.optional(),
  confirm_ms: millis.optional(),
  /** affected: lower bounds, over the slowest calls kept as exemplars */
  ...affected,
  /** (mean now − mean before) × successful calls */
  wasted_ms: millis,
});

export const slowTailMetricsSchema = z.strictObject({
  calls: count,
  successful_calls: count,
  p50_ms: millis,
  p95_ms: millis,
  p99_ms: millis,
  max_ms: millis,
  /** p99 / p50 */
  ratio: multiple,
  /** calls slower than the p99 */
  slow_calls: count,
  /** calls slower than tail_ratio × the median (the tail's impact) */
  tail_calls: count.optional(),
  /** their summed time, and its share of all successful calls' time */
  tail_ms: millis.optional(),
  tail_time_share: fraction.optional(),
  ...affected,
});

export const latencyBottleneckMetricsSchema = z.strictObject({
  /** mean share of the critical path the operation holds in the traces it is in */
  share: fraction,
  /** mean time on the critical path, and mean end-to-end time, per trace */
  critical_path_ms: millis,
  trace_ms: millis,
  traces: count,
  affected_traces: count,
  /** model calls: the share in the baseline window it is compared with */
  baseline_window: windowName.optional(),
  baseline_share: fraction.optional(),
  baseline_traces: count.optional(),
});

export type LatencyRegressionMetrics = z.output<typeof latencyRegressionMetricsSchema>;
export type SlowTailMetrics = z.output<typeof slowTailMetricsSchema>;
export type LatencyBottleneckMetrics = z.output<typeof latencyBottleneckMetricsSchema>;
