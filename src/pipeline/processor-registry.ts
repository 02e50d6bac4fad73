/**
 * Every processor type and the defaults of an in-process analysis: the registry the library loads,
 * without any receiver or exporter (and none of their dependencies). src/pipeline/components.ts
 * adds those for the sidecar and the CLI.
 */
import type { ComponentRegistry, ProcessorFactory } from '../component/contracts.js';
import { failureRateProcessorFactory } from '../../processors/failure-rate/index.js';
import { errorClusterProcessorFactory } from '../../processors/error-cluster.js';
import { retryPatternsProcessorFactory } from '../../processors/retry-patterns/index.js';
import { providerFallbackProcessorFactory } from '../../processors/provider-fallback/index.js';
import { latencyProcessorFactory } from '../../processors/latency.js';
import { repeatedCallsProcessorFactory } from '../../processors/repeated-calls.js';
import { sequentialFanoutProcessorFactory } from '../../processors/sequential-fanout.js';
import { anomalyProcessorFactory } from '../../processors/anomaly.js';
import { operationMetricsProcessorFactory } from '../../processors/operation-metrics.js';
import { silentFailureProcessorFactory } from '../../processors/silent-failure/index.js';
import { agentLoopProcessorFactory } from '../../processors/agent-loop/index.js';
import { budgetProcessorFactory } from '../../processors/budget/index.js';
import { categorizeProcessorFactory } from '../../processors/categorize.js';
import { recommendProcessorFactory } from '../../processors/recommend.js';

// Each factory checks its own config type; the registry only needs the common shape.
export const processorFactories = [
  failureRateProcessorFactory,
  errorClusterProcessorFactory,
  retryPatternsProcessorFactory,
  providerFallbackProcessorFactory,
  latencyProcessorFactory,
  repeatedCallsProcessorFactory,
  sequentialFanoutProcessorFactory,
  anomalyProcessorFactory,
  operationMetricsProcessorFactory,
  silentFailureProcessorFactory,
  agentLoopProcessorFactory,
  budgetProcessorFactory,
  categorizeProcessorFactory,
  recommendProcessorFactory,
] as unknown as readonly ProcessorFactory<unknown>[];

export const byType = <F extends { readonly type: string }>(list: readonly F[]) => new Map(list.map((f) => [f.type, f] as const));

/** Processors only: what analyzeSpans, createPipeline and NativeAgentLightning validate against. */
export const analysisComponents: ComponentRegistry = { receivers: new Map(), processors: byType(processorFactories), exporters: new Map() };

/** Every processor with its default settings, the service defaults. */
export const ANALYSIS_DEFAULTS = {
  receivers: {},
  processors: Object.fromEntries(processorFactories.map((f) => [f.type, {}])),
  exporters: {},
  service: {},
} as const;
