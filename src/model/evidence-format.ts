/**
 * The evidence format every pain point shares, written once for detectors, advice and reports:
 * its limits, the label counts past a breakdown's cap go under, the key of the failures-by-class
 * breakdown, the exemplar type, and how numbers read in titles, descriptions, recommendations and
 * reports. Locale-free and clock-free, so the same input gives byte-identical text everywhere.
 */

/** Run ids a pain point names (`run_ids`): distinct, at most this many. */
export const MAX_RUN_IDS = 20;
/** Exemplar traces a pain point links to (`evidence.exemplar_trace_ids`), at most this many. */
export const MAX_EXEMPLAR_TRACES = 5;
/** The label a breakdown counts under once it holds its cap of labels. */
export const OVERFLOW_LABEL = '__other__';
/** The evidence metric breaking failures down by error class (`{rate_limit: 12, timeout: 3}`). */
export const BY_ERROR_CLASS = 'by_error_class';

/** One real span that shows the problem. */
export interface Exemplar {
  readonly traceId: string;
  readonly spanId: string;
}

/**
 * Adds `n` to `label` in a breakdown that keeps at most `cap` labels: a label not yet in a full
 * table counts under OVERFLOW_LABEL, so the table's size is bounded by the cap, never by traffic.
 */
export function countLabel(table: Map<string, number>, label: string, n: number, cap: number): void {
  const key = table.has(label) || table.size < cap ? label : OVERFLOW_LABEL;
  table.set(key, (table.get(key) ?? 0) + n);
}

/** Rounds to `digits` decimals and drops trailing zeros: 12.50 → "12.5", 3.0 → "3". */
export function formatNumber(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = value.toFixed(digits);
  const trimmed = fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
  return trimmed === '-0' ? '0' : trimmed;
}

/** A count: exact, no thousands separators (locale-free). */
export function formatCount(n: number): string {
  return formatNumber(n, 0);
}

/** A figure in text: one decimal below 10, whole from 10 up (4.25 → "4.3", 3.0 → "3", 12.5 → "13"). */
export function formatFigure(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const r = Math.abs(x) < 10 ? Math.round(x * 10) / 10 : Math.round(x);
  return String(r === 0 ? 0 : r);
}

/** A ratio as a percentage with a space before the sign: 0.421 → "42 %", 0.045 → "4.5 %". */
export function formatPercent(ratio: number): string {
  return `${formatFigure(ratio * 100)} %`;
}

/** A multiple: 3.46 → "3.5×", 21.7 → "22×". */
export function formatRatio(ratio: number): string {
  return `${formatFigure(ratio)}×`;
}

const DURATION_UNITS: ReadonlyArray<readonly [unit: string, ms: number, next: number]> = [
  ['ms', 1, 1_000],
  ['s', 1_000, 60],
  ['min', 60_000, 60],
  ['h', 3_600_000, Number.POSITIVE_INFINITY],
];

/** A duration for people, in the largest unit below its size: "850 ms", "4.2 s", "3.5 min", "2 h" (4 200 ms reads "4.2 s" everywhere). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  for (const [unit, size, next] of DURATION_UNITS) {
    const text = formatFigure(ms / size);
    // 999.6 ms rounds to 1000: that is "1 s"
    if (Math.abs(Number(text)) < next) return `${text} ${unit}`;
  }
  return `${ms} ms`;
}

/** The window a judgement was made on, as words: "over the last 5m", "over the whole input". */
export function windowPhrase(window: string): string {
  return window === 'all' ? 'over the whole input' : `over the last ${window}`;
}
