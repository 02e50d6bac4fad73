/**
 * Building blocks of the per-kind evidence schemas: the value shapes every kind's figures use, and
 * the impact figures (affected runs and traces, wasted time and tokens) the categorize stage and the
 * problems stage read from any kind. Non-finite numbers are rejected (zod's number does), so a NaN
 * never reaches a record.
 */
import { z } from 'zod';

/** A count of calls, spans, traces, runs, chains… */
export const count = z.number().int().nonnegative();
/** A share or rate in [0, 1]. */
export const fraction = z.number().min(0).max(1);
/** A duration in milliseconds. */
export const millis = z.number().nonnegative();
/** A positive multiple (a ratio of two durations or rates). */
export const multiple = z.number().nonnegative();
/** A small `label → count` table with a cap on its labels (the overflow counted under `__other__`). */
export const breakdown = z.record(z.string(), count);
/** A window name: `1m`, `5m`, …, `all`, or a phrase naming a baseline ("15m excluding 1m"). */
export const windowName = z.string().min(1);

/** Affected traces and runs: exact below 64 distinct, estimated above (src/stats/distinct-count.ts). */
export const affected = {
  affected_traces: count,
  affected_runs: count,
} as const;

/** Time and tokens the problem took: failed calls' time, retries, the saving a fix would give… */
export const wasted = {
  wasted_ms: millis,
  wasted_tokens: z.number().nonnegative(),
} as const;

/** What the waste cost in US dollars, written only where the price of the calls is known. */
export const wastedCost = {
  wasted_cost_usd: z.number().nonnegative().optional(),
} as const;

/**
 * The impact figures by name, each optional: what a reader of any kind may look for. A kind's own
 * schema says which of them it writes.
 */
export const impactMetricsSchema = z.object({
  affected_traces: count.optional(),
  affected_runs: count.optional(),
  wasted_ms: millis.optional(),
  wasted_tokens: z.number().nonnegative().optional(),
  /** US dollars the waste cost, where the price of the calls is known */
  wasted_cost_usd: z.number().nonnegative().optional(),
});
export type ImpactMetrics = z.output<typeof impactMetricsSchema>;

/** The impact figures a record of any kind states, each kept when present and valid. */
export function readImpactMetrics(metrics: Readonly<Record<string, unknown>>): ImpactMetrics {
  const out: Record<string, number> = {};
  for (const [name, field] of Object.entries(impactMetricsSchema.shape)) {
    const one = field.safeParse(metrics[name]);
    if (one.success && one.data !== undefined) out[name] = one.data;
  }
  return out as ImpactMetrics;
}
