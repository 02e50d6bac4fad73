import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportResponse, decodeStatus, decodeTraceRequest, type PartialSuccess } from '../src/decode/index.js';
import { ExportTraceServiceRequestType, RetryInfoType, RpcStatusType, TRACE_SERVICE_EXPORT_PATH } from '../src/decode/otlp-descriptor.js';
import { DEFAULT_ATTRIBUTE_MAPPING } from '../src/model/derive.js';
import type { SpanRecord } from '../src/model/span.js';
import { LLM_SPAN_ID, ROOT_SPAN_ID, createProvider, recordRun, recordedSpans } from './fixtures/otlp/sdk-spans.js';
import { counterValue, startReceiver, type StartedReceiver } from './receiver-harness.js';

const LIMIT = 64 * 1024;
let protobufBody: Uint8Array;
let expected: SpanRecord[];
let r: StartedReceiver;
let client: grpc.Client;

beforeAll(async () => {
  protobufBody = ProtobufTraceSerializer.serializeRequest(await recordedSpans()) as Uint8Array;
  expected = decodeTraceRequest(protobufBody, 'protobuf', DEFAULT_ATTRIBUTE_MAPPING).spans.sort((a, b) => a.spanId.localeCompare(b.spanId));
  r = await startReceiver({ grpc: { endpoint: '127.0.0.1:0', max_recv_msg_size: LIMIT } });
  client = new grpc.Client(r.grpcUrl.replace('grpc://', ''), grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await r.receiver.shutdown();
});

/** One raw Export call with a hand-made body. */
function exportRaw(body: Uint8Array): Promise<{ error: grpc.ServiceError | null; response?: PartialSuccess }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      TRACE_SERVICE_EXPORT_PATH,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      (error, response) => resolve({ error, response: response === undefined ? undefined : decodeExportResponse(response, 'protobuf') }),
    );
  });
}

async function exportWithSdk(exporter: GrpcTraceExporter, batch: boolean): Promise<SpanRecord[]> {
  r.sink.spans.length = 0;
  const provider = createProvider(batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter));
  recordRun(provider.getTracer('kc-orchestrator-tracer', '0.9.0'));
  await provider.forceFlush();
  await provider.shutdown();
  await r.sink.waitFor(3);
  return r.sink.sorted();
}

describe('OTLP/gRPC receiver', () => {
  it('starts on the real bound port', () => {
    expect(r.grpcUrl).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+$/);
    expect(r.grpcUrl).not.toBe('grpc://127.0.0.1:0');
    expect(r.httpUrl).toBe('');
  });

  it('receives spans from the OpenTelemetry JS gRPC exporter with every field intact', async () => {
    const spans = await exportWithSdk(new GrpcTraceExporter({ url: r.grpcUrl.replace('grpc://', 'http://') }), false);
    expect(spans).toStrictEqual(expected);
    const llm = spans.find((s) => s.spanId === LLM_SPAN_ID);
    expect(llm?.parentSpanId).toBe(ROOT_SPAN_ID);
    expect(llm?.failed).toBe(true);
    expect(llm?.errorClass).toBe('RateLimitError');
    expect(llm?.model).toBe('gpt-4o');
  });

  it('receives the same records from a gzip-compressing exporter through a BatchSpanProcessor', async () => {
    const exporter = new GrpcTraceExporter({ url: r.grpcUrl.replace('grpc://', 'http://'), compression: CompressionAlgorithm.GZIP });
    expect(await exportWithSdk(exporter, true)).toStrictEqual(expected);
  });

  it('answers an empty response for a full success and counts the spans', async () => {
    const before = await counterValue(r.ctx.metrics, 'sidelight_receiver_spans_received_total');
    const { error, response } = await exportRaw(protobufBody);
    expect(error).toBeNull();
    expect(response).toBeUndefined();
    expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_spans_received_total')).toBe(before + 3);
    expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_requests_total', { transport: 'grpc', status: 'OK' })).toBeGreaterThan(0);
  });

  it('answers partial success for a span whose trace id has 15 bytes', async () => {
    const message = ExportTraceServiceRequestType.toObject(ExportTraceServiceRequestType.decode(protobufBody)) as {
      resourceSpans: { scopeSpans: { spans: { traceId: Uint8Array }[] }[] }[];
    };
    const span = message.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    if (span) span.traceId = span.traceId.subarray(0, 15);
    r.sink.spans.length = 0;
    const { error, response } = await exportRaw(ExportTraceServiceRequestType.encode(ExportTraceServiceRequestType.fromObject(message)).finish());
    expect(error).toBeNull();
    expect(response?.rejectedSpans).toBe(1);
    expect(response?.errorMessage).toContain('trace id has 15 bytes, expected 16');
    expect(r.sink.spans).toHaveLength(2);
  });

  it('answers INVALID_ARGUMENT for an undecodable message', async () => {
    const { error } = await exportRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/^invalid OTLP protobuf ExportTraceServiceRequest: /);
  });

  it('answers RESOURCE_EXHAUSTED for a message over max_recv_msg_size', async () => {
    const { error } = await exportRaw(Buffer.alloc(LIMIT + 1));
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('answers UNAVAILABLE with RetryInfo when the ingest queue is full', async () => {
    r.sink.accepting = false;
    try {
      const { error } = await exportRaw(protobufBody);
      expect(error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(error?.details).toBe('ingest queue is full; retry later');
      const [details] = error?.metadata.get('grpc-status-details-bin') ?? [];
      expect(details).toBeInstanceOf(Buffer);
      const status = RpcStatusType.toObject(RpcStatusType.decode(details as Buffer), { longs: Number }) as {
        code: number;
        details: { typeUrl: string; value: Uint8Array }[];
      };
      expect(decodeStatus(details as Buffer, 'protobuf')).toEqual({ code: 14, message: 'ingest queue is full; retry later' });
      expect(status.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
      const retry = RetryInfoType.toObject(RetryInfoType.decode(status.details[0]?.value as Uint8Array), { longs: Number });
      expect(retry).toEqual({ retryDelay: { seconds: 1 } });
      expect(await counterValue(r.ctx.metrics, 'sidelight_receiver_refused_spans_total')).toBe(3);
    } finally {
      r.sink.accepting = true;
    }
  });

  it('never crashes on garbage messages and keeps answering', async () => {
    let seed = 99;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 40; i++) {
      const body = Buffer.alloc(1 + (next() % 2_000));
      for (let j = 0; j < body.length; j++) body[j] = next() & 0xff;
      const { error } = await exportRaw(body);
      expect([undefined, grpc.status.INVALID_ARGUMENT]).toContain(error?.code);
    }
    expect((await exportRaw(protobufBody)).error).toBeNull();
  });
});
