/**
 * Records workload traces with the real OpenTelemetry JS SDK, one tracer provider per service, and
 * returns them as span records the way decoding does. A call into another service crosses as it
 * does between processes: the caller's context is injected into request headers (W3C
 * `traceparent`) and the callee's server span starts from the context extracted from them.
 */
import { context, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanRecord } from '../../src/model/span.js';
import { readableToRecord } from '../support/readable-to-record.js';

export { SpanKind };

/** One span of a workload trace, with its children. */
export interface WorkSpan {
  readonly name: string;
  /** resource service.name; inherits the parent's, `kc-orchestrator` at the root */
  readonly service?: string;
  readonly kind?: SpanKind;
  /** epoch ms */
  readonly start: number;
  readonly end: number;
  readonly attributes?: Attributes;
  /** status ERROR with this message */
  readonly error?: string;
  readonly events?: readonly { readonly name: string; readonly time: number; readonly attributes?: Attributes }[];
  readonly children?: readonly WorkSpan[];
}

export const ORCHESTRATOR = 'kc-orchestrator';

const headerSetter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };
const headerGetter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

export class WorkloadRecorder {
  private readonly exporter = new InMemorySpanExporter();
  private readonly providers = new Map<string, BasicTracerProvider>();
  private readonly propagator = new W3CTraceContextPropagator();

  private tracerFor(service: string) {
    let p = this.providers.get(service);
    if (p === undefined) {
      p = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(this.exporter)] });
      this.providers.set(service, p);
    }
    return p.getTracer('sidelight-quality-workload', '1.0.0');
  }

  /** The context a child in `service` starts from: in-process, or through request headers into another service. */
  private parentContext(parent: Span | undefined, parentService: string, service: string): Context {
    if (parent === undefined) return ROOT_CONTEXT;
    const local = trace.setSpan(context.active(), parent);
    if (service === parentService) return local;
    const headers: Record<string, string> = {};
    this.propagator.inject(local, headers, headerSetter);
    return this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  }

  /** Records one tree (children are created under their parent, which ends after them). */
  record(node: WorkSpan, parent?: Span, parentService = ORCHESTRATOR): void {
    const service = node.service ?? parentService;
    const span = this.tracerFor(service).startSpan(
      node.name,
      { startTime: node.start, kind: node.kind ?? SpanKind.INTERNAL, attributes: node.attributes ?? {}, root: parent === undefined },
      this.parentContext(parent, parentService, service),
    );
    for (const e of node.events ?? []) span.addEvent(e.name, e.attributes ?? {}, e.time);
    if (node.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: node.error });
    for (const child of node.children ?? []) this.record(child, span, service);
    span.end(node.end);
  }

  records(): SpanRecord[] {
    return this.exporter.getFinishedSpans().map(readableToRecord);
  }
}

export function recordWorkload(traces: readonly WorkSpan[]): SpanRecord[] {
  const recorder = new WorkloadRecorder();
  for (const t of traces) recorder.record(t);
  return recorder.records();
}
