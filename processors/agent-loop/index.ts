/** The agent_loop processor: its factory (the detector is in detector.ts). */
import { defer, type OperatorFunction } from 'rxjs';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import { eachEvent } from '../../src/windows/judging.js';
import type { ComponentContext, ProcessorFactory } from '../../src/component/contracts.js';
import { agentLoopConfigSchema, type AgentLoopConfig } from './config.js';
import { AgentLoopDetector } from './detector.js';

export { agentLoopConfigSchema, type AgentLoopConfig };

export function agentLoop(config: AgentLoopConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  return (source) =>
    defer(() => {
      const detector = new AgentLoopDetector(config, ctx);
      return source.pipe(eachEvent((event) => detector.handle(event)));
    });
}

export const agentLoopProcessorFactory: ProcessorFactory<AgentLoopConfig> = {
  type: 'agent_loop',
  stage: 'detector',
  configSchema: agentLoopConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: agentLoop(config, ctx) }],
};
