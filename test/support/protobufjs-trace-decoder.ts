/**
 * The reference for src/decode/protobuf-decoder.ts: OTLP/protobuf ExportTraceServiceRequest → raw
 * spans through protobufjs' generated decoder (the decoder Sidelight used before its own reader).
 * Tests decode the same bodies with both and compare what they accept, reject and return.
 */
import type { AttrValue, Attributes, RawSpan, SpanEvent, SpanLink } from '../../src/model/span.js';
import { SpanKind, StatusCode } from '../../src/model/span.js';
import {
  ExportTraceServiceRequestType,
  type LongLike,
  type PbAnyValue,
  type PbExportTraceServiceRequest,
  type PbKeyValue,
  type PbSpan,
} from '../../src/decode/otlp-descriptor.js';
import {
  DecodeError,
  EMPTY_ATTRIBUTES,
  MAX_VALUE_DEPTH,
  RejectTally,
  durationMs,
  isZeroSpanIdHex,
  isZeroTime,
  nanoTimeFromLongOrNumber,
  nanoTimeToMs,
  newAttributes,
  spanIdProblem,
  traceIdProblem,
  type RawBatch,
} from '../../src/decode/span-fields.js';

const EMPTY_LIST: readonly never[] = Object.freeze([]);

function hexOf(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  if (Buffer.isBuffer(bytes)) return bytes.toString('hex');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** int64 as a number when it is safe, else an exact bigint. */
function int64Value(v: LongLike | number): number | bigint {
  if (typeof v === 'number') return v;
  const { low, high } = v;
  if (v.unsigned) {
    if (high >>> 0 < 0x200000) return (high >>> 0) * 4_294_967_296 + (low >>> 0);
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  }
  // |value| < 2^53 exactly when the signed high half lies in [-2^21, 2^21)
  if (high >= -0x200000 && high < 0x200000) return high * 4_294_967_296 + (low >>> 0);
  return (BigInt(high) << 32n) + BigInt(low >>> 0);
}

function anyValue(v: PbAnyValue | null | undefined, depth: number): AttrValue {
  if (v === null || v === undefined) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return v.intValue === undefined ? 0 : int64Value(v.intValue);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'bytesValue':
      // a copy: a view would keep the whole request body alive as long as the span lives
      return v.bytesValue === undefined ? new Uint8Array(0) : new Uint8Array(v.bytesValue);
    case 'arrayValue': {
      if (depth >= MAX_VALUE_DEPTH) return null;
      const values = v.arrayValue?.values ?? EMPTY_LIST;
      const out: AttrValue[] = new Array<AttrValue>(values.length);
      for (let i = 0; i < values.length; i++) out[i] = anyValue(values[i], depth + 1);
      return out;
    }
    case 'kvlistValue':
      if (depth >= MAX_VALUE_DEPTH) return null;
      return attributesOf(v.kvlistValue?.values, depth + 1);
    default:
      return null;
  }
}

function attributesOf(list: readonly PbKeyValue[] | undefined, depth = 0): Attributes {
  if (list === undefined || list.length === 0) return EMPTY_ATTRIBUTES;
  const out: Record<string, AttrValue> = newAttributes();
  for (const kv of list) {
    if (typeof kv.key !== 'string') continue;
    out[kv.key] = anyValue(kv.value, depth);
  }
  return out;
}

function spanKind(k: number | undefined): SpanKind {
  return k !== undefined && k >= 0 && k <= 5 ? (k as SpanKind) : SpanKind.UNSPECIFIED;
}

function statusCode(c: number | undefined): StatusCode {
  return c === 1 || c === 2 ? c : StatusCode.UNSET;
}

function convertSpan(s: PbSpan, resource: Attributes, scopeName: string, scopeVersion: string | undefined, tally: RejectTally): RawSpan | undefined {
  const traceId = hexOf(s.traceId);
  const traceProblem = traceIdProblem(traceId, s.traceId?.length ?? 0);
  if (traceProblem !== undefined) return void tally.reject('invalid trace id', traceProblem);
  const spanId = hexOf(s.spanId);
  const spanProblem = spanIdProblem(spanId, s.spanId?.length ?? 0);
  if (spanProblem !== undefined) return void tally.reject('invalid span id', spanProblem);
  let parentSpanId = hexOf(s.parentSpanId);
  if (parentSpanId !== undefined) {
    if (s.parentSpanId?.length !== 8) return void tally.reject('invalid parent span id', `parent span id has ${s.parentSpanId?.length} bytes, expected 8`);
    if (isZeroSpanIdHex(parentSpanId)) parentSpanId = undefined;
  }
  const start = nanoTimeFromLongOrNumber(s.startTimeUnixNano);
  const end = nanoTimeFromLongOrNumber(s.endTimeUnixNano);
  if (start === undefined || end === undefined || isZeroTime(start) || isZeroTime(end)) {
    return void tally.reject('missing start or end time', `span ${spanId} has no start or end time`);
  }
  const startMs = nanoTimeToMs(start);
  const duration = durationMs(start, end);

  let events: readonly SpanEvent[] = EMPTY_LIST;
  if (s.events !== undefined && s.events.length > 0) {
    const list: SpanEvent[] = [];
    for (const e of s.events) {
      const t = nanoTimeFromLongOrNumber(e.timeUnixNano);
      list.push({ name: e.name ?? '', timeMs: t === undefined ? 0 : nanoTimeToMs(t), attributes: attributesOf(e.attributes) });
    }
    events = list;
  }
  let links: readonly SpanLink[] = EMPTY_LIST;
  if (s.links !== undefined && s.links.length > 0) {
    const list: SpanLink[] = [];
    for (const l of s.links) {
      const linkTrace = hexOf(l.traceId);
      const linkSpan = hexOf(l.spanId);
      // a link to an unusable id is dropped, the span itself stays valid
      if (linkTrace === undefined || l.traceId?.length !== 16 || linkSpan === undefined || l.spanId?.length !== 8) continue;
      list.push({ traceId: linkTrace, spanId: linkSpan, attributes: attributesOf(l.attributes) });
    }
    links = list;
  }

  const span: {
    -readonly [K in keyof RawSpan]: RawSpan[K];
  } = {
    traceId: traceId as string,
    spanId: spanId as string,
    name: s.name ?? '',
    kind: spanKind(s.kind),
    startMs,
    endMs: duration > 0 ? nanoTimeToMs(end) : startMs,
    durationMs: duration,
    statusCode: statusCode(s.status?.code),
    statusMessage: s.status?.message ?? '',
    attributes: attributesOf(s.attributes),
    events,
    links,
    resource,
    scopeName,
  };
  if (parentSpanId !== undefined) span.parentSpanId = parentSpanId;
  if (scopeVersion !== undefined) span.scopeVersion = scopeVersion;
  return span;
}

/** Decodes an OTLP/protobuf trace export request; throws DecodeError when the bytes are not one. */
export function decodeWithProtobufjs(body: Uint8Array): RawBatch {
  let request: PbExportTraceServiceRequest;
  try {
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    request = ExportTraceServiceRequestType.decode(buffer) as unknown as PbExportTraceServiceRequest;
  } catch (err) {
    throw new DecodeError(`invalid OTLP protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  const tally = new RejectTally();
  const spans: RawSpan[] = [];
  for (const rs of request.resourceSpans ?? EMPTY_LIST) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? EMPTY_LIST) {
      const scopeName = ss.scope?.name ?? '';
      const scopeVersion = ss.scope?.version ? ss.scope.version : undefined;
      for (const s of ss.spans ?? EMPTY_LIST) {
        const span = convertSpan(s, resource, scopeName, scopeVersion, tally);
        if (span !== undefined) spans.push(span);
      }
    }
  }
  return tally.result(spans);
}
