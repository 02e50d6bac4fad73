/**
 * JSON text with a stable key order, so the same analysis prints byte-identical output whatever
 * order the engine built its objects in: a few identifying keys first (id, kind, title, …), then the
 * rest alphabetically. Arrays keep their order (the engine orders them deterministically).
 */
const LEADING_KEYS = ['id', 'kind', 'title', 'priority', 'severity', 'category', 'state', 'subject'];
const LEADING_RANK = new Map(LEADING_KEYS.map((k, i) => [k, i]));

function compareKeys(a: string, b: string): number {
  const ra = LEADING_RANK.get(a);
  const rb = LEADING_RANK.get(b);
  if (ra !== undefined || rb !== undefined) return (ra ?? Infinity) - (rb ?? Infinity);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The value with its objects' keys in the stable order (arrays keep theirs). */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort(compareKeys)) {
    const v = (value as Record<string, unknown>)[key];
    // `__proto__` as a data key must not become the prototype of the output object
    if (key === '__proto__') Object.defineProperty(out, key, { value: canonical(v), enumerable: true, writable: true, configurable: true });
    else out[key] = canonical(v);
  }
  return out;
}

/** `JSON.stringify` with stable key order; `indent` as in JSON.stringify. */
export function stableStringify(value: unknown, indent?: number): string {
  return JSON.stringify(canonical(value), null, indent);
}
