/**
 * The sidecar end to end on loopback: OTLP/HTTP protobuf requests of 500 spans each (agent
 * workload shaped, made with the OTel SDK and its serializer) posted by 4 concurrent clients to a
 * running Sidelight with every default processor and a JSONL exporter; prints accepted spans/s
 * (until every span has gone through the pipeline), 503 answers, and resident memory.
 *
 *   npx tsx bench/sidecar.bench.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { context, trace } from '@opentelemetry/api';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService } from '../src/pipeline/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { agentWorkload } from '../test/support/agent-workload.js';
import type { SpanTree } from '../test/support/readable-to-record.js';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 200);
const CONCURRENCY = 4;

/** Request bodies of ~500 spans each, with event times moving forward like a live orchestrator's. */
function bodies(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const start = Date.now() - count * 60_000;
  for (let i = 0; i < count; i++) {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'kc-orchestrator' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('bench');
    const send = (t: SpanTree, parent?: ReturnType<typeof tracer.startSpan>) => {
      const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
      const s = tracer.startSpan(t.name, { startTime: t.start, attributes: t.attributes ?? {}, root: !parent }, ctx);
      for (const c of t.children ?? []) send(c, s);
      s.end(t.end);
    };
    for (const t of agentWorkload({ start: start + i * 60_000, tasks: 100, every: 600, failEveryFive: i % 3 === 0 ? 2 : 0 })) send(t);
    out.push(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array);
  }
  return out;
}

const prepared = bodies(Math.min(REQUESTS, 50));
const spansPerBody = 500;
const dir = mkdtempSync(join(tmpdir(), 'sidelight-bench-'));
const config = parseConfigObject(
  { receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } }, exporters: { jsonl: { path: join(dir, 'pp.jsonl') } }, service: { data_dir: dir } },
  components,
  DEFAULT_CONFIG,
);
const service = await startService(config, { logger: silentLogger });
const url = `${service.endpoints.find((e) => e.startsWith('http://'))}/v1/traces`;
let next = 0;
let refused = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const body = prepared[next++ % prepared.length] as Uint8Array;
      const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      await res.body.arrayBuffer();
      if (res.statusCode === 503) refused++;
    }
  }),
);
const accepted = performance.now() - t0;
await Promise.all(service.pipelines.map((p) => p.queue.drained()));
const processed = performance.now() - t0;
const spans = (REQUESTS - refused) * spansPerBody;
process.stdout.write(`${REQUESTS} requests × ${spansPerBody} spans, ${CONCURRENCY} clients: ${refused} answered 503\n`);
process.stdout.write(`accepted: ${Math.round(spans / (accepted / 1000)).toLocaleString('en-US')} spans/s; through the pipeline: ${Math.round(spans / (processed / 1000)).toLocaleString('en-US')} spans/s\n`);
process.stdout.write(`resident memory after: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB\n`);
await service.shutdown();
