/**
 * otlp_logs: each problem change (and, with `emit`, each pain-point change) becomes one OTLP log
 * record (docs/outputs.md), sent as OTLP/HTTP (protobuf or JSON) through the shared delivery layer.
 *
 * - event name `sidelight.problem.<state>` (`sidelight.painpoint.<state>`), as the record's
 *   eventName and as `event.name`;
 * - body = title; severity: high → ERROR (17), medium → WARN (13), low → INFO (9); resolved and
 *   merged → INFO;
 * - attributes: the problem's fields and its root's subject (otlp-common problemAttributes), or the
 *   pain point's (painPointAttributes);
 * - time = last_seen (event time of the change); observed time = when Sidelight sent it;
 * - trace context = the first exemplar (span id rule as for span links).
 */
import { z } from 'zod';
import { TraceFlags } from '@opentelemetry/api';
import { SeverityNumber, type LogAttributes } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Resource } from '@opentelemetry/resources';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { isProblemChange, type OutputChange, type PainPointChange } from '../src/model/events.js';
import type { ProblemChange } from '../src/model/problem.js';
import type { Severity } from '../src/model/painpoint.js';
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
  type ExemplarContext,
  type OtlpExporterDeps,
  type QueuedExporter,
} from './otlp-common.js';

export const otlpLogsConfigSchema = z.strictObject(otlpHttpShape);
export type OtlpLogsConfig = z.output<typeof otlpLogsConfigSchema>;

export function severityOf(p: { readonly state: string; readonly severity: Severity }): { number: SeverityNumber; text: string } {
  if (p.state === 'resolved' || p.state === 'merged' || p.severity === 'low') return { number: SeverityNumber.INFO, text: 'INFO' };
  if (p.severity === 'high') return { number: SeverityNumber.ERROR, text: 'ERROR' };
  return { number: SeverityNumber.WARN, text: 'WARN' };
}

export function painPointLogRecord(change: PainPointChange, resource: Resource, nowMs: number): ReadableLogRecord {
  const p = change.painpoint;
  const eventName = `sidelight.painpoint.${p.state}`;
  const lastSeen = Date.parse(p.last_seen);
  const severity = severityOf(p);
  const exemplar = exemplarContexts(p.evidence)[0];
  const attributes: LogAttributes = { ...painPointAttributes(p, change.recommendations), 'event.name': eventName };
  if (exemplar?.synthetic) attributes['sidelight.link.span_id_synthetic'] = true;
  return {
    hrTime: hrTime(Number.isNaN(lastSeen) ? nowMs : lastSeen),
    hrTimeObserved: hrTime(nowMs),
    ...(exemplar ? { spanContext: { traceId: exemplar.traceId, spanId: exemplar.spanId, traceFlags: TraceFlags.SAMPLED } } : {}),
    severityNumber: severity.number,
    severityText: severity.text,
    body: p.title,
    eventName,
    resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    attributes,
    droppedAttributesCount: 0,
  };
}

export function problemLogRecord(change: ProblemChange, resource: Resource, nowMs: number): ReadableLogRecord {
  const p = change.problem;
  const eventName = `sidelight.problem.${p.state}`;
  const lastSeen = Date.parse(p.last_seen);
  const severity = severityOf(p);
  const exemplar: ExemplarContext | undefined = problemExemplarContexts(p, change.members)[0];
  const attributes: LogAttributes = { ...problemAttributes(p, change.recommendations), 'event.name': eventName };
  if (exemplar?.synthetic) attributes['sidelight.link.span_id_synthetic'] = true;
  return {
    hrTime: hrTime(Number.isNaN(lastSeen) ? nowMs : lastSeen),
    hrTimeObserved: hrTime(nowMs),
    ...(exemplar ? { spanContext: { traceId: exemplar.traceId, spanId: exemplar.spanId, traceFlags: TraceFlags.SAMPLED } } : {}),
    severityNumber: severity.number,
    severityText: severity.text,
    body: p.title,
    eventName,
    resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    attributes,
    droppedAttributesCount: 0,
  };
}

/** The log record of a pain-point or problem change. */
export function changeLogRecord(change: OutputChange, resource: Resource, nowMs: number): ReadableLogRecord {
  return isProblemChange(change) ? problemLogRecord(change, resource, nowMs) : painPointLogRecord(change, resource, nowMs);
}

export function createOtlpLogsExporter(config: OtlpLogsConfig, ctx: ComponentContext, deps: OtlpExporterDeps = {}): QueuedExporter {
  // one Resource object: the serializer groups records by resource identity
  const resource = sidelightResource(config.resource);
  const now = () => deps.clock?.now() ?? Date.now();
  return createOtlpHttpExporter(
    'logs',
    config,
    ctx,
    deps,
    (batch, protocol) => {
      const records = batch.map((c) => changeLogRecord(c, resource, now()));
      return (protocol === 'http/json' ? JsonLogsSerializer : ProtobufLogsSerializer).serializeRequest(records);
    },
    (answer, protocol) => {
      const res = (protocol === 'http/json' ? JsonLogsSerializer : ProtobufLogsSerializer).deserializeResponse(answer);
      const partial = res.partialSuccess;
      if (!partial) return undefined;
      return { rejected: Number(partial.rejectedLogRecords ?? 0), message: partial.errorMessage ?? '' };
    },
  );
}

export const otlpLogsExporterFactory: ExporterFactory<OtlpLogsConfig> = {
  type: 'otlp_logs',
  configSchema: otlpLogsConfigSchema,
  create: (config, ctx) => createOtlpLogsExporter(config, ctx),
};
