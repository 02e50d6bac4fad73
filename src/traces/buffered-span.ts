/**
 * What the trace assembler keeps of a span while its trace waits to complete: the span record
 * with only the attributes and events a trace consumer reads (retry counts, the synthetic mark,
 * provider fallbacks; every other field, derived ones included, as received), its repeated texts
 * shared. The span detectors have read the full record by then. Measured on the sidecar bench's
 * load, a buffered span costs about 400 bytes of heap instead of about 900, and the received record
 * is no longer held, so the per-span caches keyed by it (series subjects, attribution tuples) go too.
 *
 * A trace consumer that reads another attribute or event must list it here.
 */
import { SYNTHETIC_ATTRIBUTE, type AttrValue, type Attributes, type SpanEvent, type SpanLink, type SpanRecord } from '../model/span.js';
import { FALLBACK_EVENT, RETRY_COUNT_KEYS } from './retry-chains.js';

/** Attribute keys trace consumers read (src/traces/retry-chains.ts, isSynthetic). */
export const TRACE_ATTRIBUTE_KEYS: readonly string[] = [...RETRY_COUNT_KEYS, SYNTHETIC_ATTRIBUTE];
/** Span event names trace consumers read (src/traces/provider-fallbacks.ts, retry-chains.ts). */
export const TRACE_EVENT_NAMES: readonly string[] = [FALLBACK_EVENT];

const NO_ATTRIBUTES: Attributes = Object.freeze(Object.create(null) as Record<string, AttrValue>);
const NO_EVENTS: readonly SpanEvent[] = Object.freeze([]);
const NO_LINKS: readonly SpanLink[] = Object.freeze([]);

/** texts remembered for sharing; past it the table starts over (a high-cardinality name only costs the lookups) */
const MAX_SHARED_TEXTS = 4_096;

/** One copy of each repeated text (span names, operation keys, tool and model names…). */
class SharedTexts {
  private readonly texts = new Map<string, string>();

  get(text: string): string {
    const known = this.texts.get(text);
    if (known !== undefined) return known;
    if (this.texts.size >= MAX_SHARED_TEXTS) this.texts.clear();
    this.texts.set(text, text);
    return text;
  }
}

function traceAttributes(attributes: Attributes): Attributes {
  let kept: Record<string, AttrValue> | undefined;
  for (const key of TRACE_ATTRIBUTE_KEYS) {
    const v = attributes[key];
    if (v === undefined) continue;
    kept ??= Object.create(null) as Record<string, AttrValue>;
    kept[key] = v;
  }
  return kept ?? NO_ATTRIBUTES;
}

function traceEvents(events: readonly SpanEvent[]): readonly SpanEvent[] {
  if (events.length === 0) return NO_EVENTS;
  const kept = events.filter((e) => TRACE_EVENT_NAMES.includes(e.name));
  return kept.length === 0 ? NO_EVENTS : kept;
}

/** Makes the compact copies of one assembler (its own table of shared texts). */
export class SpanCompactor {
  private readonly texts = new SharedTexts();

  /** The compact copy of `span`, whose trace id (and run id, when it is the trace id) is `traceId`'s string. */
  compact(span: SpanRecord, traceId: string): SpanRecord {
    const t = this.texts;
    // one literal in a fixed order, then the present optional fields in a fixed order: copies share
    // shapes. Every field is named (a spread with overrides is ten times slower); the unit test
    // fails when a field of SpanRecord is missing here.
    const out: { -readonly [K in keyof SpanRecord]: SpanRecord[K] } = {
      traceId,
      spanId: span.spanId,
      name: t.get(span.name),
      kind: span.kind,
      startMs: span.startMs,
      endMs: span.endMs,
      durationMs: span.durationMs,
      statusCode: span.statusCode,
      statusMessage: t.get(span.statusMessage),
      attributes: traceAttributes(span.attributes),
      events: traceEvents(span.events),
      links: NO_LINKS,
      resource: span.resource,
      scopeName: t.get(span.scopeName),
      service: t.get(span.service),
      operationKey: t.get(span.operationKey),
      runId: span.runId === span.traceId ? traceId : span.runId,
      failed: span.failed,
    };
    if (span.parentSpanId !== undefined) out.parentSpanId = span.parentSpanId;
    if (span.scopeVersion !== undefined) out.scopeVersion = t.get(span.scopeVersion);
    if (span.taskId !== undefined) out.taskId = span.taskId;
    if (span.taskType !== undefined) out.taskType = t.get(span.taskType);
    if (span.attempt !== undefined) out.attempt = span.attempt;
    if (span.agent !== undefined) out.agent = t.get(span.agent);
    if (span.operationName !== undefined) out.operationName = t.get(span.operationName);
    if (span.tool !== undefined) out.tool = t.get(span.tool);
    if (span.model !== undefined) out.model = t.get(span.model);
    if (span.provider !== undefined) out.provider = t.get(span.provider);
    if (span.inputTokens !== undefined) out.inputTokens = span.inputTokens;
    if (span.outputTokens !== undefined) out.outputTokens = span.outputTokens;
    if (span.httpStatus !== undefined) out.httpStatus = span.httpStatus;
    if (span.errorClass !== undefined) out.errorClass = t.get(span.errorClass);
    // the agent fields: trace consumers price calls (cost, cached tokens) and name spenders
    if (span.finishReasons !== undefined) out.finishReasons = span.finishReasons;
    if (span.cachedInputTokens !== undefined) out.cachedInputTokens = span.cachedInputTokens;
    if (span.reasoningTokens !== undefined) out.reasoningTokens = span.reasoningTokens;
    if (span.toolCallId !== undefined) out.toolCallId = span.toolCallId;
    if (span.toolArgsHash !== undefined) out.toolArgsHash = span.toolArgsHash;
    if (span.toolResultError !== undefined) out.toolResultError = span.toolResultError;
    if (span.conversationId !== undefined) out.conversationId = span.conversationId;
    if (span.costAmount !== undefined) out.costAmount = span.costAmount;
    if (span.costCurrency !== undefined) out.costCurrency = t.get(span.costCurrency);
    if (span.agentVersion !== undefined) out.agentVersion = t.get(span.agentVersion);
    if (span.user !== undefined) out.user = t.get(span.user);
    return out;
  }
}

