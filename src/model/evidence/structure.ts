/**
 * Evidence of the call-structure kinds, found in whole traces: repeated_calls (N+1,
 * processors/repeated-calls.ts) and sequential_fanout (processors/sequential-fanout.ts). Figures
 * are per occurrence (one parent with the pattern) unless named otherwise.
 */
import { z } from 'zod';
import { breakdown, count, fraction, millis } from './common.js';

const occurrences = {
  /** calls in the occurrences, and the occurrences */
  calls: count,
  occurrences: count,
  traces: count,
  affected_traces: count,
  /** mean share of the parent's time */
  share: fraction,
  /** mean time of the calls one after another */
  sequential_ms: millis,
  /** mean time running them concurrently (or batched) would save */
  saving_ms: millis,
  /** that saving summed over the occurrences */
  wasted_ms: millis,
} as const;

export const repeatedCallsMetricsSchema = z.strictObject({
  ...occurrences,
  /** mean and largest number of calls under one parent */
  calls_per_parent: z.number().nonnegative(),
  max_calls_per_parent: count,
  /** the most common parent operation, and parents → occurrences */
  parent_operation: z.string().min(1),
  parents: breakdown,
});

export const sequentialFanoutMetricsSchema = z.strictObject({
  ...occurrences,
  /** mean and longest sequence of tool calls */
  sequence_length: z.number().nonnegative(),
  max_sequence_length: count,
  /** tools in the sequences → calls */
  tools: breakdown,
  /** traces in which the parent ran at least one tool call */
  parent_traces: count.optional(),
  /** traces with an occurrence / parent_traces */
  trace_share: fraction.optional(),
});

export type RepeatedCallsMetrics = z.output<typeof repeatedCallsMetricsSchema>;
export type SequentialFanoutMetrics = z.output<typeof sequentialFanoutMetricsSchema>;
