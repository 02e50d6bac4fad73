/** Creates a pipeline's processors from config and sorts them into the engine's stages. */
import type { SidelightConfig } from '../config-file/load.js';
import type { ComponentContext } from '../component/contracts.js';
import type { EngineParts } from './engine.js';
import { traceAssembler } from '../traces/trace-assembler.js';

export function buildEngineParts(config: SidelightConfig, processorIds: readonly string[], ctx: ComponentContext): EngineParts {
  const detectors: { id: string; detector: EngineParts['detectors'][number]['detector'] }[] = [];
  const categorize: EngineParts['categorize'][number][] = [];
  const recommend: EngineParts['recommend'][number][] = [];
  for (const id of processorIds) {
    const c = config.processors.get(id);
    if (!c) continue;
    const pctx = { ...ctx, id };
    const f = c.factory;
    if (f.stage === 'detector') for (const detector of f.create(c.config, pctx)) detectors.push({ id, detector });
    else if (f.stage === 'categorize') categorize.push(f.create(c.config, pctx));
    else recommend.push(f.create(c.config, pctx));
  }
  const needsTraces = detectors.some((d) => d.detector.input === 'traces');
  return {
    detectors,
    categorize,
    recommend,
    ...(needsTraces ? { traceAssembler: traceAssembler(ctx.settings.traces, ctx) } : {}),
  };
}
