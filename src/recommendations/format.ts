/**
 * Evidence accessors and breakdown text shared by the recommendation templates and the reports
 * (numbers read as src/model/evidence-format.ts writes them). Output must be byte-identical
 * across machines, so nothing here uses Intl or the clock.
 */
import type { Evidence } from '../model/painpoint.js';
import { formatNumber } from '../model/evidence-format.js';
import { parseDuration } from '../config/duration.js';

/** A numeric evidence metric, or undefined when absent or not a finite number. */
export function metricNumber(evidence: Evidence, name: string): number | undefined {
  const v = evidence.metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The first present numeric metric among `names` (for readers of any kind; a kind's own figures are read through src/model/evidence). */
export function firstMetric(evidence: Evidence, ...names: string[]): number | undefined {
  for (const name of names) {
    const v = metricNumber(evidence, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Entries of a breakdown sorted by count descending, then label, so ties render the same everywhere. */
export function sortedBreakdown(breakdown: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(breakdown)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** "rate_limit 12, timeout 3" */
export function formatBreakdown(breakdown: Readonly<Record<string, number>>, limit = 5): string {
  return sortedBreakdown(breakdown)
    .slice(0, limit)
    .map(([k, v]) => `${k} ${formatNumber(v, 2)}`)
    .join(', ');
}

/** Length of the evidence window in minutes ('5m' → 5); undefined for 'all' or unparsable windows. */
export function windowMinutes(window: string): number | undefined {
  const ms = parseDuration(window);
  return ms === undefined || ms <= 0 ? undefined : ms / 60_000;
}

/** Compares strings by code unit, never by locale, so sort order is the same on every machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One evidence value as text: numbers to 3 decimals, breakdowns as "a 3, b 1", lists comma separated. */
export function formatEvidenceValue(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value, 3);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.map((v) => formatEvidenceValue(v)).join(', ');
  if (typeof value === 'object') return formatBreakdown(value as Record<string, number>, 10);
  return String(value);
}

/** Evidence metrics in a stable order (by name) for tables and task descriptions. */
export function evidenceEntries(metrics: Readonly<Record<string, unknown>>): [string, string][] {
  return Object.keys(metrics)
    .sort(compareText)
    .map((k) => [k, formatEvidenceValue(metrics[k])]);
}
