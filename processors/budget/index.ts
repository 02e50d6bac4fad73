/** The budget processor (kind budget_exceeded): its factory (the detector is in detector.ts). Idle without budgets. */
import { defer, type OperatorFunction } from 'rxjs';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import { eachEvent } from '../../src/windows/judging.js';
import type { ComponentContext, ProcessorFactory } from '../../src/component/contracts.js';
import { budgetConfigSchema, type BudgetConfig } from './config.js';
import { BudgetDetector, checkBudgetWindows } from './detector.js';

export { budgetConfigSchema, type BudgetConfig };

export function budget(config: BudgetConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  return (source) =>
    defer(() => {
      const detector = new BudgetDetector(config, ctx);
      return source.pipe(eachEvent((event) => detector.handle(event)));
    });
}

export const budgetProcessorFactory: ProcessorFactory<BudgetConfig> = {
  type: 'budget',
  stage: 'detector',
  configSchema: budgetConfigSchema,
  create(config, ctx) {
    // idle without budgets: no detector at all, so it costs nothing
    if (config.budgets.length === 0) return [];
    // a bad window is reported when the pipeline is built, not at the first span
    checkBudgetWindows(config, ctx);
    return [{ input: 'spans', operator: budget(config, ctx) }];
  },
};
