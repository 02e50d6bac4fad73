/** retry_patterns' settings (docs/configuration.md). */
import { z } from 'zod';
import { zDuration } from '../../src/config/duration.js';

export const retryPatternsConfigSchema = z.strictObject({
  /** calls of the operation a window must hold before any retry rule judges it (docs/painpoints.md) */
  min_samples: z.number().int().positive().default(20),
  /** retry_storm: retries per minute in the short window, at least */
  storm_min_per_minute: z.number().positive().default(10),
  /** retry_storm: … and at least this many times the baseline rate */
  storm_factor: z.number().positive().default(3),
  /** baseline window: the first window at least this many times longer than the short one (else the longest) */
  baseline_window_factor: z.number().positive().default(10),
  /** retry_storm by amplification: nested attempts multiply to at least this … */
  amplification_min: z.number().positive().default(6),
  /** … in at least this many outermost chains */
  amplification_min_chains: z.number().int().positive().default(5),
  exhaustion_min_chains: z.number().int().positive().default(10),
  exhaustion_ratio: z.number().min(0).max(1).default(0.2),
  exhaustion_high_ratio: z.number().min(0).max(1).default(0.5),
  /** retry_exhaustion is medium or high only when the exhausted chains' attempts are at least this share of the operation's calls (its impact), else low */
  exhaustion_medium_share: z.number().min(0).max(1).default(0.05),
  /** retry_non_retryable fires (low) from this many retries after non-retryable errors … */
  non_retryable_min_retries: z.number().int().positive().default(5),
  /** … is medium when such retries are at least this share of the operation's calls … */
  non_retryable_medium_share: z.number().min(0).max(1).default(0.01),
  /** … and high from this share */
  non_retryable_high_share: z.number().min(0).max(1).default(0.2),
  no_backoff_min_chains: z.number().int().positive().default(5),
  no_backoff_max_cv: z.number().positive().default(0.2),
  no_backoff_ratio_min: z.number().positive().default(0.8),
  no_backoff_ratio_max: z.number().positive().default(1.25),
  /** a median gap below this is no backoff whatever the ratios */
  no_backoff_min_gap: zDuration.default(100),
});
export type RetryPatternsConfig = z.output<typeof retryPatternsConfigSchema>;
