/**
 * otlp_traces (docs/outputs.md): each problem change becomes one span `sidelight.problem`, each
 * pain-point change one span `sidelight.painpoint` (which ones: `emit`, problems by default), sent
 * as OTLP/HTTP (protobuf or JSON) through the shared delivery layer.
 *
 * A problem span: attributes `sidelight.problem.{id,severity,state,title,root_kind,…}` and the
 * root's subject; one link per exemplar trace of the root and its symptoms; one event
 * `sidelight.problem.member` per member pain point (root, symptoms, contributing) and one
 * `sidelight.recommendation` per recommendation. A pain-point span:
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
import { isProblemChange, type OutputChange, type PainPointChange } from '../src/model/events.js';
import type { ProblemChange } from '../src/model/problem.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { ComponentContext, ExporterFactory } from '../src/component/contracts.js';
import {
  createOtlpHttpExporter,
  exemplarContexts,
  hrTime,
  INSTRUMENTATION_SCOPE,
  otlpHttpShape,
  painPointAttributes,
  problemAttributes,
  problemExemplarContexts,
  sidelightResource,
  subjectAttributes,
  type ExemplarContext,
  type OtlpExporterDeps,
  type QueuedExporter,
} from './otlp-common.js';

export const otlpTracesConfigSchema = z.strictObject(otlpHttpShape);
export type OtlpTracesConfig = z.output<typeof otlpTracesConfigSchema>;

export const PAIN_POINT_SPAN_NAME = 'sidelight.painpoint';
export const PROBLEM_SPAN_NAME = 'sidelight.problem';
/** as the SDK's default span limits: a problem spanning more members or traces says how many were left out */
export const MAX_PROBLEM_LINKS = 128;
export const MAX_PROBLEM_EVENTS = 128;

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
  const links = exemplarContexts(p.evidence).map(linkOf);
  const events = change.recommendations.map((r) => recommendationEvent(r, endMs));
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

function linkOf(ex: ExemplarContext): Link {
  return {
    context: { traceId: ex.traceId, spanId: ex.spanId, traceFlags: TraceFlags.SAMPLED },
    attributes: ex.synthetic ? { 'sidelight.link.span_id_synthetic': true } : {},
    droppedAttributesCount: 0,
  };
}

function recommendationEvent(r: Recommendation, atMs: number): TimedEvent {
  return {
    name: 'sidelight.recommendation',
    time: hrTime(atMs),
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
  };
}

type MemberRole = 'root' | 'symptom' | 'contributing';

/** A member pain point as a span event at its last_seen: its fields, its subject and its role in the problem. */
function memberEvent(pp: PainPointRecord, role: MemberRole, fallbackMs: number): TimedEvent {
  const attributes = subjectAttributes(pp.subject, {
    'sidelight.problem.role': role,
    'sidelight.painpoint.id': pp.id,
    'sidelight.painpoint.kind': pp.kind,
    'sidelight.painpoint.severity': pp.severity,
    'sidelight.painpoint.category': pp.category,
    'sidelight.painpoint.state': pp.state,
    'sidelight.painpoint.title': pp.title,
    'sidelight.evidence.window': pp.evidence.window,
  });
  return { name: 'sidelight.problem.member', time: hrTime(isoMs(pp.last_seen, fallbackMs)), attributes, droppedAttributesCount: 0 };
}

/** The members in the problem's order (root, symptoms, contributing), each with its role; records the change does not carry are left out. */
function membersInOrder(change: ProblemChange): [PainPointRecord, MemberRole][] {
  const byId = new Map(change.members.map((m) => [m.id, m]));
  const p = change.problem;
  const out: [PainPointRecord, MemberRole][] = [];
  const add = (id: string, role: MemberRole) => {
    const m = byId.get(id);
    if (m === undefined) return;
    byId.delete(id);
    out.push([m, role]);
  };
  add(p.root.id, 'root');
  for (const s of p.symptoms) add(s.id, 'symptom');
  for (const c of p.contributing) add(c.id, 'contributing');
  return out;
}

/** The span of one problem change, in the SDK's ReadableSpan shape that otlp-transformer serializes. */
export function problemSpan(change: ProblemChange, resource: Resource, nowMs: number): ReadableSpan {
  const p = change.problem;
  const startMs = isoMs(p.first_seen, nowMs);
  let endMs = isoMs(p.last_seen, startMs);
  if (endMs <= startMs) endMs = startMs + 1;
  // every change of one problem lands in one trace; the same change always gets the same span id
  const traceId = sha256Hex(`sidelight.problem ${p.id}`).slice(0, 32);
  const spanId = sha256Hex(JSON.stringify([p, change.members.map((m) => [m.id, m.state, m.severity, m.last_seen]), change.recommendations.map((r) => r.id)])).slice(0, 16);
  const allLinks = problemExemplarContexts(p, change.members).map(linkOf);
  const allEvents = [...membersInOrder(change).map(([m, role]) => memberEvent(m, role, endMs)), ...change.recommendations.map((r) => recommendationEvent(r, endMs))];
  const links = allLinks.slice(0, MAX_PROBLEM_LINKS);
  const events = allEvents.slice(0, MAX_PROBLEM_EVENTS);
  const status: SpanStatus =
    p.severity === 'high' && (p.state === 'open' || p.state === 'updated') ? { code: SpanStatusCode.ERROR, message: p.title } : { code: SpanStatusCode.UNSET };
  return {
    name: PROBLEM_SPAN_NAME,
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
    startTime: hrTime(startMs),
    endTime: hrTime(endMs),
    duration: hrTime(endMs - startMs),
    status,
    attributes: problemAttributes(p, change.recommendations),
    links,
    events,
    ended: true,
    resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: allEvents.length - events.length,
    droppedLinksCount: allLinks.length - links.length,
  };
}

/** The span of a pain-point or problem change. */
export function changeSpan(change: OutputChange, resource: Resource, nowMs: number): ReadableSpan {
  return isProblemChange(change) ? problemSpan(change, resource, nowMs) : painPointSpan(change, resource, nowMs);
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
      const spans = batch.map((c) => changeSpan(c, resource, now()));
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
