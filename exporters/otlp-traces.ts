/**
 * otlp_traces: each pain-point state change becomes one span `sidelight.painpoint` (docs/outputs.md),
 * sent as OTLP/HTTP (protobuf or JSON) through the shared delivery layer.
 *
 * - trace id: derived from the pain-point id, so every change of one pain point lands in one trace;
 *   span id: derived from the change's content, so re-running the same input sends the same ids;
 * - start / end: first_seen / last_seen (1 ms long when they are equal);
 * - links: one per exemplar trace (see exemplarContexts for the span id rule);
 * - events: one `sidelight.recommendation` per recommendation;
 * - status: ERROR with the title as message while a high-severity pain point is open or updated,
 *   so error views and error-rate alerts of the tracing backend surface it; UNSET otherwise
 *   (a resolved or lower-severity pain point is information, not an error of Sidelight's work).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SpanKind, SpanStatusCode, TraceFlags, type Link, type SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { PainPointChange } from '../src/model/events.js';
import type { ComponentContext, ExporterFactory } from '../src/component/contracts.js';
import {
  createOtlpHttpExporter,
  exemplarContexts,
  hrTime,
  INSTRUMENTATION_SCOPE,
  otlpHttpShape,
  painPointAttributes,
  sidelightResource,
  type OtlpExporterDeps,
  type QueuedExporter,
} from './otlp-common.js';

export const otlpTracesConfigSchema = z.strictObject(otlpHttpShape);
export type OtlpTracesConfig = z.output<typeof otlpTracesConfigSchema>;

export const PAIN_POINT_SPAN_NAME = 'sidelight.painpoint';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isoMs(iso: string, fallback: number): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

/** The span of one change, in the SDK's ReadableSpan shape that otlp-transformer serializes. */
export function painPointSpan(change: PainPointChange, resource: Resource, nowMs: number): ReadableSpan {
  const p = change.painpoint;
  const startMs = isoMs(p.first_seen, nowMs);
  let endMs = isoMs(p.last_seen, startMs);
  if (endMs <= startMs) endMs = startMs + 1;
  const traceId = sha256Hex(`sidelight.painpoint ${p.id}`).slice(0, 32);
  const spanId = sha256Hex(JSON.stringify([p, change.recommendations.map((r) => r.id)])).slice(0, 16);
  const links: Link[] = exemplarContexts(p.evidence).map((ex) => ({
    context: { traceId: ex.traceId, spanId: ex.spanId, traceFlags: TraceFlags.SAMPLED },
    attributes: ex.synthetic ? { 'sidelight.link.span_id_synthetic': true } : {},
    droppedAttributesCount: 0,
  }));
  const events: TimedEvent[] = change.recommendations.map((r) => ({
    name: 'sidelight.recommendation',
    time: hrTime(endMs),
    attributes: {
      'sidelight.recommendation.id': r.id,
      'sidelight.recommendation.title': r.title,
      'sidelight.recommendation.priority': r.priority,
      'sidelight.recommendation.implementation': r.implementation,
      'sidelight.recommendation.effort': r.effort,
      'sidelight.recommendation.category': r.category,
      'sidelight.recommendation.impact': r.impact,
    },
    droppedAttributesCount: 0,
  }));
  const status: SpanStatus =
    p.severity === 'high' && p.state !== 'resolved' ? { code: SpanStatusCode.ERROR, message: p.title } : { code: SpanStatusCode.UNSET };
  return {
    name: PAIN_POINT_SPAN_NAME,
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
    startTime: hrTime(startMs),
    endTime: hrTime(endMs),
    duration: hrTime(endMs - startMs),
    status,
    attributes: painPointAttributes(p, change.recommendations),
    links,
    events,
    ended: true,
    resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export function createOtlpTracesExporter(config: OtlpTracesConfig, ctx: ComponentContext, deps: OtlpExporterDeps = {}): QueuedExporter {
  // one Resource object: the serializer groups spans by resource identity
  const resource = sidelightResource(config.resource);
  const now = () => deps.clock?.now() ?? Date.now();
  return createOtlpHttpExporter(
    'traces',
    config,
    ctx,
    deps,
    (batch, protocol) => {
      const spans = batch.map((c) => painPointSpan(c, resource, now()));
      return (protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans);
    },
    (answer, protocol) => {
      const res = (protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer).deserializeResponse(answer);
      const partial = res.partialSuccess;
      if (!partial) return undefined;
      return { rejected: Number(partial.rejectedSpans ?? 0), message: partial.errorMessage ?? '' };
    },
  );
}

export const otlpTracesExporterFactory: ExporterFactory<OtlpTracesConfig> = {
  type: 'otlp_traces',
  configSchema: otlpTracesConfigSchema,
  create: (config, ctx) => createOtlpTracesExporter(config, ctx),
};
