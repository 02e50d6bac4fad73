/**
 * Traces made with the real OpenTelemetry JS SDK (BasicTracerProvider + InMemorySpanExporter),
 * with explicit start and end times, turned into span records the way decoding does (deriveSpan).
 */
import { context, trace, SpanStatusCode, type Attributes as OtelAttributes, type Span, type HrTime } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { deriveSpan } from '../../src/model/derive.js';
import { SpanKind, StatusCode, type AttrValue, type Attributes, type RawSpan, type SpanRecord } from '../../src/model/span.js';

function hrToMs(t: HrTime): number {
  return t[0] * 1_000 + t[1] / 1e6;
}

function toAttributes(a: OtelAttributes): Attributes {
  const out: Record<string, AttrValue> = Object.create(null) as Record<string, AttrValue>;
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v as AttrValue;
  return out;
}

/** A ReadableSpan of the SDK as the raw span decoding would produce, then derived (docs/input.md). */
export function readableToRecord(s: ReadableSpan): SpanRecord {
  const sc = s.spanContext();
  const startMs = hrToMs(s.startTime);
  const endMs = hrToMs(s.endTime);
  const raw: RawSpan = {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    name: s.name,
    kind: (s.kind + 1) as SpanKind, // api SpanKind starts at INTERNAL = 0; OTLP at UNSPECIFIED = 0
    startMs,
    endMs,
    durationMs: endMs - startMs,
    statusCode: s.status.code as number as StatusCode,
    statusMessage: s.status.message ?? '',
    attributes: toAttributes(s.attributes),
    events: s.events.map((e) => ({ name: e.name, timeMs: hrToMs(e.time), attributes: toAttributes(e.attributes ?? {}) })),
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: toAttributes(l.attributes ?? {}) })),
    resource: toAttributes(s.resource.attributes as OtelAttributes),
    scopeName: s.instrumentationScope.name,
    scopeVersion: s.instrumentationScope.version,
  };
  return deriveSpan(raw);
}

export interface SpanSpec {
  readonly name: string;
  /** epoch ms */
  readonly start: number;
  readonly end: number;
  readonly attributes?: OtelAttributes;
  /** status ERROR with this message */
  readonly error?: string;
  readonly events?: readonly { readonly name: string; readonly time: number; readonly attributes?: OtelAttributes }[];
}

/** A tracer over an in-memory exporter; spans are started with explicit times and parents. */
export class RecordingTracer {
  private readonly exporter = new InMemorySpanExporter();
  private readonly provider: BasicTracerProvider;

  constructor(serviceName = 'kc-orchestrator') {
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      spanProcessors: [new SimpleSpanProcessor(this.exporter)],
    });
  }

  /** Starts and ends one span; `parent` undefined makes a root (a new trace). */
  span(spec: SpanSpec, parent?: Span): Span {
    const tracer = this.provider.getTracer('sidelight-test');
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    const span = tracer.startSpan(spec.name, { startTime: spec.start, attributes: spec.attributes ?? {}, root: parent === undefined }, ctx);
    for (const e of spec.events ?? []) span.addEvent(e.name, e.attributes ?? {}, e.time);
    if (spec.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
    return span;
  }

  /** Ends a span started by `span` at `spec.end` (children must be created before their parent ends). */
  end(span: Span, endMs: number): void {
    span.end(endMs);
  }

  /** Every finished span as a span record, in finish order. */
  records(): SpanRecord[] {
    return this.exporter.getFinishedSpans().map(readableToRecord);
  }
}

/** A tree of span specs, built in one go: each node's children are created under it. */
export interface SpanTree extends SpanSpec {
  readonly children?: readonly SpanTree[];
}

/** Creates the whole tree with the SDK and returns the records of this tree's spans. */
export function recordTree(tracer: RecordingTracer, tree: SpanTree, parent?: Span): void {
  const span = tracer.span(tree, parent);
  for (const child of tree.children ?? []) recordTree(tracer, child, span);
  tracer.end(span, tree.end);
}

/** Records several trees (one trace each) and returns all span records. */
export function recordTraces(trees: readonly SpanTree[], serviceName?: string): SpanRecord[] {
  const tracer = new RecordingTracer(serviceName);
  for (const t of trees) recordTree(tracer, t);
  return tracer.records();
}
