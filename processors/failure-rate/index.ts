/**
 * failure_rate and failure_spike (docs/painpoints.md). Per series (docs/input.md) and window: calls, failures and
 * the Wilson 95 % interval of the failure rate.
 *
 * - failure_rate: on the shortest window holding ≥ min_samples calls (docs/architecture.md, Event time and windows), the Wilson lower
 *   bound is ≥ lower_bound_threshold (medium; high at ≥ high_lower_bound).
 * - failure_spike: on the shortest window holding ≥ spike_min_samples calls, the lower bound is
 *   above the baseline's upper bound by ≥ spike_margin (high). The baseline is a longer window
 *   (`baseline_window`: 'longest' = the longest window whose baseline holds ≥ spike_min_samples
 *   calls, or a window name) minus the part it shares with the judged window, so a spike does not
 *   raise its own baseline.
 * - offline, at the end of input: failure_rate on the whole input; failure_spike with the last
 *   quarter of the input's time span judged against its first half (the quarter between is left
 *   out so a ramp-up belongs to neither).
 */
import type { ProcessorFactory } from '../../src/component/contracts.js';
import { failureRateConfigSchema, type FailureRateConfig } from './config.js';
import { failureRate } from './detector.js';

export const failureRateProcessorFactory: ProcessorFactory<FailureRateConfig> = {
  type: 'failure_rate',
  stage: 'detector',
  configSchema: failureRateConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: failureRate(config, ctx) }],
};
