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

/** The subject of the operation-key series: service, span name, and the first of tool / model / task type. */
export function operationSubject(span: SpanRecord): Subject {
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
  const subjects = Object.freeze(buildSeriesSubjects(span, dimensions)) as Subject[];
  subjectsCache.set(span, { dimensions, subjects });
  return subjects;
}

function buildSeriesSubjects(span: SpanRecord, dimensions: readonly Dimension[]): Subject[] {
  const out: Subject[] = [operationSubject(span)];
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
    const parts: string[] = [];
    for (const field of SUBJECT_FIELDS) {
      const v = subject[field];
      if (v !== undefined) parts.push(`${field}=${JSON.stringify(v)}`);
    }
    keyCache.set(subject, (key = parts.join(',')));
  }
  return key;
}

/** A short human label for a subject, used in titles: the group-by value, else the operation. */
export function subjectLabel(subject: Subject): string {
  if (subject.agent_version !== undefined) return `${subject.agent ?? subject.operation ?? subject.service} ${subject.agent_version}`;
  return subject.tool ?? subject.model ?? subject.provider ?? subject.agent ?? subject.task_type ?? subject.user ?? subject.operation ?? subject.service;
}

/** The series spans go to once `max_series` is reached (as the Collector's spanmetrics connector does). */
export const OVERFLOW_SUBJECT: Subject = { service: '__overflow__', operation: '__overflow__' };
