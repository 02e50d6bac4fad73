/**
 * The real OpenTelemetry JS SDK as a client of a running Sidelight: a tracer provider whose
 * OTLP exporter (protobuf, JSON or gRPC) points at the receiver, with explicit span times so
 * tests control event time.
 */
import { context, trace, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
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
  /**
   * Starts every span of the trees and leaves them open: the caller ends each at its end time
   * (`PendingSpan.end()`), in end-time order, as an instrumented process would over time.
   */
  openTrees(trees: readonly SpanTree[]): PendingSpan[];
  /** every span sent, as span records (the client keeps a copy of what it exports) */
  records(): SpanRecord[];
  /** every span sent, as the SDK's finished spans (to serialize them as an exporter would) */
  finished(): ReadableSpan[];
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A started span and the end time it will be ended at; sorted by end time, children before parents. */
export interface PendingSpan {
  readonly endMs: number;
  end(): void;
}

export interface OtelClientOptions {
  /**
   * The batch processor's delay between exports; the default exports every 20 ms. A paced
   * client sets it beyond the test's length so only `flush()` sends a batch.
   */
  readonly scheduledDelayMillis?: number;
  /** spans per export request (default 512) */
  readonly maxExportBatchSize?: number;
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
export function createOtelClient(endpoint: string, protocol: OtlpClientProtocol, serviceName = 'kc-orchestrator', options: OtelClientOptions = {}): OtelClient {
  let exporter: SpanExporter;
  // a generous export timeout: on a loaded test machine the default 10 s fails a request the sidecar would answer
  const timeoutMillis = 60_000;
  if (protocol === 'grpc') exporter = new GrpcExporter({ url: `http://${endpoint.replace(/^\w+:\/\//, '')}`, timeoutMillis });
  else if (protocol === 'http/json') exporter = new JsonExporter({ url: `${endpoint}/v1/traces`, timeoutMillis });
  else exporter = new ProtoExporter({ url: `${endpoint}/v1/traces`, timeoutMillis });
  const copy = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // Batched as an orchestrator would send them (a span per request hits the exporter's concurrency limit).
    spanProcessors: [
      new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: options.maxExportBatchSize ?? 512, scheduledDelayMillis: options.scheduledDelayMillis ?? 20 }),
      new SimpleSpanProcessor(copy),
    ],
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
  const openTree = (tree: SpanTree, out: { endMs: number; order: number; end(): void }[], parent?: Span) => {
    const s = span({ ...tree, open: true }, parent);
    for (const child of tree.children ?? []) openTree(child, out, s);
    // a parent is opened before its children and pushed after them: on equal end times it ends last
    out.push({ endMs: tree.end, order: out.length, end: () => s.end(tree.end) });
  };
  return {
    tracer,
    span,
    sendTrees: (trees) => trees.forEach((t) => sendTree(t)),
    openTrees: (trees) => {
      const out: { endMs: number; order: number; end(): void }[] = [];
      for (const t of trees) openTree(t, out);
      return out.sort((a, b) => a.endMs - b.endMs || a.order - b.order);
    },
    records: () => copy.getFinishedSpans().map(readableToRecord),
    finished: () => copy.getFinishedSpans(),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
