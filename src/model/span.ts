/**
 * The span record: one flat, read-only value per received span (docs/input.md).
 * Everything downstream of decoding sees only this type.
 */

/** An OTLP AnyValue as plain data. int64 values outside the safe range stay exact as bigint. */
export type AttrValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

/**
 * Attribute maps are created with a null prototype (Object.create(null)), so a key such as
 * `__proto__` is stored as data and never reaches Object.prototype.
 */
export type Attributes = Readonly<Record<string, AttrValue>>;

export enum SpanKind {
  UNSPECIFIED = 0,
  INTERNAL = 1,
  SERVER = 2,
  CLIENT = 3,
  PRODUCER = 4,
  CONSUMER = 5,
}

export enum StatusCode {
  UNSET = 0,
  OK = 1,
  ERROR = 2,
}

export interface SpanEvent {
  readonly name: string;
  /** epoch milliseconds, fractional (nanosecond precision kept as far as a double allows) */
  readonly timeMs: number;
  readonly attributes: Attributes;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
}

/** Fields derived from attributes by the configurable mapping of docs/input.md (src/model/derive.ts). */
export interface DerivedFields {
  readonly service: string;
  /** `service.name` + span name + first present of tool / model / task type, space separated */
  readonly operationKey: string;
  /** run id: `kc.run.id`, `gen_ai.conversation.id`, `session.id`, else the trace id */
  readonly runId: string;
  readonly taskId?: string;
  readonly taskType?: string;
  /** 1-based attempt number when an attempt attribute is present */
  readonly attempt?: number;
  readonly agent?: string;
  /** gen_ai.operation.name (invoke_agent, execute_tool, chat, …) */
  readonly operationName?: string;
  readonly tool?: string;
  readonly model?: string;
  readonly provider?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly httpStatus?: number;
  /** status ERROR, or (config) an `error.type` attribute present */
  readonly failed: boolean;
  /** normalized error class (docs/input.md): error.type, exception.type, HTTP status, or message template */
  readonly errorClass?: string;
  /** why a model answer stopped, lowercase, one per choice (`stop`, `length`, `content_filter`, `tool_calls`, …) */
  readonly finishReasons?: readonly string[];
  /** input tokens served from a provider cache (included in inputTokens) */
  readonly cachedInputTokens?: number;
  /** output tokens spent on reasoning (included in outputTokens) */
  readonly reasoningTokens?: number;
  readonly toolCallId?: string;
  /** 16 hex of sha256 over the tool-call arguments as normalized JSON (key order ignored); the arguments themselves are never kept */
  readonly toolArgsHash?: string;
  /** the tool-call result says the call failed (`isError: true`, `"ok": false`, `"success": false`, an `error` field); false when it says nothing of the kind */
  readonly toolResultError?: boolean;
  readonly conversationId?: string;
  /** cost reported by the instrumentation, in costCurrency (USD when absent) */
  readonly costAmount?: number;
  readonly costCurrency?: string;
  readonly agentVersion?: string;
  /** the end user (`user.id`, `enduser.id`) */
  readonly user?: string;
}

export interface SpanRecord extends DerivedFields {
  /** 32 lowercase hex chars */
  readonly traceId: string;
  /** 16 lowercase hex chars */
  readonly spanId: string;
  /** 16 lowercase hex chars, or undefined for a root span */
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: SpanKind;
  /** epoch milliseconds, fractional */
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
  readonly statusCode: StatusCode;
  readonly statusMessage: string;
  readonly attributes: Attributes;
  readonly events: readonly SpanEvent[];
  readonly links: readonly SpanLink[];
  readonly resource: Attributes;
  readonly scopeName: string;
  readonly scopeVersion?: string;
}

/** The raw part of a span as decoded from the wire, before derivation. */
export type RawSpan = Omit<SpanRecord, keyof DerivedFields>;

/**
 * The instrumentation scope of the spans Sidelight maps from a kc run file (src/kc). The file is
 * written when the run ends and the mapping makes the run's root span from it, so a trace of this
 * scope always gets its root: the trace assembler waits for it instead of cutting the run.
 */
export const RECORDED_RUN_SCOPE = 'sidelight.kc';

/** Marks spans Sidelight made up (kc attempt spans): their times are apportioned, not measured. */
export const SYNTHETIC_ATTRIBUTE = 'sidelight.synthetic';

/**
 * Marks a failed span whose error its source did not record (a kc retry with no error in the run
 * file): its status message is a placeholder Sidelight wrote, not an error anything saw, so it
 * shares no error with another span (docs/kc-runs.md).
 */
export const ERROR_UNRECORDED_ATTRIBUTE = 'sidelight.error_unrecorded';

/** Whether a failed span's error was not recorded (ERROR_UNRECORDED_ATTRIBUTE true, or "true" from a JSON source). */
export function isErrorUnrecorded(span: Pick<SpanRecord, 'attributes'>): boolean {
  const v = span.attributes[ERROR_UNRECORDED_ATTRIBUTE];
  return v === true || v === 'true';
}

/** Whether a span is one Sidelight made up (SYNTHETIC_ATTRIBUTE true, or "true" from a JSON source). */
export function isSynthetic(span: Pick<SpanRecord, 'attributes'>): boolean {
  const v = span.attributes[SYNTHETIC_ATTRIBUTE];
  return v === true || v === 'true';
}
