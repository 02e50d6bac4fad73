/**
 * provider_fallback (docs/painpoints.md): a provider is abandoned for another often. Per series
 * (service, operation = the task's span name, provider), over the tasks that tried the provider
 * (src/traces/provider-fallbacks.ts): fallbacks away from it per task ≥ per_task over
 * ≥ min_tasks tasks → medium; ≥ per_task_low → low. Keyed on task end time. A processor of its
 * own (its keys were retry_patterns' fallback_* before); it shares the trace assembler with the
 * other trace detectors, not code with retry_patterns.
 */
import type { Detector, ProcessorFactory } from '../../src/component/contracts.js';
import { providerFallbackConfigSchema, type ProviderFallbackConfig } from './config.js';
import { providerFallbackDetector } from './detector.js';

export const providerFallbackProcessorFactory: ProcessorFactory<ProviderFallbackConfig> = {
  type: 'provider_fallback',
  stage: 'detector',
  configSchema: providerFallbackConfigSchema,
  create(config, ctx): Detector[] {
    return [{ input: 'traces', operator: providerFallbackDetector(config, ctx) }];
  },
};
