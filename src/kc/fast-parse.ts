/**
 * A fast path for kc run data that is already well formed: the same output as the zod schemas of
 * events.ts and run-data.ts (same values, same key order), or undefined as soon as anything is
 * unusual, and the caller then parses with zod, which names the field that is wrong.
 *
 * Hand-written because it was measured as the bottleneck: NativeAgentLightning validates every
 * call's runData, and zod took ~25 µs per event (200 ms for a 10-day, 8 000-event kc history,
 * more than the whole analysis) against well under 1 µs here. test/kc-fast-parse.test.ts holds
 * the two to the same output.
 */
import type { KcEvent } from './events.js';
import type { KcRunData } from './run-data.js';

type Raw = Record<string, unknown>;
type Field = (v: unknown) => unknown;

/** Marks a value the fast path does not vouch for. */
const BAD = Symbol('bad');

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Field = (v) => (typeof v === 'string' ? v : BAD);
const nonEmpty: Field = (v) => (typeof v === 'string' && v.length > 0 ? v : BAD);
const id: Field = (v) => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : BAD);
const nonNegative: Field = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : BAD);
const count: Field = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : BAD);
const bool: Field = (v) => (typeof v === 'boolean' ? v : BAD);
const strOrNull: Field = (v) => (typeof v === 'string' || v === null ? v : BAD);
const any: Field = (v) => v;
const strings: Field = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : BAD);
const timestamp: Field = (v) => {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(ms) ? ms : BAD;
};

/** A field of a schema, in its order: required, optional, or with a default. */
interface Spec {
  readonly key: string;
  readonly check: Field;
  readonly presence: 'required' | 'optional' | { readonly default: unknown };
}
const req = (key: string, check: Field): Spec => ({ key, check, presence: 'required' });
const opt = (key: string, check: Field): Spec => ({ key, check, presence: 'optional' });
const def = (key: string, check: Field, value: unknown): Spec => ({ key, check, presence: { default: value } });

const BASE: readonly Spec[] = [req('timestamp', timestamp), opt('runId', id)];

/** The shapes of events.ts, field for field and in the same order. */
const SHAPES: Readonly<Record<string, readonly Spec[]>> = {
  run_start: [...BASE, req('eventType', str), opt('project', str), opt('command', str), opt('options', any), opt('nodeVersion', str), opt('platform', str), opt('arch', str)],
  task_selection: [...BASE, req('eventType', str), req('taskId', id), opt('taskTitle', str), opt('provider', str)],
  task_execution: [
    ...BASE,
    req('eventType', str),
    req('taskId', id),
    def('taskTitle', str, ''),
    opt('provider', nonEmpty),
    req('success', bool),
    req('executionTime', nonNegative),
    def('retryCount', count, 0),
    def('fallbackCount', count, 0),
    opt('error', strOrNull),
  ],
  provider_fallback: [...BASE, req('eventType', str), req('fromProvider', str), req('toProvider', str), opt('reason', strOrNull), opt('taskId', id)],
  run_completion: [
    ...BASE,
    req('eventType', str),
    opt('duration', nonNegative),
    opt('tasksCompleted', count),
    opt('tasksFailed', count),
    opt('totalRetries', count),
    opt('totalFallbacks', count),
    opt('providersUsed', strings),
  ],
};
/** An event type Sidelight does not know keeps its fields; only the base ones are checked. */
const UNKNOWN: readonly Spec[] = [req('eventType', nonEmpty), req('timestamp', timestamp), opt('runId', id)];

/** Fields in schema order, then the others in input order (a loose object's output). */
function shape(raw: Raw, specs: readonly Spec[]): Raw | undefined {
  const out: Raw = {};
  for (const s of specs) {
    if (!Object.hasOwn(raw, s.key)) {
      if (s.presence === 'required') return undefined;
      if (s.presence !== 'optional') out[s.key] = s.presence.default;
      continue;
    }
    const v = raw[s.key];
    if (v === undefined) return undefined; // zod's handling of an explicit undefined is left to zod
    const checked = s.check(v);
    if (checked === BAD) return undefined;
    out[s.key] = checked;
  }
  for (const key of Object.keys(raw)) {
    if (key === '__proto__') return undefined;
    if (!Object.hasOwn(out, key)) out[key] = raw[key];
  }
  return out;
}

/** One kc event as kcEventSchema outputs it, or undefined when zod must judge it. */
export function fastKcEvent(value: unknown): KcEvent | undefined {
  if (!isObject(value)) return undefined;
  const type = value['eventType'];
  if (typeof type !== 'string') return undefined;
  const specs = Object.hasOwn(SHAPES, type) ? (SHAPES[type] as readonly Spec[]) : UNKNOWN;
  return shape(value, specs) as KcEvent | undefined;
}

/** kc runData as kcRunDataSchema outputs it, or undefined when zod must judge it. */
export function fastKcRunData(value: unknown): KcRunData | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Record<string, unknown>[] = [];
  for (const run of value) {
    if (!isObject(run) || !Array.isArray(run['events'])) return undefined;
    const events: KcEvent[] = [];
    for (const e of run['events']) {
      const parsed = fastKcEvent(e);
      if (parsed === undefined) return undefined;
      events.push(parsed);
    }
    const shaped = shape({ ...run, events: [] }, [req('runId', id), opt('summary', any), req('events', any)]);
    if (shaped === undefined) return undefined;
    shaped['events'] = events;
    out.push(shaped);
  }
  return out as unknown as KcRunData;
}
