/**
 * zod schemas of the recommendation and of the kc task it carries (docs/outputs.md, Recommendations), so consumers
 * (kc-orchestrator, the webhook receiver, tests) can validate what Sidelight emits.
 */
import { z } from 'zod';

export const prioritySchema = z.enum(['high', 'medium', 'low']);
export const categorySchema = z.enum(['reliability', 'performance', 'cost', 'efficiency']);
export const effortSchema = z.enum(['S', 'M', 'L', 'XL']);
export const impactLevelSchema = z.enum(['minor', 'moderate', 'major', 'critical']);

const text = z.string().min(1);

/** The task kc-orchestrator's improvement-task generator writes; kc files it unchanged. */
export const kcTaskSchema = z.strictObject({
  id: z.string().regex(/^FIX-[0-9a-f]{12}$/),
  title: text,
  /** markdown */
  description: text,
  acceptanceCriteria: z.array(text).min(1),
  constraints: z.strictObject({ do: z.array(text), dont: z.array(text) }),
  outputs: z.array(text),
  checkSteps: z.array(text).min(1),
  status: z.literal('todo'),
  effort: effortSchema,
  /** ids of tasks this one needs first */
  dependencies: z.array(z.string()),
  /** sha256 (hex) of the content fields */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.literal('sidelight'),
  // Extra metadata keys are allowed: kc and the library add their own (generatedAt, …).
  metadata: z.looseObject({
    recommendationId: z.string().regex(/^REC-[0-9a-f]{12}$/),
    category: categorySchema,
    priority: prioritySchema,
  }),
});

export const recommendationSchema = z
  .strictObject({
    id: z.string().regex(/^REC-[0-9a-f]{12}$/),
    pain_point_ids: z.array(z.string().regex(/^pp-[0-9a-f]{16}$/)).min(1),
    title: text,
    priority: prioritySchema,
    category: categorySchema,
    impact: impactLevelSchema,
    effort: effortSchema,
    description: text,
    implementation: text,
    acceptanceCriteria: z.array(text).min(1),
    task: kcTaskSchema,
  })
  .refine((r) => r.task.id.slice(4) === r.id.slice(4), { message: 'task id must share the recommendation hash', path: ['task', 'id'] })
  .refine((r) => r.task.metadata.recommendationId === r.id, {
    message: 'task metadata.recommendationId must be the recommendation id',
    path: ['task', 'metadata', 'recommendationId'],
  });
