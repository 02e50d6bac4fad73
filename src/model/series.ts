/**
 * Series of docs/input.md: a span counts in the series of its operation key and, for each configured
 * group-by dimension it carries, in the series service + span name + that value.
 */
import type { SpanRecord } from './span.js';
import type { Subject } from './painpoint.js';

/** The group-by dimensions a span can carry (config `service.series.dimensions`). */
export const DIMENSIONS = ['provider', 'model', 'tool', 'agent', 'task_type', 'agent_version'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const DIMENSION_FIELD: Readonly<Record<Dimension, keyof SpanRecord>> = {
  provider: 'provider',
  model: 'model',
  tool: 'tool',
  agent: 'agent',
  task_type: 'taskType',
  agent_version: 'agentVersion',
};

/**
 * The subject of the operation-key series: service, span name, and the first of tool / model /
 * task type. The first subject of seriesSubjects, so spans of one operation share one object.
 */
export function operationSubject(span: SpanRecord): Subject {
  // trace detectors ask for a span's operation subject a few times in a row
  if (span !== lastOperationSpan) {
    lastOperationSubject = internedSubjects(span, NO_DIMENSIONS)[0] as Subject;
    lastOperationSpan = span;
  }
  return lastOperationSubject as Subject;
}

const NO_DIMENSIONS: readonly Dimension[] = [];

function makeOperationSubject(span: SpanRecord): Subject {
  if (span.tool !== undefined) return { service: span.service, operation: span.name, tool: span.tool };
  if (span.model !== undefined) return { service: span.service, operation: span.name, model: span.model };
  if (span.taskType !== undefined) return { service: span.service, operation: span.name, task_type: span.taskType };
  return { service: span.service, operation: span.name };
}

/**
 * A subject's key, cached per object: each series map asks for the keys of a span's subjects, and
 * profiling NativeAgentLightning on an 80 h kc replay showed subjectKey (a string built from JSON
 * per field) at 3–6 % of the time. Subjects are immutable, so a cached key never goes stale.
 */
const keyCache = new WeakMap<Subject, string>();

/**
 * The last span asked for, with its dimensions list and subjects: every span detector asks for the
 * subjects of the span just received, one after the other (a span goes through the detectors
 * before the next arrives), so one remembered span answers all but the first, without the
 * per-object WeakMap entry (and its cost to the garbage collector) each span used to get.
 */
let lastSpan: SpanRecord | undefined;
let lastDimensions: readonly Dimension[] | undefined;
let lastSubjects: Subject[] = [];
let lastOperationSpan: SpanRecord | undefined;
let lastOperationSubject: Subject | undefined;

/**
 * Every series a span counts in, each once (a group-by series equal to the operation series is
 * not repeated). The array is shared between callers asking with the same dimensions (frozen).
 */
export function seriesSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  if (span === lastSpan && dimensions === lastDimensions) return lastSubjects;
  const subjects = internedSubjects(span, dimensions);
  lastSpan = span;
  lastDimensions = dimensions;
  lastSubjects = subjects;
  return subjects;
}

/**
 * Spans of one operation share their subjects: the same frozen objects for every span with the
 * same service, name and dimension values, so a subject's key (and every map keyed by it) is
 * computed once per series rather than per span. Bounded: cleared when full (it only saves work).
 */
interface Interned {
  /** subjects by the text of the fields they are made of: what makes two spans' subjects the same objects */
  readonly byText: Map<string, Subject[]>;
  /**
   * the same subjects found without building that text: by operation key, then by the fields the
   * text is made of (profiling the sidecar bench showed the text's building and hashing as most
   * of this module's time, ~3 % of the sidecar's CPU)
   */
  readonly byOperation: Map<string, Remembered[]>;
  /** entries of byOperation (bounded with byText: texts mark absent values, so several may share one) */
  remembered: number;
}

interface Remembered {
  readonly service: string;
  readonly name: string;
  readonly tool: string | undefined;
  readonly model: string | undefined;
  readonly taskType: string | undefined;
  /** the span's value of each dimension field, in the order of the dimensions list */
  readonly values: readonly unknown[];
  readonly subjects: Subject[];
}

const interned = new WeakMap<readonly Dimension[], Interned>();
const MAX_INTERNED = 20_000;

function internedSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  let table = interned.get(dimensions);
  if (table === undefined) interned.set(dimensions, (table = { byText: new Map(), byOperation: new Map(), remembered: 0 }));
  let remembered = table.byOperation.get(span.operationKey);
  if (remembered !== undefined) {
    for (let i = 0; i < remembered.length; i++) {
      const r = remembered[i] as Remembered;
      if (r.name === span.name && r.service === span.service && r.tool === span.tool && r.model === span.model && r.taskType === span.taskType && sameValues(r.values, span, dimensions))
        return r.subjects;
    }
  }
  const byText = table.byText;
  // the fields the subjects are made of; \u0001 marks an absent value (distinct from '')
  let text = `${span.service}\u0000${span.name}\u0000${span.tool ?? '\u0001'}\u0000${span.model ?? '\u0001'}\u0000${span.taskType ?? '\u0001'}`;
  for (const dim of dimensions) {
    const value = span[DIMENSION_FIELD[dim]];
    text += `\u0000${typeof value === 'string' ? value : '\u0001'}`;
  }
  let subjects = byText.get(text);
  if (subjects === undefined) {
    if (byText.size >= MAX_INTERNED) {
      // the remembered entries go too: they hold the subjects of the texts dropped
      byText.clear();
      table.byOperation.clear();
      table.remembered = 0;
      remembered = undefined;
    }
    subjects = Object.freeze(buildSeriesSubjects(span, dimensions)) as Subject[];
    byText.set(text, subjects);
  }
  // remembered under the exact field values (a text marks absent and non-text values alike, so
  // one text may have several)
  if (table.remembered >= 2 * MAX_INTERNED) {
    table.byOperation.clear();
    table.remembered = 0;
    remembered = undefined;
  }
  table.remembered++;
  if (remembered === undefined) table.byOperation.set(span.operationKey, (remembered = []));
  const values = dimensions.map((dim) => span[DIMENSION_FIELD[dim]]);
  remembered.push({ service: span.service, name: span.name, tool: span.tool, model: span.model, taskType: span.taskType, values, subjects });
  return subjects;
}

function sameValues(values: readonly unknown[], span: SpanRecord, dimensions: readonly Dimension[]): boolean {
  for (let i = 0; i < dimensions.length; i++) {
    if (values[i] !== span[DIMENSION_FIELD[dimensions[i] as Dimension]]) return false;
  }
  return true;
}

function buildSeriesSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  const out: Subject[] = [makeOperationSubject(span)];
  const seen = new Set([subjectKey(out[0] as Subject)]);
  for (const dim of dimensions) {
    const value = span[DIMENSION_FIELD[dim]];
    if (typeof value !== 'string' || value === '') continue;
    // a version names a series together with its agent: "coder 1.4 fails 40 %"
    const subject: Subject =
      dim === 'agent_version' && span.agent !== undefined
        ? { service: span.service, operation: span.name, agent: span.agent, agent_version: value }
        : { service: span.service, operation: span.name, [dim]: value };
    const key = subjectKey(subject);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(subject);
    }
  }
  return out;
}

const SUBJECT_FIELDS = ['service', 'operation', 'provider', 'model', 'tool', 'agent', 'task_type', 'error_class', 'agent_version', 'user'] as const;

/** Canonical text of a subject: fields in a fixed order, absent ones left out. Used for series maps and ids. */
export function subjectKey(subject: Subject): string {
  let key = keyCache.get(subject);
  if (key === undefined) {
    key = '';
    for (const field of SUBJECT_FIELDS) {
      const v = subject[field];
      if (v === undefined) continue;
      // JSON text of the value; plain text needs only the quotes (JSON.stringify is the slow part)
      key += `${key === '' ? '' : ','}${field}=${plainText(v) ? `"${v}"` : JSON.stringify(v)}`;
    }
    keyCache.set(subject, key);
  }
  return key;
}

/** Whether JSON.stringify writes `v` as is between quotes (no quote, backslash, control or surrogate). */
function plainText(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff) || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

/** A short human label for a subject, used in titles: the group-by value, else the operation. */
export function subjectLabel(subject: Subject): string {
  if (subject.agent_version !== undefined) return `${subject.agent ?? subject.operation ?? subject.service} ${subject.agent_version}`;
  return subject.tool ?? subject.model ?? subject.provider ?? subject.agent ?? subject.task_type ?? subject.user ?? subject.operation ?? subject.service;
}

/**
 * The label with the error class a subject is narrowed to: "web_search", "web_search (timeout)",
 * "error class timeout" (an error cluster's subject names no operation), for lists of pain points.
 */
export function subjectLabelWithErrorClass(subject: Subject): string {
  const label = subject.tool ?? subject.model ?? subject.provider ?? subject.agent ?? subject.task_type ?? subject.operation;
  if (subject.error_class === undefined) return label ?? subject.service;
  return label !== undefined ? `${label} (${subject.error_class})` : `error class ${subject.error_class}`;
}

/** The series spans go to once `max_series` is reached (as the Collector's spanmetrics connector does). */
export const OVERFLOW_SUBJECT: Subject = { service: '__overflow__', operation: '__overflow__' };
