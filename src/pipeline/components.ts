/**
 * The component registry (as the Collector's components.go): every receiver, processor and
 * exporter type Sidelight knows, and the built-in default config (README.md, Quick start; docs/configuration.md).
 */
import type { ComponentRegistry, ExporterFactory, ReceiverFactory } from '../component/contracts.js';
import { exporterFactories } from '../../exporters/index.js';
import { otlpReceiverFactory } from '../receivers/otlp.js';
import { kcRunsReceiverFactory } from '../receivers/kc-runs.js';
import { ANALYSIS_DEFAULTS, byType, processorFactories } from './processor-registry.js';

// Each factory checks its own config type; the registry only needs the common shape.
const receiverFactories = [otlpReceiverFactory, kcRunsReceiverFactory] as unknown as readonly ReceiverFactory<unknown>[];

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
  processors: ANALYSIS_DEFAULTS.processors,
  exporters: { jsonl: { path: './sidelight-out/painpoints.jsonl' }, stdout: {} },
  service: {},
} as const;
