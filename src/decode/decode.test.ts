import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  DecodeError,
  decodeExportResponse,
  decodeStatus,
  decodeTraceRequest,
  encodeExportResponse,
  encodeStatus,
  RpcCode,
} from './index.js';
import { ExportTraceServiceRequestType } from './otlp-descriptor.js';
import { DEFAULT_ATTRIBUTE_MAPPING } from '../model/derive.js';
import { SpanKind, StatusCode, type SpanRecord } from '../model/span.js';
import {
  LINKED_SPAN_ID,
  LINKED_TRACE_ID,
  LLM_SPAN_ID,
  ROOT_SPAN_ID,
  T0_MS,
  TOOL_SPAN_ID,
  TRACE_ID,
  recordedSpans,
} from '../../test/fixtures/otlp/sdk-spans.js';

const FIXTURES = new URL('../../test/fixtures/otlp/', import.meta.url);
const fixture = (name: string): Uint8Array => readFileSync(new URL(name, FIXTURES));
const mapping = DEFAULT_ATTRIBUTE_MAPPING;
const byId = (spans: readonly SpanRecord[], id: string): SpanRecord => {
  const s = spans.find((x) => x.spanId === id);
  if (!s) throw new Error(`span ${id} not decoded`);
  return s;
};

let sdkSpans: ReadableSpan[];
let protobufBody: Uint8Array;
let jsonBody: Uint8Array;
beforeAll(async () => {
  sdkSpans = await recordedSpans();
  protobufBody = ProtobufTraceSerializer.serializeRequest(sdkSpans) as Uint8Array;
  jsonBody = JsonTraceSerializer.serializeRequest(sdkSpans) as Uint8Array;
});

describe('decodeTraceRequest on spans serialized by the OpenTelemetry JS SDK', () => {
  it('decodes every span with ids, parent links, kinds and exact times', () => {
    const { spans, rejectedSpans } = decodeTraceRequest(protobufBody, 'protobuf', mapping);
    expect(rejectedSpans).toBe(0);
    expect(spans.map((s) => s.spanId).sort()).toEqual([LLM_SPAN_ID, TOOL_SPAN_ID, ROOT_SPAN_ID].sort());
    const root = byId(spans, ROOT_SPAN_ID);
    const llm = byId(spans, LLM_SPAN_ID);
    expect(root.traceId).toBe(TRACE_ID);
    expect(root.parentSpanId).toBeUndefined();
    expect(llm.parentSpanId).toBe(ROOT_SPAN_ID);
    expect(root.kind).toBe(SpanKind.INTERNAL);
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(root.startMs).toBe(T0_MS);
    expect(root.endMs).toBe(T0_MS + 2_000);
    expect(llm.startMs).toBe(T0_MS + 10.25);
    expect(llm.endMs).toBe(T0_MS + 510.75);
    expect(llm.durationMs).toBe(500.5);
    expect(root.scopeName).toBe('kc-orchestrator-tracer');
    expect(root.scopeVersion).toBe('0.9.0');
  });

  it('keeps attributes of every type, events with attributes and links', () => {
    const { spans } = decodeTraceRequest(protobufBody, 'protobuf', mapping);
    const tool = byId(spans, TOOL_SPAN_ID);
    expect({ ...tool.attributes }).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'web_search',
      'tool.query': 'otlp spec',
      'tool.results': 7,
      'tool.score': 0.875,
      'tool.cached': false,
      'tool.sources': ['a.example', 'b.example'],
      'tool.ranks': [1, 2, 3],
    });
    expect(tool.events).toHaveLength(1);
    expect(tool.events[0]?.name).toBe('cache.miss');
    expect(tool.events[0]?.timeMs).toBe(T0_MS + 601);
    expect({ ...tool.events[0]?.attributes }).toEqual({ 'cache.key': 'q:otlp', 'cache.size': 3 });
    expect(tool.links).toHaveLength(1);
    expect(tool.links[0]?.traceId).toBe(LINKED_TRACE_ID);
    expect(tool.links[0]?.spanId).toBe(LINKED_SPAN_ID);
    expect({ ...tool.links[0]?.attributes }).toEqual({ 'link.reason': 'retry-of' });
    expect(tool.statusCode).toBe(StatusCode.OK);
  });

  it('derives service, run, tool, model, provider, failure and error class', () => {
    const { spans } = decodeTraceRequest(protobufBody, 'protobuf', mapping);
    const root = byId(spans, ROOT_SPAN_ID);
    const llm = byId(spans, LLM_SPAN_ID);
    const tool = byId(spans, TOOL_SPAN_ID);
    expect(root.service).toBe('kc-orchestrator');
    expect(root.runId).toBe('run-42');
    expect(root.taskId).toBe('T-7');
    expect(root.taskType).toBe('Refactor');
    expect(root.agent).toBe('planner');
    expect(root.operationKey).toBe('kc-orchestrator invoke_agent planner Refactor');
    expect(llm.model).toBe('gpt-4o');
    expect(llm.provider).toBe('openai');
    expect(llm.inputTokens).toBe(1200);
    expect(llm.outputTokens).toBe(0);
    expect(llm.httpStatus).toBe(429);
    expect(llm.attempt).toBe(2);
    expect(llm.statusCode).toBe(StatusCode.ERROR);
    expect(llm.statusMessage).toBe('Rate limit reached for gpt-4o in organization org-abc123');
    expect(llm.failed).toBe(true);
    expect(llm.errorClass).toBe('RateLimitError');
    expect(tool.tool).toBe('web_search');
    expect(tool.operationName).toBe('execute_tool');
    expect(tool.failed).toBe(false);
    expect(tool.errorClass).toBeUndefined();
    expect(tool.operationKey).toBe('kc-orchestrator execute_tool web_search');
  });

  it('gives identical records for protobuf, JSON and gzip-inflated protobuf bodies', () => {
    const fromProtobuf = decodeTraceRequest(protobufBody, 'protobuf', mapping);
    const fromJson = decodeTraceRequest(jsonBody, 'json', mapping);
    const fromGzip = decodeTraceRequest(gunzipSync(gzipSync(protobufBody)), 'protobuf', mapping);
    expect(fromProtobuf.spans).toHaveLength(3);
    expect(fromJson).toStrictEqual(fromProtobuf);
    expect(fromGzip).toStrictEqual(fromProtobuf);
  });
});

describe('decodeTraceRequest on hand-written OTLP/JSON', () => {
  const { spans, rejectedSpans } = decodeTraceRequest(fixture('hand-written-trace.json'), 'json', mapping);
  const task = byId(spans, 'eee19b7ec3c1b174');
  const tool = byId(spans, '0102030405060708');

  it('reads upper-case hex ids, int64 times as strings and numbers, ignoring unknown fields', () => {
    expect(rejectedSpans).toBe(0);
    expect(task.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(task.parentSpanId).toBeUndefined();
    expect(task.startMs).toBe(1795687200000);
    expect(task.endMs).toBe(1795687260000.1235);
    expect(task.durationMs).toBe(60_000.123456);
    expect(tool.startMs).toBe(1795687201000);
    expect(tool.durationMs).toBe(250);
    expect(tool.parentSpanId).toBe('eee19b7ec3c1b174');
    expect(task.scopeName).toBe('kc.orchestrator');
    expect(task.scopeVersion).toBe('2.1.0');
  });

  it('accepts snake_case keys and enum names as protobuf JSON parsers do', () => {
    expect(tool.kind).toBe(SpanKind.CLIENT);
    expect(tool.statusCode).toBe(StatusCode.ERROR);
    expect(tool.tool).toBe('web_search');
    expect(tool.httpStatus).toBe(503);
    expect(tool.attempt).toBe(2);
    expect(tool.failed).toBe(true);
    expect(tool.errorClass).toBe('http_503');
  });

  it('keeps int64 beyond 2^53 exact as bigint and decodes bytes, doubles, arrays and maps', () => {
    const a = task.attributes;
    expect(a['kc.task.retry_count']).toBe(2);
    expect(a['kc.task.big_counter']).toBe(9007199254740993n);
    expect(a['kc.task.negative']).toBe(-9223372036854775808n);
    expect(a['kc.task.ratio']).toBe(0.25);
    expect(a['kc.task.nan']).toBeNaN();
    expect(a['kc.task.success']).toBe(false);
    expect(a['kc.task.digest']).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(a['kc.task.providers']).toEqual(['codex', 'claude']);
    expect(a['kc.task.empty']).toBeNull();
    const limits = a['kc.task.limits'] as Record<string, unknown>;
    expect(limits['max_retries']).toBe(3);
    expect(Object.getOwnPropertyDescriptor(limits, '__proto__')?.value).toBe('nested-data');
  });

  it('keeps the attribute key __proto__ as plain data, never as the prototype', () => {
    const a = task.attributes;
    expect(Object.getPrototypeOf(a)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(a, '__proto__')?.value).toBe('just-data');
    expect(Object.getOwnPropertyDescriptor(a, 'constructor')?.value).toBe('also-data');
    expect(Object.keys(a)).toContain('__proto__');
    expect(({} as Record<string, unknown>)['kc.task.id']).toBeUndefined();
  });

  it('derives run id, task type from the title and the error class from the status message', () => {
    expect(task.service).toBe('kc-orchestrator');
    expect(task.runId).toBe('run-2026-11-26');
    expect(task.taskId).toBe('T-12');
    expect(task.taskType).toBe('Refactor');
    expect(task.operationKey).toBe('kc-orchestrator task Refactor payment service Refactor');
    expect(task.failed).toBe(true);
    expect(task.errorClass).toBe('Request timed out after <num> ms');
    expect(task.events[0]?.timeMs).toBe(1795687230000.5);
    expect(task.events[0]?.attributes['kc.fallback.reason']).toBe('429 Too Many Requests');
  });
});

describe('rejection of invalid spans', () => {
  it('keeps the good spans and counts the ones with bad trace or span ids', () => {
    const result = decodeTraceRequest(fixture('partially-invalid-trace.json'), 'json', mapping);
    expect(result.spans.map((s) => s.name)).toEqual(['good span']);
    expect(result.rejectedSpans).toBe(3);
    expect(result.errorMessage).toBe(
      'rejected 3 of 4 spans: 2 with invalid trace id, 1 with invalid span id (first: trace id has 15 bytes, expected 16)',
    );
  });

  it('rejects a protobuf span whose trace id has 15 bytes', () => {
    const decoded = ExportTraceServiceRequestType.toObject(ExportTraceServiceRequestType.decode(protobufBody)) as {
      resourceSpans: { scopeSpans: { spans: { traceId: Uint8Array }[] }[] }[];
    };
    const first = decoded.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    if (!first) throw new Error('no span');
    first.traceId = first.traceId.subarray(0, 15);
    const body = ExportTraceServiceRequestType.encode(ExportTraceServiceRequestType.fromObject(decoded)).finish();
    const result = decodeTraceRequest(body, 'protobuf', mapping);
    expect(result.spans).toHaveLength(2);
    expect(result.rejectedSpans).toBe(1);
    expect(result.errorMessage).toContain('trace id has 15 bytes, expected 16');
  });

  it('rejects spans without an end time', () => {
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: ROOT_SPAN_ID, name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '0' }] }] }],
    });
    const result = decodeTraceRequest(Buffer.from(body), 'json', mapping);
    expect(result.spans).toEqual([]);
    expect(result.rejectedSpans).toBe(1);
  });

  it('names the service unknown_service when the resource has no service.name', () => {
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: ROOT_SPAN_ID, name: 'x', startTimeUnixNano: '1000000', endTimeUnixNano: '3000000' }] }] }],
    });
    const [span] = decodeTraceRequest(Buffer.from(body), 'json', mapping).spans;
    expect(span?.service).toBe('unknown_service');
    expect(span?.runId).toBe(TRACE_ID);
    expect(span?.startMs).toBe(1);
    expect(span?.durationMs).toBe(2);
  });
});

describe('undecodable bodies', () => {
  it('throws DecodeError for bytes that are not protobuf', () => {
    expect(() => decodeTraceRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'protobuf', mapping)).toThrow(DecodeError);
    expect(() => decodeTraceRequest(Buffer.from('not protobuf at all, just text'), 'protobuf', mapping)).toThrow(DecodeError);
  });

  it('throws DecodeError with the parser message for broken JSON and wrong structure', () => {
    expect(() => decodeTraceRequest(Buffer.from('{"resourceSpans": ['), 'json', mapping)).toThrow(/invalid JSON/);
    expect(() => decodeTraceRequest(Buffer.from('[1,2]'), 'json', mapping)).toThrow(/request must be an object/);
    expect(() => decodeTraceRequest(Buffer.from('{"resourceSpans": 5}'), 'json', mapping)).toThrow(/resourceSpans must be an array/);
  });

  it('decodes an empty body as an empty request', () => {
    expect(decodeTraceRequest(new Uint8Array(0), 'protobuf', mapping)).toEqual({ spans: [], rejectedSpans: 0 });
    expect(decodeTraceRequest(Buffer.from('{}'), 'json', mapping)).toEqual({ spans: [], rejectedSpans: 0 });
  });

  it('never throws anything but DecodeError on random bytes', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2_000; i++) {
      const body = Buffer.alloc(1 + (next() % 200));
      for (let j = 0; j < body.length; j++) body[j] = next() & 0xff;
      // half of the cases start from a valid body with a corrupted tail
      const input = i % 2 === 0 ? body : Buffer.concat([Buffer.from(protobufBody).subarray(0, next() % protobufBody.length), body]);
      for (const format of ['protobuf', 'json'] as const) {
        try {
          decodeTraceRequest(input, format, mapping);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }
    }
  });

  it('survives deeply nested attribute values', () => {
    let value = '{"stringValue":"leaf"}';
    for (let i = 0; i < 5_000; i++) value = `{"arrayValue":{"values":[${value}]}}`;
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${ROOT_SPAN_ID}","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":${value}}]}]}]}]}`;
    const [span] = decodeTraceRequest(Buffer.from(body), 'json', mapping).spans;
    let depth = 0;
    let v: unknown = span?.attributes['deep'];
    while (Array.isArray(v)) {
      v = v[0];
      depth++;
    }
    expect(depth).toBe(32);
    expect(v).toBeNull();
  });
});

describe('response encoding', () => {
  it('encodes a full success as an empty message and a partial success with its counts', () => {
    expect(encodeExportResponse('protobuf')).toHaveLength(0);
    expect(Buffer.from(encodeExportResponse('json')).toString()).toBe('{}');
    const partial = { rejectedSpans: 3, errorMessage: 'rejected 3 of 4 spans' };
    expect(decodeExportResponse(encodeExportResponse('protobuf', partial), 'protobuf')).toEqual(partial);
    expect(JSON.parse(Buffer.from(encodeExportResponse('json', partial)).toString())).toEqual({
      partialSuccess: { rejectedSpans: '3', errorMessage: 'rejected 3 of 4 spans' },
    });
  });

  it('encodes google.rpc.Status in both formats', () => {
    expect(decodeStatus(encodeStatus('protobuf', RpcCode.INVALID_ARGUMENT, 'bad body'), 'protobuf')).toEqual({ code: 3, message: 'bad body' });
    expect(decodeStatus(encodeStatus('json', RpcCode.UNAVAILABLE, 'queue full', 1), 'json')).toEqual({ code: 14, message: 'queue full' });
  });
});
