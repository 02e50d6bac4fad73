/**
 * The component registry (as the Collector's components.go): every receiver, processor and
 * exporter type Sidelight knows, and the built-in default config (README.md, Quick start; docs/configuration.md).
 */
import type { ComponentRegistry, ExporterFactory, ProcessorFactory, ReceiverFactory } from '../component/contracts.js';
import { exporterFactories } from '../../exporters/index.js';
import { otlpReceiverFactory } from '../receivers/otlp.js';
import { kcRunsReceiverFactory } from '../receivers/kc-runs.js';
import { failureRateProcessorFactory } from '../../processors/failure-rate.js';
import { errorClusterProcessorFactory } from '../../processors/error-cluster.js';
import { retryPatternsProcessorFactory } from '../../processors/retry-patterns.js';
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
const receiverFactories = [otlpReceiverFactory, kcRunsReceiverFactory] as unknown as readonly ReceiverFactory<unknown>[];

const processorFactories = [
  failureRateProcessorFactory,
  errorClusterProcessorFactory,
  retryPatternsProcessorFactory,
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

const byType = <F extends { readonly type: string }>(list: readonly F[]) => new Map(list.map((f) => [f.type, f] as const));

export const components: ComponentRegistry = {
  receivers: byType(receiverFactories),
  processors: byType(processorFactories),
  exporters: byType(exporterFactories as readonly ExporterFactory<unknown>[]),
};

/**
 * The built-in defaults: OTLP on 127.0.0.1:4318 (HTTP) and :4317 (gRPC), every processor with its
 * default settings, pain points to ./sidelight-out/painpoints.jsonl and stdout.
 */
export const DEFAULT_CONFIG = {
  receivers: { otlp: { protocols: { http: {}, grpc: {} } } },
  processors: Object.fromEntries(processorFactories.map((f) => [f.type, {}])),
  exporters: { jsonl: { path: './sidelight-out/painpoints.jsonl' }, stdout: {} },
  service: {},
} as const;
