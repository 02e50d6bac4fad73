/**
 * OTLP/JSON ExportTraceServiceRequest → raw spans, per the OTLP JSON mapping: trace and span ids
 * are hex strings (not base64), keys lowerCamelCase (snake_case accepted, as protobuf JSON parsers
 * do), enums integers (names accepted), int64 decimal strings or numbers, unknown fields ignored.
 */
import type { AttrValue, Attributes, RawSpan, SpanEvent, SpanLink } from '../model/span.js';
import { SpanKind, StatusCode } from '../model/span.js';
import {
  DecodeError,
  EMPTY_ATTRIBUTES,
  MAX_VALUE_DEPTH,
  RejectTally,
  durationMs,
  isZeroSpanIdHex,
  isZeroTime,
  nanoTimeFromDecimal,
  nanoTimeFromNumber,
  nanoTimeToMs,
  newAttributes,
  spanIdProblem,
  traceIdProblem,
  type NanoTime,
  type RawBatch,
} from './span-fields.js';

type JsonObject = { readonly [key: string]: unknown };
const EMPTY_LIST: readonly never[] = Object.freeze([]);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its lowerCamelCase name, else its snake_case name (own properties only). */
function field(o: JsonObject, camel: string, snake?: string): unknown {
  if (Object.hasOwn(o, camel)) return o[camel];
  if (snake !== undefined && Object.hasOwn(o, snake)) return o[snake];
  return undefined;
}

function list(o: JsonObject, camel: string, snake?: string): readonly unknown[] {
  const v = field(o, camel, snake);
  return Array.isArray(v) ? v : EMPTY_LIST;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

const HEX = /^[0-9a-fA-F]*$/;

/** A hex id string and its byte length; odd lengths and non-hex text count as the wrong length. */
function hexId(v: unknown): { hex: string | undefined; bytes: number } {
  if (typeof v !== 'string' || v === '') return { hex: undefined, bytes: 0 };
  if (v.length % 2 !== 0 || !HEX.test(v)) return { hex: undefined, bytes: Math.floor(v.length / 2) };
  return { hex: v.toLowerCase(), bytes: v.length / 2 };
}

function nanoTime(v: unknown): NanoTime | undefined {
  if (typeof v === 'string') return nanoTimeFromDecimal(v.trim());
  if (typeof v === 'number') return nanoTimeFromNumber(v);
  return undefined;
}

/** int64 from a decimal string or a number: a number when safe, else an exact bigint. */
function int64(v: unknown): number | bigint | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v !== 'string' || !/^\s*[+-]?\d+\s*$/.test(v)) return null;
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  try {
    return BigInt(v.trim());
  } catch {
    return null;
  }
}

function double(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    // proto3 JSON spells the special values as strings
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    return v.trim() !== '' && !Number.isNaN(n) ? n : null;
  }
  return null;
}

function base64Bytes(v: unknown): Uint8Array {
  if (typeof v !== 'string') return new Uint8Array(0);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function anyValue(v: unknown, depth: number): AttrValue {
  if (!isObject(v)) return null;
  let x = field(v, 'stringValue', 'string_value');
  if (x !== undefined) return typeof x === 'string' ? x : String(x);
  x = field(v, 'boolValue', 'bool_value');
  if (x !== undefined) return x === true || x === 'true';
  x = field(v, 'intValue', 'int_value');
  if (x !== undefined) return int64(x);
  x = field(v, 'doubleValue', 'double_value');
  if (x !== undefined) return double(x);
  x = field(v, 'bytesValue', 'bytes_value');
  if (x !== undefined) return base64Bytes(x);
  x = field(v, 'arrayValue', 'array_value');
  if (x !== undefined) {
    if (depth >= MAX_VALUE_DEPTH || !isObject(x)) return null;
    return list(x, 'values').map((item) => anyValue(item, depth + 1));
  }
  x = field(v, 'kvlistValue', 'kvlist_value');
  if (x !== undefined) {
    if (depth >= MAX_VALUE_DEPTH || !isObject(x)) return null;
    return attributesOf(list(x, 'values'), depth + 1);
  }
  return null;
}

function attributesOf(kvs: readonly unknown[], depth = 0): Attributes {
  if (kvs.length === 0) return EMPTY_ATTRIBUTES;
  const out: Record<string, AttrValue> = newAttributes();
  for (const kv of kvs) {
    if (!isObject(kv) || typeof kv.key !== 'string') continue;
    out[kv.key] = anyValue(field(kv, 'value'), depth);
  }
  return out;
}

const SPAN_KIND_NAMES: Readonly<Record<string, SpanKind>> = {
  SPAN_KIND_UNSPECIFIED: SpanKind.UNSPECIFIED,
  SPAN_KIND_INTERNAL: SpanKind.INTERNAL,
  SPAN_KIND_SERVER: SpanKind.SERVER,
  SPAN_KIND_CLIENT: SpanKind.CLIENT,
  SPAN_KIND_PRODUCER: SpanKind.PRODUCER,
  SPAN_KIND_CONSUMER: SpanKind.CONSUMER,
};
const STATUS_CODE_NAMES: Readonly<Record<string, StatusCode>> = {
  STATUS_CODE_UNSET: StatusCode.UNSET,
  STATUS_CODE_OK: StatusCode.OK,
  STATUS_CODE_ERROR: StatusCode.ERROR,
};

function spanKind(v: unknown): SpanKind {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 5 ? (v as SpanKind) : SpanKind.UNSPECIFIED;
  if (typeof v === 'string') return (Object.hasOwn(SPAN_KIND_NAMES, v) ? SPAN_KIND_NAMES[v] : undefined) ?? SpanKind.UNSPECIFIED;
  return SpanKind.UNSPECIFIED;
}

function statusCode(v: unknown): StatusCode {
  if (v === 1 || v === 2) return v;
  if (typeof v === 'string') return (Object.hasOwn(STATUS_CODE_NAMES, v) ? STATUS_CODE_NAMES[v] : undefined) ?? StatusCode.UNSET;
  return StatusCode.UNSET;
}

function convertSpan(s: unknown, resource: Attributes, scopeName: string, scopeVersion: string | undefined, tally: RejectTally): RawSpan | undefined {
  if (!isObject(s)) return void tally.reject('malformed span', 'span is not a JSON object');
  const trace = hexId(field(s, 'traceId', 'trace_id'));
  const traceProblem = traceIdProblem(trace.hex, trace.bytes);
  if (traceProblem !== undefined) return void tally.reject('invalid trace id', traceProblem);
  const span = hexId(field(s, 'spanId', 'span_id'));
  const spanProblem = spanIdProblem(span.hex, span.bytes);
  if (spanProblem !== undefined) return void tally.reject('invalid span id', spanProblem);
  const parentField = field(s, 'parentSpanId', 'parent_span_id');
  const parent = hexId(parentField);
  let parentSpanId: string | undefined;
  if (parentField !== undefined && parentField !== null && parentField !== '') {
    if (parent.hex === undefined || parent.bytes !== 8) {
      return void tally.reject('invalid parent span id', `parent span id has ${parent.bytes} bytes, expected 8`);
    }
    if (!isZeroSpanIdHex(parent.hex)) parentSpanId = parent.hex;
  }
  const start = nanoTime(field(s, 'startTimeUnixNano', 'start_time_unix_nano'));
  const end = nanoTime(field(s, 'endTimeUnixNano', 'end_time_unix_nano'));
  if (start === undefined || end === undefined || isZeroTime(start) || isZeroTime(end)) {
    return void tally.reject('missing start or end time', `span ${span.hex} has no start or end time`);
  }
  const startMs = nanoTimeToMs(start);
  const duration = durationMs(start, end);

  const eventList = list(s, 'events');
  const events: SpanEvent[] = [];
  for (const e of eventList) {
    if (!isObject(e)) continue;
    const t = nanoTime(field(e, 'timeUnixNano', 'time_unix_nano'));
    events.push({ name: str(e.name), timeMs: t === undefined ? 0 : nanoTimeToMs(t), attributes: attributesOf(list(e, 'attributes')) });
  }
  const links: SpanLink[] = [];
  for (const l of list(s, 'links')) {
    if (!isObject(l)) continue;
    const lt = hexId(field(l, 'traceId', 'trace_id'));
    const ls = hexId(field(l, 'spanId', 'span_id'));
    // a link to an unusable id is dropped, the span itself stays valid
    if (lt.hex === undefined || lt.bytes !== 16 || ls.hex === undefined || ls.bytes !== 8) continue;
    links.push({ traceId: lt.hex, spanId: ls.hex, attributes: attributesOf(list(l, 'attributes')) });
  }
  const status = field(s, 'status');
  const out: { -readonly [K in keyof RawSpan]: RawSpan[K] } = {
    traceId: trace.hex as string,
    spanId: span.hex as string,
    name: str(s.name),
    kind: spanKind(s.kind),
    startMs,
    endMs: duration > 0 ? nanoTimeToMs(end) : startMs,
    durationMs: duration,
    statusCode: isObject(status) ? statusCode(status.code) : StatusCode.UNSET,
    statusMessage: isObject(status) ? str(status.message) : '',
    attributes: attributesOf(list(s, 'attributes')),
    events: events.length > 0 ? events : EMPTY_LIST,
    links: links.length > 0 ? links : EMPTY_LIST,
    resource,
    scopeName,
  };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  if (scopeVersion !== undefined) out.scopeVersion = scopeVersion;
  return out;
}

function structure(v: unknown, path: string): JsonObject {
  if (!isObject(v)) throw new DecodeError(`invalid OTLP JSON: ${path} must be an object`);
  return v;
}

function structureList(o: JsonObject, camel: string, snake: string, path: string): readonly unknown[] {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return EMPTY_LIST;
  if (!Array.isArray(v)) throw new DecodeError(`invalid OTLP JSON: ${path}.${camel} must be an array`);
  return v;
}

/** Decodes an OTLP/JSON trace export request; throws DecodeError when the body is not one. */
export function decodeJsonTraceRequest(body: Uint8Array): RawBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  const request = structure(parsed, 'request');
  const tally = new RejectTally();
  const spans: RawSpan[] = [];
  structureList(request, 'resourceSpans', 'resource_spans', 'request').forEach((rsValue, i) => {
    const rs = structure(rsValue, `resourceSpans[${i}]`);
    const resourceValue = field(rs, 'resource');
    const resource = isObject(resourceValue) ? attributesOf(list(resourceValue, 'attributes')) : EMPTY_ATTRIBUTES;
    structureList(rs, 'scopeSpans', 'scope_spans', `resourceSpans[${i}]`).forEach((ssValue, j) => {
      const ss = structure(ssValue, `resourceSpans[${i}].scopeSpans[${j}]`);
      const scope = field(ss, 'scope');
      const scopeName = isObject(scope) ? str(scope.name) : '';
      const version = isObject(scope) ? str(scope.version) : '';
      const spanList = structureList(ss, 'spans', 'spans', `resourceSpans[${i}].scopeSpans[${j}]`);
      for (const s of spanList) {
        const span = convertSpan(s, resource, scopeName, version === '' ? undefined : version, tally);
        if (span !== undefined) spans.push(span);
      }
    });
  });
  return tally.result(spans);
}
