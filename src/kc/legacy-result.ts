/**
 * The result shape kc-orchestrator already consumes from its Agent Lightning integration
 * (README.md, Use from kc-orchestrator): `{success, recommendations, patterns, painPoints, statistics, metadata}`, or
 * `{success: false, error}`. Objects are loose: kc reads the listed fields, extra ones are kept.
 */
import { z } from 'zod';

export const LEGACY_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export const LEGACY_EFFORTS = ['S', 'M', 'L', 'XL'] as const;

export const legacyRecommendationSchema = z.looseObject({
  id: z.string().min(1),
  title: z.string().min(1),
  description: z.string(),
  priority: z.enum(LEGACY_PRIORITIES),
  category: z.string().min(1),
  impact: z.string().min(1),
  effort: z.enum(LEGACY_EFFORTS),
  implementation: z.string(),
  acceptanceCriteria: z.array(z.string()),
  constraints: z.looseObject({ do: z.array(z.string()), dont: z.array(z.string()) }),
  metadata: z.looseObject({ source: z.string().min(1), generatedAt: z.iso.datetime(), contentHash: z.string().min(1) }),
});
export type LegacyRecommendation = z.output<typeof legacyRecommendationSchema>;

export const legacyPainPointSchema = z.looseObject({
  id: z.string().min(1),
  /** the pain-point kind (failure_rate, retry_exhaustion, …) */
  type: z.string().min(1),
  title: z.string(),
  description: z.string(),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  category: z.string(),
  /** how many runs it was seen in */
  frequency: z.number().int().nonnegative(),
  affectedRuns: z.array(z.string()),
});
export type LegacyPainPoint = z.output<typeof legacyPainPointSchema>;

export const legacyPatternSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  description: z.string(),
  /** occurrences in the input */
  frequency: z.number().int().nonnegative(),
});
export type LegacyPattern = z.output<typeof legacyPatternSchema>;

export const legacyStatisticsSchema = z.looseObject({
  totalRuns: z.number().int().nonnegative(),
  totalTasks: z.number().int().nonnegative(),
  successfulTasks: z.number().int().nonnegative(),
  failedTasks: z.number().int().nonnegative(),
  /** 0–1; 0 when there were no tasks */
  successRate: z.number().min(0).max(1),
  totalRetries: z.number().int().nonnegative(),
  totalFallbacks: z.number().int().nonnegative(),
  averageExecutionTime: z.number().nonnegative(),
});
export type LegacyStatistics = z.output<typeof legacyStatisticsSchema>;

export const legacyResultSchema = z.looseObject({
  success: z.literal(true),
  recommendations: z.array(legacyRecommendationSchema),
  patterns: z.array(legacyPatternSchema),
  painPoints: z.array(legacyPainPointSchema),
  statistics: legacyStatisticsSchema,
  metadata: z.looseObject({ source: z.string().min(1), generatedAt: z.iso.datetime(), mode: z.enum(['native', 'external']) }),
});
export type LegacyResult = z.output<typeof legacyResultSchema>;

export const legacyFailureSchema = z.strictObject({ success: z.literal(false), error: z.string().min(1) });
export type LegacyFailure = z.output<typeof legacyFailureSchema>;

export const legacyResponseSchema = z.discriminatedUnion('success', [legacyResultSchema, legacyFailureSchema]);
export type LegacyResponse = LegacyResult | LegacyFailure;
