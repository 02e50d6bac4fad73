import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportResponse, decodeStatus, decodeTraceRequest, RpcCode } from '../src/decode/index.js';
import { ExportTraceServiceRequestType } from '../src/decode/otlp-descriptor.js';
import { DEFAULT_ATTRIBUTE_MAPPING } from '../src/model/derive.js';
import { SpanKind, StatusCode, type SpanRecord } from '../src/model/span.js';
import { otlpReceiverConfigSchema } from '../src/receivers/otlp.js';
import { LLM_SPAN_ID, ROOT_SPAN_ID, T0_MS, TOOL_SPAN_ID, TRACE_ID, createProvider, recordRun, recordedSpans } from './fixtures/otlp/sdk-spans.js';
import { writeGzipBomb } from './fixtures/otlp/gzip-bomb.js';
import { counterValue, startReceiver, type StartedReceiver } from './receiver-harness.js';

const LIMIT = 64 * 1024;
let sdkSpans: ReadableSpan[];
let protobufBody: Uint8Array;
let jsonBody: Uint8Array;
let expected: SpanRecord[];

beforeAll(async () => {
  sdkSpans = await recordedSpans();
  protobufBody = ProtobufTraceSerializer.serializeRequest(sdkSpans) as Uint8Array;
  jsonBody = JsonTraceSerializer.serializeRequest(sdkSpans) as Uint8Array;
  expected = decodeTraceRequest(protobufBody, 'protobuf', DEFAULT_ATTRIBUTE_MAPPING).spans.sort((a, b) => a.spanId.localeCompare(b.spanId));
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request (node:http) so every header and the body are under the test's control. */
function send(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: Uint8Array | Uint8Array[] }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method: opts.method ?? 'POST', path: opts.path ?? '/v1/traces', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    const parts = opts.body === undefined ? [] : Array.isArray(opts.body) ? opts.body : [opts.body];
    for (const p of parts) req.write(p);
    req.end();
  });
}

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
const JSON_TYPE = { 'Content-Type': 'application/json' };

describe('OTLP/HTTP receiver with the OpenTelemetry JS SDK as client', () => {
  let r: StartedReceiver;
  beforeAll(async () => {
    r = await startReceiver({ http: { endpoint: '127.0.0.1:0' } });
  });
  afterAll(() => r.receiver.shutdown());

  async function exportWith(exporter: ProtoTraceExporter | JsonTraceExporter, batch: boolean): Promise<SpanRecord[]> {
    r.sink.spans.length = 0;
    const provider = createProvider(batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter));
    recordRun(provider.getTracer('kc-orchestrator-tracer', '0.9.0'));
    await provider.forceFlush();
    await provider.shutdown();
    await r.sink.waitFor(3);
    return r.sink.sorted();
  }

  it('starts on the real bound port', () => {
    expect(r.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.httpUrl).not.toBe('http://127.0.0.1:0');
    expect(r.grpcUrl).toBe('');
  });

  it('receives spans from the protobuf exporter with every field intact', async () => {
    const spans = await exportWith(new ProtoTraceExporter({ url: `${r.httpUrl}/v1/traces` }), false);
    expect(spans).toStrictEqual(expected);
    const root = spans.find((s) => s.spanId === ROOT_SPAN_ID);
    const llm = spans.find((s) => s.spanId === LLM_SPAN_ID);
    const tool = spans.find((s) => s.spanId === TOOL_SPAN_ID);
    expect(root?.traceId).toBe(TRACE_ID);
    expect(llm?.parentSpanId).toBe(ROOT_SPAN_ID);
    expect(llm?.kind).toBe(SpanKind.CLIENT);
    expect(llm?.startMs).toBe(T0_MS + 10.25);
    expect(llm?.durationMs).toBe(500.5);
    expect(llm?.statusCode).toBe(StatusCode.ERROR);
    expect(llm?.failed).toBe(true);
    expect(llm?.errorClass).toBe('RateLimitError');
    expect(llm?.provider).toBe('openai');
    expect(llm?.events[0]?.attributes['exception.type']).toBe('RateLimitError');
    expect(tool?.tool).toBe('web_search');
    expect(tool?.attributes['tool.ranks']).toEqual([1, 2, 3]);
    expect(tool?.attributes['tool.score']).toBe(0.875);
    expect(tool?.attributes['tool.cached']).toBe(false);
    expect(tool?.links[0]?.attributes['link.reason']).toBe('retry-of');
    expect(tool?.operationKey).toBe('kc-orchestrator execute_tool web_search');
    expect(root?.resource['service.name']).toBe('kc-orchestrator');
    expect(root?.taskType).toBe('Refactor');
  });

  it('receives the same records from the JSON exporter through a BatchSpanProcessor', async () => {
    const spans = await exportWith(new JsonTraceExporter({ url: `${r.httpUrl}/v1/traces` }), true);
    expect(spans).toStrictEqual(expected);
  });

  it('receives the same records from the protobuf exporter with gzip compression', async () => {
    const spans = await exportWith(new ProtoTraceExporter({ url: `${r.httpUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP }), false);
    expect(spans).toStrictEqual(expected);
  });

  it('counts received spans and wire bytes in /metrics on the same port', async () => {
    const before = await counterValue(r.ctx.metrics, 'sidelight_receiver_spans_received_total');
    const res = await send(r.httpUrl, { headers: PROTOBUF, body: protobufBody });
    expect(res.status).toBe(200);
    expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_spans_received_total')).toBe(before + 3);
    const metrics = await send(r.httpUrl, { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body.toString()).toMatch(/sidelight_receiver_requests_total\{transport="http",path="\/v1\/traces",status="200"\} \d+/);
    expect(metrics.body.toString()).toContain(`sidelight_receiver_spans_received_total ${before + 3}`);
    expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_bytes_received_total')).toBeGreaterThanOrEqual(protobufBody.length);
    const health = await send(r.httpUrl, { method: 'GET', path: '/healthz' });
    expect([health.status, health.body.toString()]).toEqual([200, 'ok\n']);
    expect((await send(r.httpUrl, { method: 'GET', path: '/readyz' })).status).toBe(200);
  });
});

describe('OTLP/HTTP bodies in every format decode to identical records', () => {
  let r: StartedReceiver;
  beforeAll(async () => {
    r = await startReceiver({ http: { endpoint: '127.0.0.1:0' } });
  });
  afterAll(() => r.receiver.shutdown());

  const cases: ReadonlyArray<[string, Record<string, string>, () => Uint8Array, string]> = [
    ['protobuf', PROTOBUF, () => protobufBody, 'application/x-protobuf'],
    ['JSON with a charset parameter', { 'Content-Type': 'application/json; charset=utf-8' }, () => jsonBody, 'application/json'],
    ['gzip protobuf', { ...PROTOBUF, 'Content-Encoding': 'gzip' }, () => gzipSync(protobufBody), 'application/x-protobuf'],
    ['gzip JSON', { ...JSON_TYPE, 'Content-Encoding': 'gzip' }, () => gzipSync(jsonBody), 'application/json'],
    ['deflate protobuf', { ...PROTOBUF, 'Content-Encoding': 'deflate' }, () => deflateSync(protobufBody), 'application/x-protobuf'],
  ];
  for (const [name, headers, body, responseType] of cases) {
    it(`accepts ${name} and answers 200 in the request's content type`, async () => {
      r.sink.spans.length = 0;
      const res = await send(r.httpUrl, { headers, body: body() });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(responseType);
      expect(decodeExportResponse(res.body, responseType === 'application/json' ? 'json' : 'protobuf')).toBeUndefined();
      expect(r.sink.sorted()).toStrictEqual(expected);
    });
  }

  it('keeps an attribute key __proto__ as data', async () => {
    r.sink.spans.length = 0;
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${ROOT_SPAN_ID}","name":"x","startTimeUnixNano":"1000000","endTimeUnixNano":"2000000","attributes":[{"key":"__proto__","value":{"stringValue":"polluted?"}},{"key":"isAdmin","value":{"boolValue":true}}]}]}]}]}`;
    const res = await send(r.httpUrl, { headers: JSON_TYPE, body: Buffer.from(body) });
    expect(res.status).toBe(200);
    const [span] = r.sink.spans;
    expect(Object.getOwnPropertyDescriptor(span?.attributes, '__proto__')?.value).toBe('polluted?');
    expect(Object.getPrototypeOf(span?.attributes)).toBeNull();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  });
});

describe('OTLP/HTTP error answers', () => {
  let r: StartedReceiver;
  let dir: string;
  beforeAll(async () => {
    r = await startReceiver({ http: { endpoint: '127.0.0.1:0', max_request_body_size: LIMIT } });
    dir = await mkdtemp(join(tmpdir(), 'sidelight-receiver-'));
  });
  afterAll(async () => {
    await r.receiver.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers partial success with rejected_spans for a span whose trace id has 15 bytes (protobuf)', async () => {
    const message = ExportTraceServiceRequestType.toObject(ExportTraceServiceRequestType.decode(protobufBody)) as {
      resourceSpans: { scopeSpans: { spans: { traceId: Uint8Array }[] }[] }[];
    };
    const span = message.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    if (span) span.traceId = span.traceId.subarray(0, 15);
    const body = ExportTraceServiceRequestType.encode(ExportTraceServiceRequestType.fromObject(message)).finish();
    r.sink.spans.length = 0;
    const res = await send(r.httpUrl, { headers: PROTOBUF, body });
    expect(res.status).toBe(200);
    const partial = decodeExportResponse(res.body, 'protobuf');
    expect(partial?.rejectedSpans).toBe(1);
    expect(partial?.errorMessage).toContain('trace id has 15 bytes, expected 16');
    expect(r.sink.spans).toHaveLength(2);
    expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_spans_rejected_total')).toBeGreaterThanOrEqual(1);
  });

  it('answers partial success in JSON for a JSON request', async () => {
    const body = await readFile(new URL('./fixtures/otlp/partially-invalid-trace.json', import.meta.url));
    const res = await send(r.httpUrl, { headers: JSON_TYPE, body });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({
      partialSuccess: {
        rejectedSpans: '3',
        errorMessage: 'rejected 3 of 4 spans: 2 with invalid trace id, 1 with invalid span id (first: trace id has 15 bytes, expected 16)',
      },
    });
  });

  it('answers 400 with a google.rpc.Status for an undecodable protobuf body', async () => {
    const res = await send(r.httpUrl, { headers: PROTOBUF, body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]) });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const status = decodeStatus(res.body, 'protobuf');
    expect(status.code).toBe(RpcCode.INVALID_ARGUMENT);
    expect(status.message).toMatch(/^invalid OTLP protobuf ExportTraceServiceRequest: /);
  });

  it('answers 400 with a JSON status for malformed JSON', async () => {
    const res = await send(r.httpUrl, { headers: JSON_TYPE, body: Buffer.from('{"resourceSpans": [') });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    const status = JSON.parse(res.body.toString()) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/^invalid JSON: /);
  });

  it('answers 400 for a body that is not valid gzip', async () => {
    const res = await send(r.httpUrl, { headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' }, body: Buffer.from('plain, not gzip') });
    expect(res.status).toBe(400);
    expect(decodeStatus(res.body, 'protobuf').message).toMatch(/^invalid gzip body: /);
  });

  it('answers 415 for other content types and encodings', async () => {
    const text = await send(r.httpUrl, { headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('hello') });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.body.toString()).message).toContain('unsupported content type "text/plain"');
    const brotli = await send(r.httpUrl, { headers: { ...PROTOBUF, 'Content-Encoding': 'br' }, body: protobufBody });
    expect(brotli.status).toBe(415);
    expect(decodeStatus(brotli.body, 'protobuf').message).toContain('unsupported content encoding "br"');
  });

  it('answers 404 for other paths and 405 with Allow for other methods', async () => {
    const other = await send(r.httpUrl, { path: '/v1/metrics', headers: PROTOBUF, body: protobufBody });
    expect(other.status).toBe(404);
    expect(decodeStatus(other.body, 'protobuf')).toEqual({ code: RpcCode.NOT_FOUND, message: 'unknown path "/v1/metrics"; OTLP traces go to /v1/traces' });
    const get = await send(r.httpUrl, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers['allow']).toBe('POST');
    expect(JSON.parse(get.body.toString()).message).toBe('method GET not allowed on /v1/traces; use POST');
  });

  it('answers 413 when the declared body size exceeds the limit', async () => {
    const res = await send(r.httpUrl, { headers: { ...PROTOBUF, 'Content-Length': String(LIMIT + 1) }, body: Buffer.alloc(LIMIT + 1) });
    expect(res.status).toBe(413);
    expect(decodeStatus(res.body, 'protobuf')).toEqual({
      code: RpcCode.RESOURCE_EXHAUSTED,
      message: `request body of ${LIMIT + 1} bytes exceeds the limit of ${LIMIT} bytes`,
    });
  });

  it('answers 413 when a chunked body without length passes the limit on the wire', async () => {
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 1));
    const res = await send(r.httpUrl, { headers: { ...PROTOBUF, 'Transfer-Encoding': 'chunked' }, body: chunks });
    expect(res.status).toBe(413);
    expect(decodeStatus(res.body, 'protobuf').message).toBe(`request body exceeds the limit of ${LIMIT} bytes`);
  });

  it('answers 413 when the body passes the limit after inflation', async () => {
    const compressed = gzipSync(Buffer.alloc(LIMIT * 4));
    expect(compressed.length).toBeLessThan(LIMIT);
    const res = await send(r.httpUrl, { headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' }, body: compressed });
    expect(res.status).toBe(413);
    expect(decodeStatus(res.body, 'protobuf').message).toBe(`request body exceeds the limit of ${LIMIT} bytes after gzip decompression`);
  });

  it('answers 503 with Retry-After when the ingest queue is full, and counts the refused spans', async () => {
    r.sink.accepting = false;
    try {
      const res = await send(r.httpUrl, { headers: PROTOBUF, body: protobufBody });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(decodeStatus(res.body, 'protobuf')).toEqual({ code: RpcCode.UNAVAILABLE, message: 'ingest queue is full; retry later' });
      expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_refused_spans_total')).toBe(3);
      expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_requests_total', { status: '503' })).toBe(1);
    } finally {
      r.sink.accepting = true;
    }
  });

  it('never crashes on garbage and keeps answering', async () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const body = Buffer.alloc(1 + (next() % 4_000));
      for (let j = 0; j < body.length; j++) body[j] = next() & 0xff;
      const headers = [PROTOBUF, JSON_TYPE, { ...PROTOBUF, 'Content-Encoding': 'gzip' }][i % 3] as Record<string, string>;
      const res = await send(r.httpUrl, { headers, body });
      statuses.add(res.status);
      expect([200, 400]).toContain(res.status);
    }
    expect(statuses.has(400)).toBe(true);
    expect((await send(r.httpUrl, { headers: PROTOBUF, body: protobufBody })).status).toBe(200);
  });

  it('stops inflating a 1 GiB gzip bomb at the limit and answers 413', async () => {
    const r8 = await startReceiver({ http: { endpoint: '127.0.0.1:0' } });
    try {
      const file = join(dir, 'bomb.gz');
      const compressedSize = await writeGzipBomb(file, 1024 * 1024 * 1024);
      expect(compressedSize).toBeLessThan(8 * 1024 * 1024);
      const before = process.memoryUsage().arrayBuffers;
      const res = await send(r8.httpUrl, { headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' }, body: await readFile(file) });
      expect(res.status).toBe(413);
      expect(decodeStatus(res.body, 'protobuf').message).toBe('request body exceeds the limit of 8388608 bytes after gzip decompression');
      // the bomb never inflated in memory: far below its 1 GiB
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
      expect(r8.sink.spans).toHaveLength(0);
    } finally {
      await r8.receiver.shutdown();
    }
  });
});

describe('telemetry endpoints on the OTLP/HTTP port', () => {
  it('answers /readyz 503 while not ready', async () => {
    let ready = false;
    const r = await startReceiver({ http: { endpoint: '127.0.0.1:0' } }, { ready: () => ready });
    try {
      expect((await send(r.httpUrl, { method: 'GET', path: '/readyz' })).status).toBe(503);
      ready = true;
      expect((await send(r.httpUrl, { method: 'GET', path: '/readyz' })).status).toBe(200);
    } finally {
      await r.receiver.shutdown();
    }
  });

  it('does not serve them when they have their own endpoint', async () => {
    const r = await startReceiver({ http: { endpoint: '127.0.0.1:0' } }, { serveTelemetry: false });
    try {
      expect((await send(r.httpUrl, { method: 'GET', path: '/metrics' })).status).toBe(404);
    } finally {
      await r.receiver.shutdown();
    }
  });
});

describe('otlp receiver config', () => {
  it('enables both protocols with loopback defaults when configured without protocols', () => {
    expect(otlpReceiverConfigSchema.parse(null)).toEqual({
      protocols: {
        http: { endpoint: '127.0.0.1:4318', max_request_body_size: 8 * 1024 * 1024 },
        grpc: { endpoint: '127.0.0.1:4317', max_recv_msg_size: 8 * 1024 * 1024 },
      },
    });
    expect(otlpReceiverConfigSchema.parse({})).toEqual(otlpReceiverConfigSchema.parse(null));
  });

  it('enables only the protocols listed, even when listed empty or null', () => {
    expect(otlpReceiverConfigSchema.parse({ protocols: { http: null } })).toEqual({
      protocols: { http: { endpoint: '127.0.0.1:4318', max_request_body_size: 8 * 1024 * 1024 } },
    });
    expect(otlpReceiverConfigSchema.parse({ protocols: { grpc: {} } }).protocols.http).toBeUndefined();
  });

  it('rejects an empty protocols section, unknown keys and bad endpoints with their paths', () => {
    expect(() => otlpReceiverConfigSchema.parse({ protocols: {} })).toThrow(/at least one protocol/);
    const typo = otlpReceiverConfigSchema.safeParse({ protocols: { htp: {} } });
    expect(typo.success).toBe(false);
    expect(typo.error?.issues[0]?.path).toEqual(['protocols']);
    expect(typo.error?.issues[0]?.message).toContain('htp');
    const endpoint = otlpReceiverConfigSchema.safeParse({ protocols: { http: { endpoint: 'localhost' } } });
    expect(endpoint.error?.issues[0]?.path).toEqual(['protocols', 'http', 'endpoint']);
  });
});
