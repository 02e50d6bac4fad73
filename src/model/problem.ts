/**
 * Problems (docs/painpoints.md, Problems): one cause, one alert. A problem groups the pain points
 * of one cause — its root, the symptoms the root explains, and contributing behaviour pain points
 * that aggravate it — and is what the alerting outputs carry. One zod schema, from which the type
 * is inferred, for the problems stage that writes records and every reader (exporters, reports,
 * the live page, the kc output); test fixtures are built through it too.
 */
import { z } from 'zod';
import { PAIN_POINT_KINDS, type PainPointRecord } from './painpoint.js';
import type { Recommendation } from './recommendation.js';

const severity = z.enum(['high', 'medium', 'low']);
const category = z.enum(['reliability', 'performance', 'cost', 'efficiency']);

export const subjectSchema = z.strictObject({
  service: z.string(),
  operation: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  tool: z.string().optional(),
  agent: z.string().optional(),
  task_type: z.string().optional(),
  error_class: z.string().optional(),
  /** the agent's version (the agent_version dimension) and the end user (per-user budgets) */
  agent_version: z.string().optional(),
  user: z.string().optional(),
});

/** A member pain point as a problem names it. */
export const memberSchema = z.strictObject({
  id: z.string().regex(/^pp-[0-9a-f]{16}$/),
  kind: z.enum(PAIN_POINT_KINDS),
  subject: subjectSchema,
});
export type ProblemMember = z.output<typeof memberSchema>;

/** The members' impact with each run and trace counted once. */
export const problemImpactSchema = z.strictObject({
  score: z.number().nonnegative(),
  affected_runs: z.number().int().nonnegative(),
  affected_traces: z.number().int().nonnegative(),
  wasted_ms: z.number().nonnegative(),
  wasted_tokens: z.number().nonnegative(),
  /** where cost is known (gen_ai.usage.cost, or tokens × the pricing table) */
  wasted_cost_usd: z.number().nonnegative().optional(),
});
export type ProblemImpact = z.output<typeof problemImpactSchema>;

export const PROBLEM_STATES = ['open', 'updated', 'resolved', 'merged'] as const;
export type ProblemState = (typeof PROBLEM_STATES)[number];

export const problemRecordSchema = z
  .strictObject({
    /** "pb-" + the first 16 hex of sha256(root kind + root subject); kept when the root is replaced */
    id: z.string().regex(/^pb-[0-9a-f]{16}$/),
    state: z.enum(PROBLEM_STATES),
    /** the highest severity of its members, after the impact rule */
    severity,
    /** the root's category */
    category,
    /** names the root and how far it spreads: "web_search rate-limited (429): 37 % of calls fail; 3 callers and 2 providers affected" */
    title: z.string().min(1),
    description: z.string(),
    root: z.strictObject({ id: z.string(), kind: z.enum(PAIN_POINT_KINDS), subject: subjectSchema, title: z.string() }),
    /** pain points the root explains (another view of the same spans, a caller or callee, a consequence) */
    symptoms: z.array(memberSchema),
    /** behaviour pain points (no backoff, loops, …) that aggravate it: causes of their own problems too */
    contributing: z.array(memberSchema),
    impact: problemImpactSchema,
    /** ISO-8601 event times */
    first_seen: z.string(),
    last_seen: z.string(),
    /** the problem this one proved to be part of (state `merged`) */
    merged_into: z.string().regex(/^pb-[0-9a-f]{16}$/).optional(),
    /** exemplar traces of the root first, then of the symptoms (for span links) */
    exemplar_trace_ids: z.array(z.string()),
    run_ids: z.array(z.string()),
    recommendation_ids: z.array(z.string()),
  })
  .refine((p) => (p.state === 'merged') === (p.merged_into !== undefined), { message: 'merged_into is set exactly when the state is merged', path: ['merged_into'] });
export type ProblemRecord = z.output<typeof problemRecordSchema>;

/**
 * One problem state change, as the alerting outputs receive it: the record, the current records of
 * its members (root, symptoms, contributing: the OTLP span's events, the report's detail) and the
 * recommendation made for it.
 */
export interface ProblemChange {
  readonly problem: ProblemRecord;
  readonly members: readonly PainPointRecord[];
  readonly recommendations: readonly Recommendation[];
}
