/**
 * The real OpenTelemetry JS SDK as a client of a running Sidelight: a tracer provider whose
 * OTLP exporter (protobuf, JSON or gRPC) points at the receiver, with explicit span times so
 * tests control event time.
 */
import { context, trace, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { SpanRecord } from '../../src/model/span.js';
import { readableToRecord, type SpanTree } from './readable-to-record.js';

export type OtlpClientProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface OtelClient {
  readonly tracer: Tracer;
  /** starts and ends a span with explicit epoch-ms times under an optional parent */
  span(spec: ClientSpanSpec, parent?: Span): Span;
  /** sends span trees: every node is created under its parent, parents end after their children */
  sendTrees(trees: readonly SpanTree[]): void;
  /** every span sent, as span records (the client keeps a copy of what it exports) */
  records(): SpanRecord[];
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ClientSpanSpec {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly attributes?: Attributes;
  /** status ERROR with this message */
  readonly error?: string;
  /** leave the span open: the caller ends it */
  readonly open?: boolean;
}

/** `endpoint`: http://127.0.0.1:PORT for HTTP protocols, 127.0.0.1:PORT for gRPC. */
export function createOtelClient(endpoint: string, protocol: OtlpClientProtocol, serviceName = 'kc-orchestrator'): OtelClient {
  let exporter: SpanExporter;
  if (protocol === 'grpc') exporter = new GrpcExporter({ url: `http://${endpoint.replace(/^\w+:\/\//, '')}` });
  else if (protocol === 'http/json') exporter = new JsonExporter({ url: `${endpoint}/v1/traces` });
  else exporter = new ProtoExporter({ url: `${endpoint}/v1/traces` });
  const copy = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // Batched as an orchestrator would send them (a span per request hits the exporter's concurrency limit).
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 20 }), new SimpleSpanProcessor(copy)],
  });
  const tracer = provider.getTracer('sidelight-tests', '1.0.0');
  const span = (spec: ClientSpanSpec, parent?: Span): Span => {
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    const s = tracer.startSpan(spec.name, { startTime: spec.start, attributes: spec.attributes ?? {}, root: parent === undefined }, ctx);
    if (spec.error !== undefined) s.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
    if (!spec.open) s.end(spec.end);
    return s;
  };
  const sendTree = (tree: SpanTree, parent?: Span) => {
    const s = span({ ...tree, open: true }, parent);
    for (const child of tree.children ?? []) sendTree(child, s);
    s.end(tree.end);
  };
  return {
    tracer,
    span,
    sendTrees: (trees) => trees.forEach((t) => sendTree(t)),
    records: () => copy.getFinishedSpans().map(readableToRecord),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
