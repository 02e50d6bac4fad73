/** Settings of the budget processor (kind budget_exceeded; docs/painpoints.md, docs/configuration.md). */
import { z } from 'zod';
import { zDuration } from '../../src/config/duration.js';

export const BUDGET_PER = ['run', 'agent', 'model', 'user'] as const;
export type BudgetPer = (typeof BUDGET_PER)[number];

const name = z.string().min(1).optional();

export const budgetEntrySchema = z
  .strictObject({
    /** what one budget is counted for: each run, each agent, each model or each user */
    per: z.enum(BUDGET_PER),
    /** narrows which calls the budget applies to (all given fields must match, case-insensitively) */
    match: z.strictObject({ agent: name, model: name, provider: name, user: name }).optional(),
    /** the budget in USD of model calls (cost reported, or tokens × service.pricing) */
    max_cost_usd: z.number().positive().optional(),
    /** … or in tokens (input + output) of model calls */
    max_tokens: z.number().int().positive().optional(),
    /** the rolling window spend is summed over: up to 1h a multiple of service.windows.slide, longer ones a multiple of coarse_slide */
    window: zDuration,
  })
  .superRefine((b, ctx) => {
    if ((b.max_cost_usd === undefined) === (b.max_tokens === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of max_cost_usd and max_tokens', path: ['max_cost_usd'] });
    }
    if (!(b.window > 0)) ctx.addIssue({ code: 'custom', message: 'must be longer than 0', path: ['window'] });
  });
export type BudgetEntry = z.output<typeof budgetEntrySchema>;

export const budgetConfigSchema = z.strictObject({
  /** the budgets; none by default (the processor is idle) */
  budgets: z.array(budgetEntrySchema).default([]),
  /** spenders tracked per budget (runs, agents, models or users); further ones go to `__overflow__`, never reported */
  max_series: z.number().int().positive().default(5_000),
  /** model calls waiting for the agent or user of an ancestor span (per agent / user budgets); past it the oldest wait is given up (counted) */
  max_pending: z.number().int().positive().default(10_000),
  /** traces whose run is remembered for their calls that name no run (the oldest is forgotten, counted) */
  max_traces: z.number().int().positive().default(10_000),
  /** spenders named per breakdown (by run, agent, model) in each pane; the rest count under __other__ */
  max_breakdown: z.number().int().positive().default(16),
});
export type BudgetConfig = z.output<typeof budgetConfigSchema>;
