/** provider_fallback's settings (docs/configuration.md). */
import { z } from 'zod';

export const providerFallbackConfigSchema = z.strictObject({
  /** tasks (of the operation that tried the provider) a window must hold */
  min_tasks: z.number().int().positive().default(10),
  /** fallbacks away from the provider per task for medium … */
  per_task: z.number().positive().default(0.5),
  /** … and for low */
  per_task_low: z.number().positive().default(0.2),
});
export type ProviderFallbackConfig = z.output<typeof providerFallbackConfigSchema>;
