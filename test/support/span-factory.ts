/**
 * Builds span records for unit tests without going through decoding. Fields not given get plain
 * defaults; derived fields are set directly, as src/model/derive.ts would set them.
 */
import { createHash } from 'node:crypto';
import { SpanKind, StatusCode, type SpanRecord } from '../../src/model/span.js';

let counter = 0;

export function hexId(seed: string, bytes: 8 | 16): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, bytes * 2);
}

export interface SpanInit extends Partial<Omit<SpanRecord, 'durationMs'>> {
  /** duration: end = start + durationMs unless endMs is given */
  durationMs?: number;
}

export function makeSpan(init: SpanInit = {}): SpanRecord {
  const n = ++counter;
  const startMs = init.startMs ?? 1_700_000_000_000;
  const endMs = init.endMs ?? startMs + (init.durationMs ?? 100);
  const service = init.service ?? 'kc-orchestrator';
  const name = init.name ?? 'execute_tool';
  const tool = init.tool;
  const model = init.model;
  const taskType = init.taskType;
  const failed = init.failed ?? init.statusCode === StatusCode.ERROR;
  const traceId = init.traceId ?? hexId(`trace-${n}`, 16);
  const extra = tool ?? model ?? taskType;
  return {
    traceId,
    spanId: init.spanId ?? hexId(`span-${n}`, 8),
    parentSpanId: init.parentSpanId,
    name,
    kind: init.kind ?? SpanKind.INTERNAL,
    startMs,
    endMs,
    durationMs: endMs - startMs,
    statusCode: init.statusCode ?? (failed ? StatusCode.ERROR : StatusCode.UNSET),
    statusMessage: init.statusMessage ?? '',
    attributes: init.attributes ?? Object.create(null),
    events: init.events ?? [],
    links: init.links ?? [],
    resource: init.resource ?? { 'service.name': service },
    scopeName: init.scopeName ?? 'test',
    service,
    operationKey: init.operationKey ?? [service, name, extra].filter((x) => x !== undefined).join(' '),
    runId: init.runId ?? traceId,
    taskId: init.taskId,
    taskType,
    attempt: init.attempt,
    agent: init.agent,
    operationName: init.operationName,
    tool,
    model,
    provider: init.provider,
    inputTokens: init.inputTokens,
    outputTokens: init.outputTokens,
    httpStatus: init.httpStatus,
    toolCallId: init.toolCallId,
    failed,
    errorClass: init.errorClass ?? (failed ? 'other' : undefined),
  };
}
