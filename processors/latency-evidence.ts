/**
 * Evidence helpers shared by the latency-family detectors (latency, latency_bottleneck,
 * repeated_calls, sequential_fanout): bounded lists of weighted exemplars and evidence rounding.
 */
import { Counter, type Registry } from '../src/telemetry/prom.js';
import { MAX_EXEMPLAR_TRACES, MAX_RUN_IDS, type Exemplar } from '../src/model/evidence-format.js';

/** An exemplar span with its run; `weight` orders exemplars (slowest / biggest first). */
export interface WeightedExemplar extends Exemplar {
  readonly runId: string;
  readonly weight: number;
}

/**
 * Keeps the `cap` heaviest exemplars, heaviest first. Bounded: a pane or window holds at most
 * `cap` entries however many spans it saw.
 */
export function keepTop(list: WeightedExemplar[], item: WeightedExemplar, cap: number): void {
  if (list.length >= cap && (list[list.length - 1] as WeightedExemplar).weight >= item.weight) return;
  let i = list.length;
  while (i > 0 && (list[i - 1] as WeightedExemplar).weight < item.weight) i--;
  list.splice(i, 0, item);
  if (list.length > cap) list.pop();
}

export function mergeTop(into: WeightedExemplar[], from: readonly WeightedExemplar[], cap: number): void {
  for (const item of from) keepTop(into, item, cap);
}

/** Exemplar trace ids (distinct, heaviest first, ≤ 5) with their span ids position by position. */
export function exemplarIds(list: readonly WeightedExemplar[]): { traceIds: string[]; spanIds: string[] } {
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
export function exemplarRunIds(list: readonly WeightedExemplar[]): string[] {
  const out: string[] = [];
  for (const e of list) {
    if (out.length >= MAX_RUN_IDS) break;
    if (!out.includes(e.runId)) out.push(e.runId);
  }
  return out;
}

export function distinctCount(list: readonly WeightedExemplar[], field: 'traceId' | 'runId'): number {
  return new Set(list.map((e) => e[field])).size;
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
