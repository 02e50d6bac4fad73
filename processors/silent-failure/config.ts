/** Settings of the silent_failure processor (docs/painpoints.md; docs/configuration.md). */
import { z } from 'zod';

const reasons = (defaults: readonly string[]) => z.array(z.string().min(1)).default([...defaults]);

export const silentFailureConfigSchema = z.strictObject({
  /** no judgement on fewer successful calls than this in the window */
  min_samples: z.number().int().positive().default(20),
  /** fires when the Wilson 95 % lower bound of the silent-failure rate reaches this */
  lower_bound_threshold: z.number().min(0).max(1).default(0.05),
  /** … and is high from this lower bound up */
  high_lower_bound: z.number().min(0).max(1).default(0.3),
  /** finish reasons of an answer cut off at its token limit (OpenAI length, Anthropic and Gemini max_tokens) */
  length_reasons: reasons(['length', 'max_tokens']),
  /**
   * finish reasons of an answer a filter or the model withheld: OpenAI content_filter, Anthropic
   * refusal, Gemini safety / recitation / blocklist / prohibited_content / spii, Bedrock
   * guardrail_intervened / content_filtered
   */
  filter_reasons: reasons(['content_filter', 'refusal', 'safety', 'recitation', 'blocklist', 'prohibited_content', 'spii', 'guardrail_intervened', 'content_filtered']),
  /** a model call that answered with 0 output tokens is a silent failure (embeddings never are, nor a call that stopped to call tools) */
  empty_output: z.boolean().default(true),
  /** cap on tracked series; further series go to `__overflow__`, which is never reported */
  max_series: z.number().int().positive().default(5_000),
  /** exemplar trace ids per observation */
  max_exemplars: z.number().int().min(0).max(50).default(5),
});
export type SilentFailureConfig = z.output<typeof silentFailureConfigSchema>;
