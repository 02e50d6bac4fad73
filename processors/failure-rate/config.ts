/** failure_rate's settings (docs/configuration.md) and the check of its named baseline window. */
import { z } from 'zod';
import type { ComponentContext } from '../../src/component/contracts.js';
import { windowSpecs } from '../../src/windows/window-spec.js';

export const failureRateConfigSchema = z
  .strictObject({
    /** no judgement on fewer calls than this in the window (docs/painpoints.md) */
    min_samples: z.number().int().positive().default(20),
    /** failure_rate fires when the Wilson 95 % lower bound reaches this */
    lower_bound_threshold: z.number().min(0).max(1).default(0.1),
    /** … and is high from this lower bound up */
    high_lower_bound: z.number().min(0).max(1).default(0.5),
    /** failure_spike fires when short-window lower bound − baseline upper bound reaches this */
    spike_margin: z.number().min(0).max(1).default(0.15),
    /** calls needed in the short window and in the baseline to judge a spike; 0 = min_samples */
    spike_min_samples: z.number().int().min(0).default(0),
    /**
     * 'longest' (the longest window with a baseline of spike_min_samples calls) or a window name
     * such as '1h'; a named window judges spikes only on windows shorter than itself
     */
    baseline_window: z.string().min(1).default('longest'),
    /** cap on tracked series; further series go to `__overflow__`, which is never reported */
    max_series: z.number().int().positive().default(5_000),
    /**
     * cap on the sibling groups remembered to tell a retry from a new call (a retried call's
     * attempts count once); past it the oldest is forgotten and counted
     */
    max_tracked_calls: z.number().int().positive().default(10_000),
    /** exemplar trace ids per observation */
    max_exemplars: z.number().int().min(0).max(50).default(5),
  })
  .transform((c) => ({ ...c, spike_min_samples: c.spike_min_samples > 0 ? c.spike_min_samples : c.min_samples }));
export type FailureRateConfig = z.output<typeof failureRateConfigSchema>;

/** A named baseline window must be one of the configured windows; checked when the detector is built. */
export function checkBaselineWindow(config: FailureRateConfig, ctx: ComponentContext): void {
  if (config.baseline_window === 'longest') return;
  const names = windowSpecs(ctx.settings.windows).map((s) => s.name);
  if (!names.includes(config.baseline_window)) {
    throw new Error(
      `processors.failure_rate.baseline_window: no window named ${JSON.stringify(config.baseline_window)} (expected longest, ${names.join(', ')})`,
    );
  }
}
