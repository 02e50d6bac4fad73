/**
 * Derivation of the span record's meaning fields from attributes (docs/input.md): each meaning is read
 * from the first present of its configured attribute keys (span attributes first, then resource).
 */
import { StatusCode, type AttrValue, type Attributes, type RawSpan, type SpanRecord } from './span.js';
import { messageTemplate } from './error-class.js';
import { finishReasonsOf, toolArgumentsHash, toolResultSaysFailed } from './agent-attributes.js';

/**
 * For each meaning, the attribute keys to look at (first present wins). The config's
 * `service.attributes` is validated into this shape and passed in by whoever decodes spans.
 */
export interface AttributeMapping {
  readonly run_id: readonly string[];
  readonly task_id: readonly string[];
  readonly task_type: readonly string[];
  /** 1-based attempt keys */
  readonly attempt: readonly string[];
  /** counts of resends (0 = first try): attempt = value + 1 */
  readonly attempt_zero_based: readonly string[];
  readonly agent: readonly string[];
  readonly operation_name: readonly string[];
  readonly tool: readonly string[];
  readonly model: readonly string[];
  readonly provider: readonly string[];
  readonly input_tokens: readonly string[];
  readonly output_tokens: readonly string[];
  readonly error_type: readonly string[];
  readonly http_status: readonly string[];
  /** count a span as failed when it carries an error type attribute, even with status UNSET */
  readonly failed_on_error_type: boolean;
  /** why a model answer stopped (`stop`, `length`, `content_filter`, `tool_calls`, …): a string array */
  readonly finish_reasons: readonly string[];
  /** input tokens served from a provider cache (part of the input tokens) */
  readonly cached_input_tokens: readonly string[];
  /** output tokens spent on reasoning (part of the output tokens) */
  readonly reasoning_tokens: readonly string[];
  readonly tool_call_id: readonly string[];
  /** tool-call arguments: hashed (normalized JSON, key order ignored) and then dropped from the record */
  readonly tool_call_arguments: readonly string[];
  /** tool-call result: read for a failure it reports (`isError: true`, `"ok": false`, …) */
  readonly tool_call_result: readonly string[];
  readonly conversation_id: readonly string[];
  /** cost of the call as reported by the instrumentation, and its currency (USD when absent) */
  readonly cost_amount: readonly string[];
  readonly cost_currency: readonly string[];
  /** the agent's version (a series dimension when present) */
  readonly agent_version: readonly string[];
  /** the end user a call serves (per-user budgets) */
  readonly user: readonly string[];
}

/** The default keys (the config's `service.attributes` defaults are these). */
export const DEFAULT_ATTRIBUTE_MAPPING: AttributeMapping = {
  // A conversation is the run when no kc run id is present.
  run_id: ['kc.run.id', 'gen_ai.conversation.id', 'session.id'],
  task_id: ['kc.task.id'],
  task_type: ['kc.task.type'],
  attempt: ['kc.task.attempt', 'retry.attempt'],
  attempt_zero_based: ['http.request.resend_count'],
  agent: ['gen_ai.agent.name'],
  operation_name: ['gen_ai.operation.name'],
  tool: ['gen_ai.tool.name'],
  model: ['gen_ai.request.model', 'gen_ai.response.model'],
  provider: ['gen_ai.provider.name', 'gen_ai.system'],
  input_tokens: ['gen_ai.usage.input_tokens'],
  output_tokens: ['gen_ai.usage.output_tokens'],
  error_type: ['error.type'],
  http_status: ['http.response.status_code'],
  failed_on_error_type: true,
  finish_reasons: ['gen_ai.response.finish_reasons'],
  cached_input_tokens: ['gen_ai.usage.cache_read.input_tokens'],
  reasoning_tokens: ['gen_ai.usage.reasoning.output_tokens'],
  tool_call_id: ['gen_ai.tool.call.id'],
  tool_call_arguments: ['gen_ai.tool.call.arguments'],
  tool_call_result: ['gen_ai.tool.call.result'],
  conversation_id: ['gen_ai.conversation.id'],
  cost_amount: ['gen_ai.usage.cost.amount'],
  cost_currency: ['gen_ai.usage.cost.currency'],
  agent_version: ['gen_ai.agent.version'],
  user: ['user.id', 'enduser.id'],
};

export const DEFAULT_SERVICE_NAME = 'unknown_service';
/** kc tasks have a title but no type attribute (docs/input.md). */
export const TASK_TITLE_KEY = 'kc.task.title';

function firstPresent(keys: readonly string[], attributes: Attributes, resource: Attributes): AttrValue | undefined {
  for (const key of keys) {
    const v = attributes[key];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  for (const key of keys) {
    const v = resource[key];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

/** A scalar attribute as text; arrays, maps and bytes are not names. */
function asText(v: AttrValue | undefined): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    default:
      return undefined;
  }
}

/** An integer attribute given as a number, a bigint or a decimal string. */
export function attrAsInteger(v: AttrValue | undefined): number | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? Math.trunc(v) : undefined;
    case 'bigint':
      return Number(v);
    case 'string': {
      const s = v.trim();
      if (!/^[+-]?\d+(?:\.\d+)?$/.test(s)) return undefined;
      return Math.trunc(Number(s));
    }
    default:
      return undefined;
  }
}

/** A number attribute given as a number, a bigint or a decimal string (fractions kept). */
export function attrAsNumber(v: AttrValue | undefined): number | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : undefined;
    case 'bigint':
      return Number(v);
    case 'string': {
      const s = v.trim();
      return /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(s) ? Number(s) : undefined;
    }
    default:
      return undefined;
  }
}

function text(keys: readonly string[], a: Attributes, r: Attributes): string | undefined {
  return asText(firstPresent(keys, a, r));
}

function integer(keys: readonly string[], a: Attributes, r: Attributes): number | undefined {
  for (const key of keys) {
    const n = attrAsInteger(a[key] ?? r[key]);
    if (n !== undefined) return n;
  }
  return undefined;
}

function decimal(keys: readonly string[], a: Attributes, r: Attributes): number | undefined {
  for (const key of keys) {
    const n = attrAsNumber(a[key] ?? r[key]);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** The span attributes without `keys` (tool-call arguments are hashed, never kept), or the same map when none is there. */
function withoutKeys(attributes: Attributes, keys: readonly string[]): Attributes {
  if (!keys.some((k) => k in attributes)) return attributes;
  const out = Object.create(null) as Record<string, AttrValue>;
  for (const k of Object.keys(attributes)) if (!keys.includes(k)) out[k] = attributes[k] as AttrValue;
  return out;
}

/**
 * The task type of a kc task: the first word of its title (`Refactor payment service` →
 * `Refactor`), with surrounding punctuation removed (`Fix: login` → `Fix`). Undefined when the
 * title has no word.
 */
export function taskTypeFromTitle(title: string): string | undefined {
  const first = /\S+/.exec(title)?.[0];
  if (first === undefined) return undefined;
  const word = first.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  return word === '' ? undefined : word;
}

/**
 * The error class of a failed span (docs/input.md): `error.type`, else the first exception event's
 * `exception.type`, else `http_<status>` for HTTP status ≥ 400, else the status message template.
 */
function errorClassOf(raw: RawSpan, mapping: AttributeMapping, httpStatus: number | undefined): string | undefined {
  const errorType = text(mapping.error_type, raw.attributes, raw.resource);
  if (errorType !== undefined) return errorType;
  for (const event of raw.events) {
    if (event.name !== 'exception') continue;
    const t = asText(event.attributes['exception.type']);
    if (t !== undefined && t !== '') return t;
    break;
  }
  if (httpStatus !== undefined && httpStatus >= 400) return `http_${httpStatus}`;
  if (raw.statusMessage !== '') {
    const template = messageTemplate(raw.statusMessage);
    if (template !== '') return template;
  }
  return undefined;
}

const NO_RESOURCE: Attributes = Object.freeze(Object.create(null) as Record<string, AttrValue>);

/** Every attribute key a mapping reads (and the task title's), per mapping. */
const mappingKeys = new WeakMap<AttributeMapping, readonly string[]>();

function keysOf(mapping: AttributeMapping): readonly string[] {
  let keys = mappingKeys.get(mapping);
  if (keys === undefined) {
    keys = [...new Set([...Object.values(mapping).filter((v): v is string[] => Array.isArray(v)).flat(), TASK_TITLE_KEY])];
    mappingKeys.set(mapping, keys);
  }
  return keys;
}

/** the last resource seen, and whether it holds a key of the mapping (the spans of a request share one resource) */
let lastResource: Attributes | undefined;
let lastMapping: AttributeMapping | undefined;
let lastReadResource: Attributes = NO_RESOURCE;

/**
 * The resource the meanings read: an empty one when the resource holds no key of the mapping (a
 * resource usually names only the service and host), so a span's every meaning skips the
 * resource's lookups, which read nothing there (profiling the sidecar bench: deriveSpan's lookups).
 */
function meaningResource(r: Attributes, mapping: AttributeMapping): Attributes {
  if (r !== lastResource || mapping !== lastMapping) {
    let holds = false;
    for (const key of keysOf(mapping)) {
      if (r[key] !== undefined) {
        holds = true;
        break;
      }
    }
    lastResource = r;
    lastMapping = mapping;
    lastReadResource = holds ? r : NO_RESOURCE;
  }
  return lastReadResource;
}

/** operation keys remembered, by span name, then service and qualifier; past the cap the table starts over */
const MAX_OPERATION_KEYS = 4_096;
const operationKeys = new Map<string, { readonly service: string; readonly qualifier: string | undefined; readonly key: string }[]>();
let operationKeyCount = 0;

/**
 * `service name qualifier`, the same string for every span of an operation: a new one per span was
 * a string to build, then flatten and hash in each map keyed by it downstream (series subjects,
 * the trace assembler's shared texts).
 */
function operationKeyOf(service: string, name: string, qualifier: string | undefined): string {
  let list = operationKeys.get(name);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as { readonly service: string; readonly qualifier: string | undefined; readonly key: string };
      if (e.service === service && e.qualifier === qualifier) return e.key;
    }
  }
  const key = qualifier === undefined ? `${service} ${name}` : `${service} ${name} ${qualifier}`;
  if (operationKeyCount >= MAX_OPERATION_KEYS) {
    operationKeys.clear();
    operationKeyCount = 0;
    list = undefined;
  }
  if (list === undefined) operationKeys.set(name, (list = []));
  list.push({ service, qualifier, key });
  operationKeyCount++;
  return key;
}

/** Computes the derived fields of docs/input.md and returns the full span record. */
export function deriveSpan(raw: RawSpan, mapping: AttributeMapping = DEFAULT_ATTRIBUTE_MAPPING): SpanRecord {
  const a = raw.attributes;
  const r = meaningResource(raw.resource, mapping);
  const service = asText(raw.resource['service.name']) || DEFAULT_SERVICE_NAME;
  const runId = text(mapping.run_id, a, r) ?? raw.traceId;

  let attempt = integer(mapping.attempt, a, r);
  if (attempt === undefined) {
    const resends = integer(mapping.attempt_zero_based, a, r);
    if (resends !== undefined) attempt = resends + 1;
  }

  let taskType = text(mapping.task_type, a, r);
  if (taskType === undefined) {
    const title = asText(a[TASK_TITLE_KEY] ?? r[TASK_TITLE_KEY]);
    if (title !== undefined) taskType = taskTypeFromTitle(title);
  }

  const tool = text(mapping.tool, a, r);
  const model = text(mapping.model, a, r);
  const httpStatus = integer(mapping.http_status, a, r);
  const hasErrorType = mapping.failed_on_error_type && firstPresent(mapping.error_type, a, r) !== undefined;
  const failed = raw.statusCode === StatusCode.ERROR || hasErrorType;

  const qualifier = tool ?? model ?? taskType;
  // One literal with the raw fields in a fixed order, then only the present optional fields:
  // absent ones stay absent (records compare and serialize cleanly) and objects share shapes.
  const record: { -readonly [K in keyof SpanRecord]: SpanRecord[K] } = {
    traceId: raw.traceId,
    spanId: raw.spanId,
    name: raw.name,
    kind: raw.kind,
    startMs: raw.startMs,
    endMs: raw.endMs,
    durationMs: raw.durationMs,
    statusCode: raw.statusCode,
    statusMessage: raw.statusMessage,
    attributes: withoutKeys(raw.attributes, mapping.tool_call_arguments),
    events: raw.events,
    links: raw.links,
    resource: raw.resource,
    scopeName: raw.scopeName,
    service,
    operationKey: operationKeyOf(service, raw.name, qualifier),
    runId,
    failed,
  };
  if (raw.parentSpanId !== undefined) record.parentSpanId = raw.parentSpanId;
  if (raw.scopeVersion !== undefined) record.scopeVersion = raw.scopeVersion;
  const taskId = text(mapping.task_id, a, r);
  if (taskId !== undefined) record.taskId = taskId;
  if (taskType !== undefined) record.taskType = taskType;
  if (attempt !== undefined) record.attempt = attempt;
  const agent = text(mapping.agent, a, r);
  if (agent !== undefined) record.agent = agent;
  const operationName = text(mapping.operation_name, a, r);
  if (operationName !== undefined) record.operationName = operationName;
  if (tool !== undefined) record.tool = tool;
  if (model !== undefined) record.model = model;
  const provider = text(mapping.provider, a, r);
  if (provider !== undefined) record.provider = provider;
  const inputTokens = integer(mapping.input_tokens, a, r);
  if (inputTokens !== undefined) record.inputTokens = inputTokens;
  const outputTokens = integer(mapping.output_tokens, a, r);
  if (outputTokens !== undefined) record.outputTokens = outputTokens;
  if (httpStatus !== undefined) record.httpStatus = httpStatus;
  if (failed) {
    const errorClass = errorClassOf(raw, mapping, httpStatus);
    if (errorClass !== undefined) record.errorClass = errorClass;
  }
  deriveAgentFields(record, mapping, a, r);
  return record;
}

/** The agent-era meanings (docs/input.md): finish reasons, cache and reasoning tokens, tool calls, conversation, cost, version, user. */
function deriveAgentFields(record: { -readonly [K in keyof SpanRecord]: SpanRecord[K] }, mapping: AttributeMapping, a: Attributes, r: Attributes): void {
  const finish = finishReasonsOf(firstPresent(mapping.finish_reasons, a, r));
  if (finish !== undefined) record.finishReasons = finish;
  const cached = integer(mapping.cached_input_tokens, a, r);
  if (cached !== undefined) record.cachedInputTokens = cached;
  const reasoning = integer(mapping.reasoning_tokens, a, r);
  if (reasoning !== undefined) record.reasoningTokens = reasoning;
  const callId = text(mapping.tool_call_id, a, r);
  if (callId !== undefined) record.toolCallId = callId;
  const args = firstPresent(mapping.tool_call_arguments, a, r);
  if (args !== undefined) record.toolArgsHash = toolArgumentsHash(args);
  const result = firstPresent(mapping.tool_call_result, a, r);
  if (result !== undefined) record.toolResultError = toolResultSaysFailed(result);
  const conversation = text(mapping.conversation_id, a, r);
  if (conversation !== undefined) record.conversationId = conversation;
  const cost = decimal(mapping.cost_amount, a, r);
  if (cost !== undefined && cost >= 0) {
    record.costAmount = cost;
    const currency = text(mapping.cost_currency, a, r);
    if (currency !== undefined) record.costCurrency = currency;
  }
  const version = text(mapping.agent_version, a, r);
  if (version !== undefined) record.agentVersion = version;
  const user = text(mapping.user, a, r);
  if (user !== undefined) record.user = user;
}
