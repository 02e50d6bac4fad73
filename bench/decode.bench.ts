/**
 * Decoding cost: decodeTraceRequest (decode + derivation) on a 1000-span OTLP request with
 * realistic agent attributes, serialized by the OpenTelemetry JS SDK's own serializers.
 * Prints median, p10 and p90 spans/s over 40 rounds (BENCH_SCALE scales them); also the gzip
 * inflate cost for the same body.
 */
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeTraceRequest, type OtlpFormat } from '../src/decode/index.js';
import { DEFAULT_ATTRIBUTE_MAPPING } from '../src/model/derive.js';
import { scaled } from './support/measure.js';

const SPANS = 1000;
const ROUNDS = scaled(40, 2);
const ITERATIONS_PER_ROUND = 5;

/** 1000 spans: agent runs of one invoke_agent root, LLM calls and tool calls, some failing with exceptions. */
async function buildSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'kc-orchestrator',
      'service.version': '1.4.2',
      'host.name': 'build-agent-07',
      'process.runtime.name': 'nodejs',
      'kc.run.id': 'run-2026-11-26-a',
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('kc-orchestrator', '1.4.2');
  const t0 = Date.UTC(2026, 10, 26, 10);
  let made = 0;
  for (let run = 0; made < SPANS; run++) {
    const root = tracer.startSpan('invoke_agent coder', {
      startTime: t0 + run * 10_000,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'coder',
        'kc.task.id': `T-${run}`,
        'kc.task.title': 'Refactor payment service to use the new ledger API',
      },
    });
    made++;
    const parent = trace.setSpan(context.active(), root);
    for (let i = 0; i < 9 && made < SPANS; i++, made++) {
      const start = t0 + run * 10_000 + i * 900;
      const isTool = i % 3 !== 0;
      const span = tracer.startSpan(
        isTool ? 'execute_tool' : 'chat claude-sonnet-4',
        {
          kind: SpanKind.CLIENT,
          startTime: start,
          attributes: isTool
            ? {
                'gen_ai.operation.name': 'execute_tool',
                'gen_ai.tool.name': ['web_search', 'read_file', 'run_tests'][i % 3] as string,
                'gen_ai.tool.call.id': `call_${run}_${i}_a8f3e2`,
                'tool.arguments.size': 412 + i,
                'retry.attempt': 1 + (i % 2),
              }
            : {
                'gen_ai.operation.name': 'chat',
                'gen_ai.request.model': 'claude-sonnet-4',
                'gen_ai.provider.name': 'anthropic',
                'gen_ai.usage.input_tokens': 12_000 + i * 31,
                'gen_ai.usage.output_tokens': 800 + i,
                'gen_ai.request.temperature': 0.2,
                'gen_ai.response.finish_reasons': ['stop'],
                'http.response.status_code': i % 5 === 0 ? 429 : 200,
                'server.address': 'api.anthropic.com',
              },
        },
        parent,
      );
      if (i % 5 === 0) {
        span.recordException({ name: 'RateLimitError', message: `429 rate limit exceeded, retry after ${i}s` }, start + 400);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `429 rate limit exceeded, retry after ${i}s` });
      }
      span.end(start + 850);
    }
    root.end(t0 + run * 10_000 + 9_000);
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number;
}

function measure(label: string, run: () => number): void {
  for (let i = 0; i < scaled(20); i++) run(); // warm-up: JIT and inline caches
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    let spans = 0;
    for (let i = 0; i < ITERATIONS_PER_ROUND; i++) spans += run();
    rates.push(spans / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => a - b);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`${label}: median ${fmt(percentile(rates, 0.5))} spans/s (p10 ${fmt(percentile(rates, 0.1))}, p90 ${fmt(percentile(rates, 0.9))})`);
}

const spans = await buildSpans();
const bodies: Record<OtlpFormat, Uint8Array> = {
  protobuf: ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array,
  json: JsonTraceSerializer.serializeRequest(spans) as Uint8Array,
};
const gzipped = gzipSync(bodies.protobuf);
console.log(`request: ${spans.length} spans, protobuf ${bodies.protobuf.length} bytes, JSON ${bodies.json.length} bytes, gzip protobuf ${gzipped.length} bytes`);

measure('decodeTraceRequest protobuf', () => decodeTraceRequest(bodies.protobuf, 'protobuf', DEFAULT_ATTRIBUTE_MAPPING).spans.length);
measure('decodeTraceRequest json    ', () => decodeTraceRequest(bodies.json, 'json', DEFAULT_ATTRIBUTE_MAPPING).spans.length);
measure('gunzip + decode protobuf   ', () => decodeTraceRequest(gunzipSync(gzipped), 'protobuf', DEFAULT_ATTRIBUTE_MAPPING).spans.length);
