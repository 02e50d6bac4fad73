/**
 * Readings of the agent attributes of docs/input.md that need more than "first present key":
 * finish reasons as a list, tool-call arguments as a hash (the arguments may hold secrets and
 * are never kept), and whether a tool-call result reports a failure.
 */
import { createHash } from 'node:crypto';
import type { AttrValue } from './span.js';

/** Results longer than this are not parsed (a file's contents returned by a tool): their verdict is "no failure reported". */
export const MAX_PARSED_RESULT_CHARS = 1_048_576;

/**
 * `gen_ai.response.finish_reasons` as lowercase strings: a string array (the convention), or a
 * JSON array or comma-separated list given as one string. Undefined when nothing usable is there.
 */
export function finishReasonsOf(v: AttrValue | undefined): readonly string[] | undefined {
  let items: readonly AttrValue[];
  if (Array.isArray(v)) items = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(s);
        items = Array.isArray(parsed) ? (parsed as AttrValue[]) : [];
      } catch {
        items = [];
      }
    } else items = s.split(',');
  } else return undefined;
  const out = items.filter((x): x is string => typeof x === 'string').map((x) => x.trim().toLowerCase()).filter((x) => x !== '');
  return out.length > 0 ? out : undefined;
}

/** A JSON-like value with object keys sorted at every level, so `{"b":1,"a":2}` and `{"a":2,"b":1}` read the same. */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/**
 * 16 hex of sha256 over the arguments as normalized JSON: a JSON string is parsed first (so key
 * order and whitespace do not matter), text that is not JSON is hashed as it is (trimmed), and a
 * structured attribute value is normalized the same way.
 */
export function toolArgumentsHash(v: AttrValue): string {
  let text: string;
  if (typeof v === 'string') {
    const s = v.trim();
    try {
      text = canonical(JSON.parse(s));
    } catch {
      text = JSON.stringify(s);
    }
  } else text = canonical(v);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * A failure field of a result object: `isError` / `is_error: true`, `ok` / `success: false`, or an
 * `error` that holds something. An empty `error` (null, false, 0, "", {}, []) is how many APIs say
 * "no error", and is none.
 */
function objectSaysFailed(o: Readonly<Record<string, unknown>>): boolean {
  if (o['isError'] === true || o['is_error'] === true || o['isError'] === 'true' || o['is_error'] === 'true') return true;
  if (o['ok'] === false || o['success'] === false || o['ok'] === 'false' || o['success'] === 'false') return true;
  const error = o['error'];
  if (error === undefined || error === null || error === false || error === 0 || (typeof error === 'string' && error.trim() === '')) return false;
  if (Array.isArray(error)) return error.length > 0;
  if (typeof error === 'object' && Object.keys(error).length === 0) return false;
  return true;
}

// Only a result that names one of the failure keys is parsed at all: most results are file contents or search hits.
const FAILURE_KEY = /"(?:isError|is_error|ok|success|error)"\s*:/;

/**
 * Whether a tool-call result reports a failure: a JSON object (or structured attribute) at its top
 * level with `isError: true` (MCP), `"ok": false`, `"success": false` or an `error` field. Text
 * that is not a JSON object says nothing either way (false).
 */
export function toolResultSaysFailed(v: AttrValue): boolean {
  if (typeof v === 'string') {
    const s = v.trim();
    if (!s.startsWith('{') || s.length > MAX_PARSED_RESULT_CHARS || !FAILURE_KEY.test(s)) return false;
    try {
      const parsed: unknown = JSON.parse(s);
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && objectSaysFailed(parsed as Record<string, unknown>);
    } catch {
      return false;
    }
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) return objectSaysFailed(v as Record<string, unknown>);
  return false;
}
