/**
 * An example workload for a running sidecar: kc-orchestrator-shaped traces sent with the
 * OpenTelemetry JS SDK over OTLP (HTTP protobuf by default; OTEL_EXPORTER_OTLP_PROTOCOL=http/json
 * or grpc, with the gRPC port, as the SDK's own variable says). One tool, web_search, fails 40 % of the time;
 * read_file and the LLM calls are healthy. Spans are stamped over the last two minutes, so the
 * sidecar judges them at once and prints a failure_rate pain point for web_search.
 *
 *   npx tsx examples/failing-tool-workload.ts [http://127.0.0.1:4318]
 */
import { context, trace, SpanStatusCode, SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';

const protocol = process.env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
const endpoint = process.argv[2] || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || (protocol === 'grpc' ? 'http://127.0.0.1:4317' : 'http://127.0.0.1:4318');
function exporter() {
  if (protocol === 'grpc') return new GrpcExporter({ url: endpoint });
  if (protocol === 'http/json') return new JsonExporter({ url: `${endpoint}/v1/traces` });
  if (protocol === 'http/protobuf') return new ProtoExporter({ url: `${endpoint}/v1/traces` });
  console.error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: use http/protobuf, http/json or grpc`);
  process.exit(2);
}
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'kc-orchestrator' }),
  spanProcessors: [new BatchSpanProcessor(exporter(), { maxExportBatchSize: 512 })],
});
const tracer = provider.getTracer('example-workload');

// A fixed pseudo-random sequence, so every run shows the same shape.
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

const now = Date.now();
const TASKS = 60;
const spacing = 110_000 / TASKS;
for (let i = 0; i < TASKS; i++) {
  const runId = `run-${Math.floor(i / 20)}`;
  const start = now - 120_000 + i * spacing;
  const task = tracer.startSpan('invoke_agent coder', {
    startTime: start,
    kind: SpanKind.INTERNAL,
    attributes: { 'kc.run.id': runId, 'kc.task.id': `task-${i}`, 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder' },
  });
  const ctx = trace.setSpan(context.active(), task);
  let t = start + 5;
  const child = (name: string, attributes: Record<string, string | number>, ms: number, error?: string) => {
    const s = tracer.startSpan(name, { startTime: t, attributes, kind: SpanKind.CLIENT }, ctx);
    if (error) {
      s.setStatus({ code: SpanStatusCode.ERROR, message: error });
      s.setAttribute('error.type', error.startsWith('HTTP 503') ? '503' : 'timeout');
    }
    s.end(t + ms);
    t += ms + 5;
  };
  child('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300 }, 400 + random() * 300);
  child('execute_tool web_search', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' }, 150 + random() * 100, random() < 0.4 ? 'HTTP 503 upstream search unavailable' : undefined);
  child('execute_tool read_file', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'read_file' }, 5 + random() * 10);
  child('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1500, 'gen_ai.usage.output_tokens': 200 }, 300 + random() * 200);
  task.end(t);
}
await provider.forceFlush();
await provider.shutdown();
process.stdout.write(`sent ${TASKS} agent tasks (${TASKS * 5} spans) to ${endpoint} over ${protocol}\n`);
