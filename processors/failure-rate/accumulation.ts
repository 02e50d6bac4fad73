/**
 * What failure_rate keeps per pane: calls and failures (all the rules read), and the evidence of
 * the failed spans, merged only for a window that fires. Offline, a per-series time histogram for
 * the whole input's first-half / last-quarter split.
 */
import type { SpanRecord } from '../../src/model/span.js';
import type { PaneAggregator } from '../../src/windows/series-windows.js';
import { MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import { AffectedSet, ExemplarList, LabelCounts, spanDuration, spanTokens } from '../failure-evidence.js';
import { everySpanACall, type CallCount } from './calls.js';

/** Breakdown label caps per pane: enough for the top 10 shown, bounded for memory. */
const MAX_BREAKDOWN_LABELS = 32;
/** label for failed spans that carry no error class */
export const UNKNOWN_ERROR_CLASS = 'unknown';

/** Calls and the calls that failed, a retried call's attempts counted once (calls.ts): what the rules judge. */
export interface FailureCounts {
  calls: number;
  failures: number;
}

/** Evidence of the failed spans; allocated on a pane's first failure, so healthy panes stay small. */
export interface FailureDetail {
  readonly byErrorClass: LabelCounts;
  readonly byProvider: LabelCounts;
  readonly affected: AffectedSet;
  readonly exemplars: ExemplarList;
}

export interface FailureAcc extends FailureCounts {
  /** every span, retries included, and the failed ones (the evidence states both when they differ) */
  attempts: number;
  failedAttempts: number;
  /** time spent in failed calls */
  wastedMs: number;
  /** tokens used by failed calls */
  wastedTokens: number;
  /** USD of failed calls whose cost is known, and how many they are */
  wastedCostUsd: number;
  pricedFailures: number;
  /** evidence of the spans added to this accumulator itself (panes, whole input) */
  own: FailureDetail | undefined;
  /**
   * Accumulators merged into this one, whose evidence is merged only when asked for
   * (failureDetail): windows are merged at every boundary for their counts, evidence is needed
   * only for the few that fire. The parts are read at once, before their panes change.
   */
  parts: FailureAcc[] | undefined;
}

function newDetail(maxExemplars: number): FailureDetail {
  return {
    byErrorClass: new LabelCounts(MAX_BREAKDOWN_LABELS),
    byProvider: new LabelCounts(MAX_BREAKDOWN_LABELS),
    affected: new AffectedSet(),
    exemplars: new ExemplarList(maxExemplars),
  };
}

function mergeDetail(into: FailureDetail, from: FailureDetail): void {
  into.byErrorClass.merge(from.byErrorClass);
  into.byProvider.merge(from.byProvider);
  into.affected.merge(from.affected);
  into.exemplars.merge(from.exemplars);
}

/** The evidence of the failed spans an accumulator holds, merged from its parts; undefined without failures. */
export function failureDetail(acc: FailureAcc, maxExemplars: number): FailureDetail | undefined {
  if (acc.failedAttempts === 0) return undefined;
  if (!acc.parts) return acc.own;
  const out = newDetail(maxExemplars);
  const visit = (a: FailureAcc) => {
    if (a.own) mergeDetail(out, a.own);
    for (const p of a.parts ?? []) visit(p);
  };
  visit(acc);
  return out;
}

/** The run ids failureDetail would list (same order, same cap), without merging the rest of the evidence. */
export function failureRunIds(acc: FailureAcc): string[] {
  const out: string[] = [];
  const visit = (a: FailureAcc) => {
    if (a.own) for (const id of a.own.affected.runIds) if (out.length < MAX_RUN_IDS && !out.includes(id)) out.push(id);
    for (const p of a.parts ?? []) visit(p);
  };
  if (acc.failedAttempts > 0) visit(acc);
  return out;
}

/**
 * Panes accumulate FailureAcc; a window's summary is its calls and failures, which is all the
 * failure_rate and failure_spike rules read (the rest is for the observation of a window that fires).
 * `count` says whether a span is a call of its own or another attempt of one (calls.ts).
 */
export function failureAggregator(
  maxExemplars: number,
  costOf: (span: SpanRecord) => number | undefined = () => undefined,
  count: (span: SpanRecord) => CallCount = everySpanACall,
): PaneAggregator<FailureAcc, SpanRecord, FailureCounts> {
  return {
    create: () => ({ calls: 0, failures: 0, attempts: 0, failedAttempts: 0, wastedMs: 0, wastedTokens: 0, wastedCostUsd: 0, pricedFailures: 0, own: undefined, parts: undefined }),
    summary: {
      create: () => ({ calls: 0, failures: 0 }),
      add(into, pane) {
        into.calls += pane.calls;
        into.failures += pane.failures;
      },
      additive: {
        width: 2,
        counts(pane, out, at) {
          out[at] = pane.calls;
          out[at + 1] = pane.failures;
        },
        fromCounts: (sums) => ({ calls: sums[0] as number, failures: sums[1] as number }),
      },
    },
    add(acc, span) {
      const c = count(span);
      acc.calls += c.calls;
      acc.failures += c.failures;
      acc.attempts++;
      if (!span.failed) return;
      acc.failedAttempts++;
      acc.wastedMs += spanDuration(span);
      acc.wastedTokens += spanTokens(span);
      const usd = costOf(span);
      if (usd !== undefined) {
        acc.wastedCostUsd += usd;
        acc.pricedFailures++;
      }
      const d = (acc.own ??= newDetail(maxExemplars));
      d.byErrorClass.add(span.errorClass || UNKNOWN_ERROR_CLASS);
      if (span.provider) d.byProvider.add(span.provider);
      d.affected.add(span);
      d.exemplars.add(span);
    },
    merge(into, from) {
      into.calls += from.calls;
      into.failures += from.failures;
      into.attempts += from.attempts;
      into.failedAttempts += from.failedAttempts;
      into.wastedMs += from.wastedMs;
      into.wastedTokens += from.wastedTokens;
      into.wastedCostUsd += from.wastedCostUsd;
      into.pricedFailures += from.pricedFailures;
      if (from.failedAttempts > 0) (into.parts ??= []).push(from);
    },
  };
}

/** Buckets kept per series for the offline first-half / last-quarter split. */
const MAX_TIME_BUCKETS = 256;

/**
 * Calls and failures over event time in at most 256 buckets, each a FailureAcc with the evidence
 * of its failed spans, so a part of the input is judged and described from the same spans (a
 * spike's error classes are those of its own failures); when the series' time span outgrows them,
 * buckets double in width and pair up. Offline only, so the whole input can be split by time
 * without keeping its spans.
 */
export class TimeHistogram {
  private buckets = new Map<number, FailureAcc>();
  private minIdx = Number.POSITIVE_INFINITY;
  private maxIdx = Number.NEGATIVE_INFINITY;
  private readonly aggregator: PaneAggregator<FailureAcc, SpanRecord, FailureCounts>;

  constructor(
    private width: number,
    private readonly maxExemplars = 5,
    count: (span: SpanRecord) => CallCount = everySpanACall,
  ) {
    this.aggregator = failureAggregator(maxExemplars, undefined, count);
  }

  add(timeMs: number, span: SpanRecord): void {
    let idx = Math.floor(timeMs / this.width);
    const lo = Math.min(this.minIdx, idx);
    const hi = Math.max(this.maxIdx, idx);
    if (hi - lo >= MAX_TIME_BUCKETS) {
      this.coarsen(lo, hi);
      idx = Math.floor(timeMs / this.width);
    }
    this.minIdx = Math.min(this.minIdx, idx);
    this.maxIdx = Math.max(this.maxIdx, idx);
    let b = this.buckets.get(idx);
    if (!b) {
      b = this.aggregator.create();
      this.buckets.set(idx, b);
    }
    this.aggregator.add(b, span);
  }

  /** the buckets whose midpoint lies in [fromMs, toMs], merged (their evidence with them) */
  counts(fromMs: number, toMs: number): FailureAcc {
    const out = this.aggregator.create();
    for (const idx of [...this.buckets.keys()].sort((a, b) => a - b)) {
      const mid = (idx + 0.5) * this.width;
      if (mid >= fromMs && mid <= toMs) this.aggregator.merge(out, this.buckets.get(idx) as FailureAcc);
    }
    return out;
  }

  private coarsen(lo: number, hi: number): void {
    let factor = 1;
    while (Math.floor(hi / factor) - Math.floor(lo / factor) >= MAX_TIME_BUCKETS) factor *= 2;
    const merged = new Map<number, FailureAcc>();
    for (const idx of [...this.buckets.keys()].sort((a, b) => a - b)) {
      const b = this.buckets.get(idx) as FailureAcc;
      const to = Math.floor(idx / factor);
      let m = merged.get(to);
      if (!m) merged.set(to, (m = this.aggregator.create()));
      this.aggregator.merge(m, b);
    }
    // the merged evidence is made now, so the old buckets are let go (256 buckets, never a tree of them)
    for (const m of merged.values()) {
      m.own = failureDetail(m, this.maxExemplars);
      m.parts = undefined;
    }
    this.buckets = merged;
    this.width *= factor;
    this.minIdx = Math.floor(this.minIdx / factor);
    this.maxIdx = Math.floor(this.maxIdx / factor);
  }
}
