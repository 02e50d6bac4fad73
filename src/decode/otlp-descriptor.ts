/**
 * protobufjs descriptors of the OTLP trace export messages, written from the public field
 * numbers of opentelemetry-proto (common/v1, resource/v1, trace/v1, collector/trace/v1) and
 * google.rpc.Status / RetryInfo. Field names are lowerCamelCase, as protobufjs and the OTLP/JSON
 * mapping use them; only numbers and types matter on the wire.
 */
import protobuf from 'protobufjs';

type FieldSpec = { type: string; id: number; rule?: 'repeated' };
type MessageSpec = { fields: Record<string, FieldSpec>; oneofs?: Record<string, { oneof: string[] }> };
type EnumSpec = { values: Record<string, number> };

const COMMON = 'opentelemetry.proto.common.v1';
const RESOURCE = 'opentelemetry.proto.resource.v1';
const TRACE = 'opentelemetry.proto.trace.v1';
const COLLECTOR = 'opentelemetry.proto.collector.trace.v1';

const f = (type: string, id: number): FieldSpec => ({ type, id });
const many = (type: string, id: number): FieldSpec => ({ type, id, rule: 'repeated' });

const MESSAGES: Record<string, MessageSpec> = {
  [`${COMMON}.AnyValue`]: {
    oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
    fields: {
      stringValue: f('string', 1),
      boolValue: f('bool', 2),
      intValue: f('int64', 3),
      doubleValue: f('double', 4),
      arrayValue: f(`.${COMMON}.ArrayValue`, 5),
      kvlistValue: f(`.${COMMON}.KeyValueList`, 6),
      bytesValue: f('bytes', 7),
    },
  },
  [`${COMMON}.ArrayValue`]: { fields: { values: many(`.${COMMON}.AnyValue`, 1) } },
  [`${COMMON}.KeyValueList`]: { fields: { values: many(`.${COMMON}.KeyValue`, 1) } },
  [`${COMMON}.KeyValue`]: { fields: { key: f('string', 1), value: f(`.${COMMON}.AnyValue`, 2) } },
  [`${COMMON}.InstrumentationScope`]: {
    fields: {
      name: f('string', 1),
      version: f('string', 2),
      attributes: many(`.${COMMON}.KeyValue`, 3),
      droppedAttributesCount: f('uint32', 4),
    },
  },
  [`${RESOURCE}.Resource`]: {
    fields: { attributes: many(`.${COMMON}.KeyValue`, 1), droppedAttributesCount: f('uint32', 2) },
  },
  [`${TRACE}.ResourceSpans`]: {
    fields: { resource: f(`.${RESOURCE}.Resource`, 1), scopeSpans: many(`.${TRACE}.ScopeSpans`, 2), schemaUrl: f('string', 3) },
  },
  [`${TRACE}.ScopeSpans`]: {
    fields: { scope: f(`.${COMMON}.InstrumentationScope`, 1), spans: many(`.${TRACE}.Span`, 2), schemaUrl: f('string', 3) },
  },
  [`${TRACE}.Span`]: {
    fields: {
      traceId: f('bytes', 1),
      spanId: f('bytes', 2),
      traceState: f('string', 3),
      parentSpanId: f('bytes', 4),
      flags: f('fixed32', 16),
      name: f('string', 5),
      kind: f(`.${TRACE}.Span.SpanKind`, 6),
      startTimeUnixNano: f('fixed64', 7),
      endTimeUnixNano: f('fixed64', 8),
      attributes: many(`.${COMMON}.KeyValue`, 9),
      droppedAttributesCount: f('uint32', 10),
      events: many(`.${TRACE}.Span.Event`, 11),
      droppedEventsCount: f('uint32', 12),
      links: many(`.${TRACE}.Span.Link`, 13),
      droppedLinksCount: f('uint32', 14),
      status: f(`.${TRACE}.Status`, 15),
    },
  },
  [`${TRACE}.Span.Event`]: {
    fields: {
      timeUnixNano: f('fixed64', 1),
      name: f('string', 2),
      attributes: many(`.${COMMON}.KeyValue`, 3),
      droppedAttributesCount: f('uint32', 4),
    },
  },
  [`${TRACE}.Span.Link`]: {
    fields: {
      traceId: f('bytes', 1),
      spanId: f('bytes', 2),
      traceState: f('string', 3),
      attributes: many(`.${COMMON}.KeyValue`, 4),
      droppedAttributesCount: f('uint32', 5),
      flags: f('fixed32', 6),
    },
  },
  // field 1 is reserved (the deprecated code)
  [`${TRACE}.Status`]: { fields: { message: f('string', 2), code: f(`.${TRACE}.Status.StatusCode`, 3) } },
  [`${COLLECTOR}.ExportTraceServiceRequest`]: { fields: { resourceSpans: many(`.${TRACE}.ResourceSpans`, 1) } },
  [`${COLLECTOR}.ExportTraceServiceResponse`]: { fields: { partialSuccess: f(`.${COLLECTOR}.ExportTracePartialSuccess`, 1) } },
  [`${COLLECTOR}.ExportTracePartialSuccess`]: { fields: { rejectedSpans: f('int64', 1), errorMessage: f('string', 2) } },
  'google.protobuf.Any': { fields: { typeUrl: f('string', 1), value: f('bytes', 2) } },
  'google.protobuf.Duration': { fields: { seconds: f('int64', 1), nanos: f('int32', 2) } },
  'google.rpc.Status': { fields: { code: f('int32', 1), message: f('string', 2), details: many('.google.protobuf.Any', 3) } },
  'google.rpc.RetryInfo': { fields: { retryDelay: f('.google.protobuf.Duration', 1) } },
};

const ENUMS: Record<string, EnumSpec> = {
  [`${TRACE}.Span.SpanKind`]: {
    values: {
      SPAN_KIND_UNSPECIFIED: 0,
      SPAN_KIND_INTERNAL: 1,
      SPAN_KIND_SERVER: 2,
      SPAN_KIND_CLIENT: 3,
      SPAN_KIND_PRODUCER: 4,
      SPAN_KIND_CONSUMER: 5,
    },
  },
  [`${TRACE}.Status.StatusCode`]: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } },
};

/** Builds the nested namespace JSON protobufjs expects from the flat full-name tables above. */
function namespaceJson(): protobuf.INamespace {
  const root: { nested: Record<string, unknown> } = { nested: {} };
  const place = (fullName: string, json: object): void => {
    const parts = fullName.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = (node.nested[part] ??= { nested: {} }) as { nested?: Record<string, unknown> };
      next.nested ??= {};
      node = next as { nested: Record<string, unknown> };
    }
    const name = parts[parts.length - 1] as string;
    // a message may already exist as a namespace holder of its nested types (Span.Event before Span)
    const existing = node.nested[name] as Record<string, unknown> | undefined;
    node.nested[name] = existing ? { ...existing, ...json } : json;
  };
  for (const [name, spec] of Object.entries(MESSAGES)) place(name, spec);
  for (const [name, spec] of Object.entries(ENUMS)) place(name, spec);
  return root as protobuf.INamespace;
}

export const otlpRoot: protobuf.Root = protobuf.Root.fromJSON(namespaceJson());

export const ExportTraceServiceRequestType = otlpRoot.lookupType(`${COLLECTOR}.ExportTraceServiceRequest`);
export const ExportTraceServiceResponseType = otlpRoot.lookupType(`${COLLECTOR}.ExportTraceServiceResponse`);
export const RpcStatusType = otlpRoot.lookupType('google.rpc.Status');
export const RetryInfoType = otlpRoot.lookupType('google.rpc.RetryInfo');

/** The gRPC method of the trace service (opentelemetry/proto/collector/trace/v1/trace_service.proto). */
export const TRACE_SERVICE_EXPORT_PATH = `/${COLLECTOR}.TraceService/Export`;
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/* Shapes of decoded messages as protobufjs returns them (only what the decoder reads). */
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
}
export interface PbAnyValue {
  readonly value?: string;
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: LongLike | number;
  readonly doubleValue?: number;
  readonly arrayValue?: { readonly values?: readonly PbAnyValue[] } | null;
  readonly kvlistValue?: { readonly values?: readonly PbKeyValue[] } | null;
  readonly bytesValue?: Uint8Array;
}
export interface PbKeyValue {
  readonly key?: string;
  readonly value?: PbAnyValue | null;
}
export interface PbEvent {
  readonly timeUnixNano?: LongLike | number;
  readonly name?: string;
  readonly attributes?: readonly PbKeyValue[];
}
export interface PbLink {
  readonly traceId?: Uint8Array;
  readonly spanId?: Uint8Array;
  readonly attributes?: readonly PbKeyValue[];
}
export interface PbSpan {
  readonly traceId?: Uint8Array;
  readonly spanId?: Uint8Array;
  readonly parentSpanId?: Uint8Array;
  readonly name?: string;
  readonly kind?: number;
  readonly startTimeUnixNano?: LongLike | number;
  readonly endTimeUnixNano?: LongLike | number;
  readonly attributes?: readonly PbKeyValue[];
  readonly events?: readonly PbEvent[];
  readonly links?: readonly PbLink[];
  readonly status?: { readonly message?: string; readonly code?: number } | null;
}
export interface PbScopeSpans {
  readonly scope?: { readonly name?: string; readonly version?: string } | null;
  readonly spans?: readonly PbSpan[];
}
export interface PbResourceSpans {
  readonly resource?: { readonly attributes?: readonly PbKeyValue[] } | null;
  readonly scopeSpans?: readonly PbScopeSpans[];
}
export interface PbExportTraceServiceRequest {
  readonly resourceSpans?: readonly PbResourceSpans[];
}
