/**
 * Bounded, mergeable evidence kept in window panes by the failure detectors (failure_rate,
 * failure_spike, error_cluster): breakdowns by label, exemplar spans, affected traces and runs.
 * Every part has a fixed cap, so a pane's size does not grow with the spans it counts.
 */
import type { SpanRecord } from '../src/model/span.js';
import { countLabel, MAX_RUN_IDS, OVERFLOW_LABEL, type Exemplar } from '../src/model/evidence-format.js';
import { DistinctCount } from '../src/stats/distinct-count.js';

/** label → count with at most `maxLabels` labels; further labels are counted under OVERFLOW_LABEL. */
export class LabelCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxLabels: number) {}

  get size(): number {
    return this.counts.size;
  }

  /** distinct labels seen (a lower bound once OVERFLOW_LABEL holds some) */
  get distinct(): number {
    return this.counts.has(OVERFLOW_LABEL) ? this.counts.size - 1 : this.counts.size;
  }

  /** true when some labels were folded into OVERFLOW_LABEL */
  get truncated(): boolean {
    return this.counts.has(OVERFLOW_LABEL);
  }

  add(label: string, n = 1): void {
    countLabel(this.counts, label, n, this.maxLabels);
  }

  merge(other: LabelCounts): void {
    for (const [label, n] of other.counts) this.add(label, n);
  }

  /** every label with its count, OVERFLOW_LABEL included, in insertion order */
  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  /** the label with the highest count (ties: the first in label order); OVERFLOW_LABEL is never it */
  top(): [string, number] | undefined {
    return this.sorted().find(([label]) => label !== OVERFLOW_LABEL);
  }

  /** label → count of the `limit` highest counts, as a plain record for evidence */
  record(limit = 10): Record<string, number> {
    return Object.fromEntries(this.sorted().slice(0, limit));
  }

  private sorted(): [string, number][] {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Up to `max` exemplar spans from distinct traces, first come first kept (deterministic). */
export class ExemplarList {
  readonly items: Exemplar[] = [];

  constructor(private readonly max: number) {}

  add(span: Pick<SpanRecord, 'traceId' | 'spanId'>): void {
    if (this.items.length >= this.max) return;
    if (this.items.some((e) => e.traceId === span.traceId)) return;
    this.items.push({ traceId: span.traceId, spanId: span.spanId });
  }

  merge(other: ExemplarList): void {
    for (const e of other.items) this.add(e);
  }

  get traceIds(): string[] {
    return this.items.map((e) => e.traceId);
  }

  get spanIds(): string[] {
    return this.items.map((e) => e.spanId);
  }
}

/** Affected traces and runs: exact counts below 64 distinct, estimated above; plus up to 20 run ids. */
export class AffectedSet {
  readonly traces = new DistinctCount();
  readonly runs = new DistinctCount();
  readonly runIds: string[] = [];

  add(span: Pick<SpanRecord, 'traceId' | 'runId'>): void {
    this.traces.add(span.traceId);
    this.runs.add(span.runId);
    this.addRunId(span.runId);
  }

  merge(other: AffectedSet): void {
    this.traces.merge(other.traces);
    this.runs.merge(other.runs);
    for (const id of other.runIds) this.addRunId(id);
  }

  private addRunId(id: string): void {
    if (this.runIds.length < MAX_RUN_IDS && !this.runIds.includes(id)) this.runIds.push(id);
  }
}

/** Tokens a span used (input + output), 0 when it reports none. */
export function spanTokens(span: Pick<SpanRecord, 'inputTokens' | 'outputTokens'>): number {
  const input = span.inputTokens !== undefined && Number.isFinite(span.inputTokens) ? Math.max(0, span.inputTokens) : 0;
  const output = span.outputTokens !== undefined && Number.isFinite(span.outputTokens) ? Math.max(0, span.outputTokens) : 0;
  return input + output;
}

/** A span's duration for wasted-time sums: never negative or NaN (clock skew, bad input). */
export function spanDuration(span: Pick<SpanRecord, 'durationMs'>): number {
  return Number.isFinite(span.durationMs) && span.durationMs > 0 ? span.durationMs : 0;
}
