/**
 * The JSONL span-record format: one SpanRecord per line, as written by `spanRecordToJson`.
 *
 * Attribute values that JSON cannot carry are tagged objects with one key:
 *   bigint → {"$bigint": "123"}, Uint8Array → {"$bytes": "<base64>"}, NaN / ±Infinity → {"$double": "NaN"};
 * a map attribute whose only key is one of these tags is wrapped as {"$map": {…}} so it reads back as a map.
 * On reading, the derived fields (service, operationKey, failed, …) are recomputed with the
 * configured attribute mapping, so a file written with one mapping is analyzed with the current one.
 */
import { z } from 'zod';
import { DEFAULT_ATTRIBUTE_MAPPING, deriveSpan, type AttributeMapping } from '../model/derive.js';
import type { AttrValue, Attributes, RawSpan, SpanRecord } from '../model/span.js';
import { formatPath, formatZodIssues } from '../kc/events.js';

const TAGS = new Set(['$bigint', '$bytes', '$double', '$map']);
/** attribute values nest (arrays, maps); deeper input is refused rather than recursed into */
const MAX_DEPTH = 32;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function attrValueToJson(value: AttrValue): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $double: String(value) };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return (value as readonly AttrValue[]).map(attrValueToJson);
  const out: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
  const entries = Object.entries(value as { readonly [key: string]: AttrValue });
  for (const [k, v] of entries) out[k] = attrValueToJson(v);
  const only = entries.length === 1 ? entries[0]?.[0] : undefined;
  return only !== undefined && TAGS.has(only) ? { $map: out } : out;
}

export function attributesToJson(attributes: Attributes): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
  for (const [k, v] of Object.entries(attributes)) out[k] = attrValueToJson(v);
  return out;
}

export class SpanJsonError extends Error {
  constructor(readonly path: readonly PropertyKey[], reason: string) {
    super(`${formatPath(path)}: ${reason}`);
    this.name = 'SpanJsonError';
  }
}

/** Reads a JSON attribute value back; maps get a null prototype so `__proto__` stays data. */
export function attrValueFromJson(value: unknown, path: readonly PropertyKey[] = [], depth = 0): AttrValue {
  if (depth > MAX_DEPTH) throw new SpanJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((v, i) => attrValueFromJson(v, [...path, i], depth + 1));
  if (typeof value !== 'object') throw new SpanJsonError(path, `not an attribute value (${typeof value})`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [tag, inner] = entries[0] as [string, unknown];
    switch (tag) {
      case '$bigint':
        if (typeof inner !== 'string' || !/^-?\d+$/.test(inner)) throw new SpanJsonError([...path, tag], 'expected a decimal integer string');
        return BigInt(inner);
      case '$bytes':
        if (typeof inner !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(inner)) throw new SpanJsonError([...path, tag], 'expected base64 text');
        return new Uint8Array(Buffer.from(inner, 'base64'));
      case '$double':
        if (inner !== 'NaN' && inner !== 'Infinity' && inner !== '-Infinity') throw new SpanJsonError([...path, tag], 'expected NaN, Infinity or -Infinity');
        return Number(inner);
      case '$map':
        if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw new SpanJsonError([...path, tag], 'expected an object');
        return mapFromJson(inner as Record<string, unknown>, [...path, tag], depth + 1);
    }
  }
  return mapFromJson(value as Record<string, unknown>, path, depth);
}

function mapFromJson(value: Record<string, unknown>, path: readonly PropertyKey[], depth: number): { [key: string]: AttrValue } {
  const out: { [key: string]: AttrValue } = Object.create(null) as { [key: string]: AttrValue };
  for (const [k, v] of Object.entries(value)) out[k] = attrValueFromJson(v, [...path, k], depth + 1);
  return out;
}

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${len}}$`), `expected ${len} hex characters`).transform((s) => s.toLowerCase());
const attributesJson = z.record(z.string(), z.unknown()).optional();
const timeMs = z.number().refine(Number.isFinite, 'expected a finite number of epoch milliseconds');

/** The raw fields of a span record line; derived fields may be present and are recomputed. */
export const spanRecordJsonSchema = z.looseObject({
  traceId: hex(32),
  spanId: hex(16),
  parentSpanId: z.union([hex(16), z.literal(''), z.null()]).optional(),
  name: z.string(),
  kind: z.number().int().min(0).max(5).default(0),
  startMs: timeMs,
  endMs: timeMs,
  statusCode: z.number().int().min(0).max(2).default(0),
  statusMessage: z.string().default(''),
  attributes: attributesJson,
  events: z.array(z.looseObject({ name: z.string(), timeMs, attributes: attributesJson })).default([]),
  links: z.array(z.looseObject({ traceId: hex(32), spanId: hex(16), attributes: attributesJson })).default([]),
  resource: attributesJson,
  scopeName: z.string().default(''),
  scopeVersion: z.string().optional(),
});

/** A span record as a plain JSON value (the JSONL line is `JSON.stringify` of it). */
export function spanRecordToJson(span: SpanRecord): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {
    traceId: span.traceId,
    spanId: span.spanId,
  };
  if (span.parentSpanId !== undefined) out['parentSpanId'] = span.parentSpanId;
  out['name'] = span.name;
  out['kind'] = span.kind;
  out['startMs'] = span.startMs;
  out['endMs'] = span.endMs;
  out['durationMs'] = span.durationMs;
  out['statusCode'] = span.statusCode;
  out['statusMessage'] = span.statusMessage;
  out['attributes'] = attributesToJson(span.attributes);
  out['events'] = span.events.map((e) => ({ name: e.name, timeMs: e.timeMs, attributes: attributesToJson(e.attributes) }));
  out['links'] = span.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesToJson(l.attributes) }));
  out['resource'] = attributesToJson(span.resource);
  out['scopeName'] = span.scopeName;
  if (span.scopeVersion !== undefined) out['scopeVersion'] = span.scopeVersion;
  return out;
}

/**
 * Validates and reads one span-record JSON value; throws SpanJsonError naming the field
 * (`attributes.size.$bigint: expected a decimal integer string`).
 */
export function spanRecordFromJson(value: unknown, mapping: AttributeMapping = DEFAULT_ATTRIBUTE_MAPPING): SpanRecord {
  const parsed = spanRecordJsonSchema.safeParse(value);
  if (!parsed.success) throw new SpanJsonError([], formatZodIssues(parsed.error).replace(/^\(root\): /, ''));
  const v = parsed.data;
  // zod's record copies keys onto a plain object; the original value is read again so `__proto__` keys stay data.
  const src = value as Record<string, unknown>;
  const attrs = (obj: unknown, path: PropertyKey[]): Attributes =>
    obj === undefined ? (Object.create(null) as Attributes) : mapFromJson(obj as Record<string, unknown>, path, 0);
  const srcEvents = (src['events'] ?? []) as Record<string, unknown>[];
  const srcLinks = (src['links'] ?? []) as Record<string, unknown>[];
  const raw: RawSpan = {
    traceId: v.traceId,
    spanId: v.spanId,
    ...(typeof v.parentSpanId === 'string' && v.parentSpanId !== '' ? { parentSpanId: v.parentSpanId } : {}),
    name: v.name,
    kind: v.kind,
    startMs: v.startMs,
    endMs: v.endMs,
    durationMs: v.endMs - v.startMs,
    statusCode: v.statusCode,
    statusMessage: v.statusMessage,
    attributes: attrs(src['attributes'], ['attributes']),
    events: v.events.map((e, i) => ({ name: e.name, timeMs: e.timeMs, attributes: attrs(srcEvents[i]?.['attributes'], ['events', i, 'attributes']) })),
    links: v.links.map((l, i) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(srcLinks[i]?.['attributes'], ['links', i, 'attributes']) })),
    resource: attrs(src['resource'], ['resource']),
    scopeName: v.scopeName,
    ...(v.scopeVersion !== undefined ? { scopeVersion: v.scopeVersion } : {}),
  };
  return deriveSpan(raw, mapping);
}
