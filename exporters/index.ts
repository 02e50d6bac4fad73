/** Every exporter factory, for the component registry (src/pipeline/components.ts). */
import type { ExporterFactory } from '../src/component/contracts.js';
import { jsonlExporterFactory } from './jsonl.js';
import { otlpLogsExporterFactory } from './otlp-logs.js';
import { otlpTracesExporterFactory } from './otlp-traces.js';
import { sqliteExporterFactory } from './sqlite.js';
import { stdoutExporterFactory } from './stdout.js';
import { webhookExporterFactory } from './webhook.js';

export { jsonlExporterFactory, otlpLogsExporterFactory, otlpTracesExporterFactory, sqliteExporterFactory, stdoutExporterFactory, webhookExporterFactory };
export { openPainPointStore, type PainPointStore, type StoredPainPoint } from './sqlite.js';

// each factory checks its own config type; the registry only needs the common shape
export const exporterFactories = [
  jsonlExporterFactory,
  stdoutExporterFactory,
  otlpTracesExporterFactory,
  otlpLogsExporterFactory,
  webhookExporterFactory,
  sqliteExporterFactory,
] as unknown as readonly ExporterFactory[];
