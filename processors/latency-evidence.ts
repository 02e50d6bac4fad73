/**
 * Evidence helpers shared by the latency-family detectors (latency, latency_bottleneck,
 * repeated_calls, sequential_fanout): bounded exemplar lists and number formatting for titles.
 */
import { Counter, type Registry } from 'prom-client';

/** One real span that shows the problem; `weight` orders exemplars (slowest / biggest first). */
export interface Exemplar {
  readonly traceId: string;
  readonly spanId: string;
  readonly runId: string;
  readonly weight: number;
}

/** SPEC §3: up to 5 exemplar traces, up to 20 run ids. */
export const MAX_EXEMPLAR_TRACES = 5;
export const MAX_RUN_IDS = 20;

/**
 * Keeps the `cap` heaviest exemplars, heaviest first. Bounded: a pane or window holds at most
 * `cap` entries however many spans it saw.
 */
export function keepTop(list: Exemplar[], item: Exemplar, cap: number): void {
  if (list.length >= cap && (list[list.length - 1] as Exemplar).weight >= item.weight) return;
  let i = list.length;
  while (i > 0 && (list[i - 1] as Exemplar).weight < item.weight) i--;
  list.splice(i, 0, item);
  if (list.length > cap) list.pop();
}

export function mergeTop(into: Exemplar[], from: readonly Exemplar[], cap: number): void {
  for (const item of from) keepTop(into, item, cap);
}

/** Exemplar trace ids (distinct, heaviest first, ≤ 5) with their span ids position by position. */
export function exemplarIds(list: readonly Exemplar[]): { traceIds: string[]; spanIds: string[] } {
  const traceIds: string[] = [];
  const spanIds: string[] = [];
  for (const e of list) {
    if (traceIds.length >= MAX_EXEMPLAR_TRACES) break;
    if (traceIds.includes(e.traceId)) continue;
    traceIds.push(e.traceId);
    spanIds.push(e.spanId);
  }
  return { traceIds, spanIds };
}

/** Distinct run ids of the exemplars, heaviest first, ≤ 20. */
export function exemplarRunIds(list: readonly Exemplar[]): string[] {
  const out: string[] = [];
  for (const e of list) {
    if (out.length >= MAX_RUN_IDS) break;
    if (!out.includes(e.runId)) out.push(e.runId);
  }
  return out;
}

export function distinctCount(list: readonly Exemplar[], field: 'traceId' | 'runId'): number {
  return new Set(list.map((e) => e[field])).size;
}

/** `850 ms`, `4.2 s`, `3.5 min` */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 60_000) return `${trim(ms / 60_000)} min`;
  if (ms >= 1_000) return `${trim(ms / 1_000)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${trim(ms)} ms`;
}

function trim(n: number): string {
  return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}

/** `3.5×` */
export function formatRatio(r: number): string {
  return `${r >= 100 ? Math.round(r) : Math.round(r * 10) / 10}×`;
}

/** `62 %` */
export function formatShare(s: number): string {
  return `${Math.round(s * 100)} %`;
}

/** evidence numbers: milliseconds to 0.1 ms, ratios and shares to 3 decimals */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A counter registered once per registry (a processor may be created twice on one registry in tests). */
export function droppedCounter(registry: Registry, name: string, help: string): Counter {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing;
  return new Counter({ name, help, registers: [registry] });
}
