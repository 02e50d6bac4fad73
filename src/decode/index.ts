/**
 * The one entry point of decoding (docs/architecture.md: receivers → decode → model): OTLP trace
 * export requests in protobuf or JSON become span records; export responses and google.rpc.Status
 * bodies are encoded in the request's format.
 */
import type { SpanRecord } from '../model/span.js';
import { deriveSpan, type AttributeMapping } from '../model/derive.js';
import { decodeProtobufTraceRequest } from './protobuf-decoder.js';
import { decodeJsonTraceRequest } from './json-decoder.js';
import { DecodeError, type RawBatch } from './span-fields.js';
import { ExportTraceServiceResponseType, RETRY_INFO_TYPE_URL, RetryInfoType, RpcStatusType } from './otlp-descriptor.js';

export { DecodeError } from './span-fields.js';
export type { RawBatch } from './span-fields.js';

export type OtlpFormat = 'protobuf' | 'json';

export interface DecodedTraceRequest {
  readonly spans: SpanRecord[];
  /** spans dropped as invalid (bad ids, missing times); the rest are kept */
  readonly rejectedSpans: number;
  /** why spans were rejected, for the partial-success answer */
  readonly errorMessage?: string;
}

/** Decodes without derivation: the raw spans of a request (for tools that derive with their own mapping). */
export function decodeRawTraceRequest(body: Uint8Array, format: OtlpFormat): RawBatch {
  try {
    return format === 'json' ? decodeJsonTraceRequest(body) : decodeProtobufTraceRequest(body);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    // anything else thrown on hostile input (stack depth, bad lengths) is still a bad body, never a crash
    throw new DecodeError(`undecodable OTLP ${format} body: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** Decodes an ExportTraceServiceRequest and derives every span record; throws DecodeError on an undecodable body. */
export function decodeTraceRequest(body: Uint8Array, format: OtlpFormat, mapping: AttributeMapping): DecodedTraceRequest {
  const raw = decodeRawTraceRequest(body, format);
  const spans = new Array<SpanRecord>(raw.spans.length);
  for (let i = 0; i < raw.spans.length; i++) spans[i] = deriveSpan(raw.spans[i] as (typeof raw.spans)[number], mapping);
  return raw.errorMessage === undefined
    ? { spans, rejectedSpans: raw.rejectedSpans }
    : { spans, rejectedSpans: raw.rejectedSpans, errorMessage: raw.errorMessage };
}

export interface PartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage?: string;
}

const EMPTY_JSON_RESPONSE = new TextEncoder().encode('{}');

/** ExportTraceServiceResponse; `partial_success` only when something was rejected (OTLP: full success leaves it unset). */
export function encodeExportResponse(format: OtlpFormat, partial?: PartialSuccess): Uint8Array {
  const hasPartial = partial !== undefined && (partial.rejectedSpans > 0 || (partial.errorMessage ?? '') !== '');
  if (format === 'json') {
    if (!hasPartial) return EMPTY_JSON_RESPONSE;
    // int64 is a decimal string in OTLP/JSON
    const body = { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage ?? '' } };
    return new TextEncoder().encode(JSON.stringify(body));
  }
  if (!hasPartial) return new Uint8Array(0);
  const message = ExportTraceServiceResponseType.fromObject({
    partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage ?? '' },
  });
  return ExportTraceServiceResponseType.encode(message).finish();
}

/** gRPC status codes used in google.rpc.Status bodies. */
export const RpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** google.rpc.Status, optionally with a RetryInfo detail (OTLP: how long a throttled client should wait). */
export function encodeStatus(format: OtlpFormat, code: number, message: string, retryDelaySeconds?: number): Uint8Array {
  if (format === 'json') {
    const body: Record<string, unknown> = { code, message };
    if (retryDelaySeconds !== undefined) {
      body.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${retryDelaySeconds}s` }];
    }
    return new TextEncoder().encode(JSON.stringify(body));
  }
  const details =
    retryDelaySeconds === undefined
      ? []
      : [
          {
            typeUrl: RETRY_INFO_TYPE_URL,
            value: RetryInfoType.encode(RetryInfoType.fromObject({ retryDelay: { seconds: retryDelaySeconds } })).finish(),
          },
        ];
  return RpcStatusType.encode(RpcStatusType.fromObject({ code, message, details })).finish();
}

/** Decodes a google.rpc.Status body (used by tests and clients of the receiver). */
export function decodeStatus(body: Uint8Array, format: OtlpFormat): { code: number; message: string } {
  if (format === 'json') {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { code?: number; message?: string };
    return { code: parsed.code ?? 0, message: parsed.message ?? '' };
  }
  const decoded = RpcStatusType.toObject(RpcStatusType.decode(body), { defaults: true }) as { code: number; message: string };
  return { code: decoded.code, message: decoded.message };
}

/** Decodes an ExportTraceServiceResponse body (used by tests and clients of the receiver). */
export function decodeExportResponse(body: Uint8Array, format: OtlpFormat): PartialSuccess | undefined {
  if (format === 'json') {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
    const p = parsed.partialSuccess;
    return p === undefined ? undefined : { rejectedSpans: Number(p.rejectedSpans ?? 0), errorMessage: p.errorMessage ?? '' };
  }
  const decoded = ExportTraceServiceResponseType.toObject(ExportTraceServiceResponseType.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
  };
  const p = decoded.partialSuccess;
  return p === undefined ? undefined : { rejectedSpans: p.rejectedSpans ?? 0, errorMessage: p.errorMessage ?? '' };
}
