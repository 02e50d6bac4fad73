/**
 * Retry-pattern detectors (docs/painpoints.md): retry_storm, retry_exhaustion, retry_non_retryable and
 * retry_no_backoff over the retry chains of assembled traces, windowed per series (the operation
 * series of the chain's first attempt + its group-by series), keyed on chain end time.
 * provider_fallback is its own processor (processors/provider-fallback/).
 *
 * Rules, judged at each watermark on the shortest window holding `min_samples` calls of the
 * operation and the rule's own minimum (offline also on the whole input):
 * - retry_storm (high): retries/min ≥ storm_min_per_minute and ≥ storm_factor × the baseline rate
 *   (the longer window minus the short one, which must itself hold min_samples calls); or
 *   ≥ amplification_min_chains outermost chains whose nested attempts multiply to ≥ amplification_min.
 * - retry_exhaustion: ≥ exhaustion_ratio of ≥ exhaustion_min_chains retried chains end in failure
 *   (medium; high at ≥ exhaustion_high_ratio; low while the exhausted chains' attempts are under
 *   exhaustion_medium_share of the operation's calls).
 * - retry_non_retryable: ≥ non_retryable_min_retries retries after non-retryable errors (medium;
 *   high when they are ≥ non_retryable_high_share of the operation's calls).
 * - retry_no_backoff (medium): over ≥ no_backoff_min_chains chains with ≥ 2 measured gaps: median
 *   per-chain gap CV < no_backoff_max_cv and median successive gap ratio within
 *   [no_backoff_ratio_min, no_backoff_ratio_max]; or median gap < no_backoff_min_gap.
 */
import type { Detector, ProcessorFactory } from '../../src/component/contracts.js';
import { retryPatternsConfigSchema, type RetryPatternsConfig } from './config.js';
import { retryPatterns } from './detector.js';

export const retryPatternsProcessorFactory: ProcessorFactory<RetryPatternsConfig> = {
  type: 'retry_patterns',
  stage: 'detector',
  configSchema: retryPatternsConfigSchema,
  create(config, ctx): Detector[] {
    return [{ input: 'traces', operator: retryPatterns(config, ctx) }];
  },
};
