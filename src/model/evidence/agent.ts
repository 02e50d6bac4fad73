/**
 * Evidence of the agent-behaviour kinds: silent_failure (processors/silent-failure), agent_loop
 * (processors/agent-loop) and budget_exceeded (processors/budget). Costs are in US dollars and are
 * only written where the price of the calls is known (service.pricing or a reported cost).
 */
import { z } from 'zod';
import { affected, breakdown, count, fraction, millis, multiple } from './common.js';

/** The signals that make a call reported as successful a silent failure. */
export const SILENT_FAILURE_SIGNALS = ['content_filter', 'length', 'empty_output', 'tool_result_error'] as const;

const usd = z.number().nonnegative();
/** label → amount spent (US dollars or tokens, as the budget counts) */
const spendBreakdown = z.record(z.string(), z.number().nonnegative());

export const silentFailureMetricsSchema = z.strictObject({
  /** successful calls, and those that did not do their job */
  calls: count,
  silent_failures: count,
  silent_rate: fraction,
  wilson_lower: fraction,
  wilson_upper: fraction,
  /** signal → silent failures, and the most common */
  by_signal: breakdown,
  dominant_signal: z.enum(SILENT_FAILURE_SIGNALS),
  wasted_ms: millis,
  wasted_tokens: z.number().nonnegative(),
  wasted_cost_usd: usd.optional(),
  /** cut-off answers: the largest output (about the max_tokens given) and the mean input before it */
  cutoff_max_output_tokens: count.optional(),
  cutoff_mean_input_tokens: count.optional(),
  ...affected,
});

export const agentLoopMetricsSchema = z.strictObject({
  /** which rule fired (repeated calls, or turns in one invocation) and the shape of the loop */
  rule: z.enum(['calls', 'turns']),
  pattern: z.enum(['repeat', 'ping_pong', 'cycle', 'max_turns']),
  repeats: count,
  threshold: count,
  /** the repeated call: its tool and the hash of its normalized arguments (never the arguments) */
  repeated_tool: z.string().optional(),
  repeated_args_hash: z.string().optional(),
  /** the tools in the loop, comma-separated */
  tools: z.string().optional(),
  distinct_calls: count.optional(),
  /** calls in the loop of the worst run, whether it is still growing, and that run */
  loop_calls: count,
  growing: z.boolean(),
  run_id: z.string(),
  /** the worst run's tokens and time spent in the loop, as shares of the run's */
  run_token_share: fraction,
  run_time_share: fraction,
  looping_runs: count,
  wasted_ms: millis,
  wasted_tokens: z.number().nonnegative(),
  wasted_cost_usd: usd.optional(),
  ...affected,
});

export const budgetExceededMetricsSchema = z.strictObject({
  /** what the budget is per (run, agent, model, user), who spent, and which budget of the list */
  per: z.enum(['run', 'agent', 'model', 'user']),
  spender: z.string(),
  budget_index: count,
  /** per-run budgets: the runs over it */
  runs_over_budget: count.optional(),
  /** a budget in US dollars or in tokens, and the spend it is compared with */
  budget_usd: usd.optional(),
  spend_usd: usd.optional(),
  budget_tokens: z.number().nonnegative().optional(),
  spend_tokens: z.number().nonnegative().optional(),
  budget_ratio: multiple,
  calls: count,
  /** calls (and their tokens) without a known price: their spend is not counted */
  unpriced_calls: count.optional(),
  unpriced_tokens: z.number().nonnegative().optional(),
  by_run: spendBreakdown.optional(),
  by_agent: spendBreakdown.optional(),
  by_model: spendBreakdown.optional(),
  top_spender: z.string().optional(),
  /** spend above the budget: the waste */
  overspend_usd: usd.optional(),
  overspend_tokens: z.number().nonnegative().optional(),
  wasted_cost_usd: usd.optional(),
  wasted_tokens: z.number().nonnegative().optional(),
  ...affected,
});
