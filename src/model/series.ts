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
  return internedSubjects(span, NO_DIMENSIONS)[0] as Subject;
}

const NO_DIMENSIONS: readonly Dimension[] = [];

function makeOperationSubject(span: SpanRecord): Subject {
  if (span.tool !== undefined) return { service: span.service, operation: span.name, tool: span.tool };
  if (span.model !== undefined) return { service: span.service, operation: span.name, model: span.model };
  if (span.taskType !== undefined) return { service: span.service, operation: span.name, task_type: span.taskType };
  return { service: span.service, operation: span.name };
}

/**
 * A span's subjects per dimensions list, and a subject's key, cached per object: every span
 * detector asks for the same span's subjects and each series map for their keys, and profiling
 * NativeAgentLightning on an 80 h kc replay showed subjectKey (a string built from JSON per field)
 * at 3–6 % of the time. Spans and subjects are immutable, so a cached value never goes stale.
 */
const subjectsCache = new WeakMap<SpanRecord, { readonly dimensions: readonly Dimension[]; readonly subjects: Subject[] }>();
const keyCache = new WeakMap<Subject, string>();

/**
 * Every series a span counts in, each once (a group-by series equal to the operation series is
 * not repeated). The array is shared between callers asking with the same dimensions (frozen).
 */
export function seriesSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  const cached = subjectsCache.get(span);
  if (cached !== undefined && cached.dimensions === dimensions) return cached.subjects;
  const subjects = internedSubjects(span, dimensions);
  subjectsCache.set(span, { dimensions, subjects });
  return subjects;
}

/**
 * Spans of one operation share their subjects: the same frozen objects for every span with the
 * same service, name and dimension values, so a subject's key (and every map keyed by it) is
 * computed once per series rather than per span. Bounded: cleared when full (it only saves work).
 */
const interned = new WeakMap<readonly Dimension[], Map<string, Subject[]>>();
const MAX_INTERNED = 20_000;

function internedSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  let byText = interned.get(dimensions);
  if (byText === undefined) interned.set(dimensions, (byText = new Map()));
  // the fields the subjects are made of; \u0001 marks an absent value (distinct from '')
  let text = `${span.service}\u0000${span.name}\u0000${span.tool ?? '\u0001'}\u0000${span.model ?? '\u0001'}\u0000${span.taskType ?? '\u0001'}`;
  for (const dim of dimensions) {
    const value = span[DIMENSION_FIELD[dim]];
    text += `\u0000${typeof value === 'string' ? value : '\u0001'}`;
  }
  let subjects = byText.get(text);
  if (subjects === undefined) {
    if (byText.size >= MAX_INTERNED) byText.clear();
    subjects = Object.freeze(buildSeriesSubjects(span, dimensions)) as Subject[];
    byText.set(text, subjects);
  }
  return subjects;
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
