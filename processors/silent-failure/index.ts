/** The silent_failure processor: its factory (the detector is in detector.ts). */
import { defer, type OperatorFunction } from 'rxjs';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import { eachEvent } from '../../src/windows/judging.js';
import type { ComponentContext, ProcessorFactory } from '../../src/component/contracts.js';
import { silentFailureConfigSchema, type SilentFailureConfig } from './config.js';
import { SilentFailureDetector } from './detector.js';

export { silentFailureConfigSchema, type SilentFailureConfig };

export function silentFailure(config: SilentFailureConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  return (source) =>
    defer(() => {
      const detector = new SilentFailureDetector(config, ctx);
      return source.pipe(eachEvent((event) => detector.handle(event)));
    });
}

export const silentFailureProcessorFactory: ProcessorFactory<SilentFailureConfig> = {
  type: 'silent_failure',
  stage: 'detector',
  configSchema: silentFailureConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: silentFailure(config, ctx) }],
};
