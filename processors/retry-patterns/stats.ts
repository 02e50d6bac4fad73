/**
 * What retry_patterns keeps per pane: calls of every operation, and the retry chains of assembled
 * traces with their evidence (bounded tables, sketches of the retry gaps, exemplars); the counts
 * the rules pick and test windows by are summed from the panes without merging them.
 */
import type { SpanRecord } from '../../src/model/span.js';
import type { Trace, TraceNode } from '../../src/model/trace.js';
import { subjectKey } from '../../src/model/series.js';
import type { Subject } from '../../src/model/painpoint.js';
import type { PaneAggregator, SeriesWindows } from '../../src/windows/series-windows.js';
import { findRetryChains, gapCv, gapRatios, retriedInVain, retriesOf, type RetryChain } from '../../src/traces/retry-chains.js';
import { walkTrace } from '../../src/traces/trace-assembler.js';
import { QuantileSketch } from '../../src/stats/quantile-sketch.js';
import { countLabel, MAX_EXEMPLAR_TRACES, type Exemplar } from '../../src/model/evidence-format.js';
import type { RetryPatternsConfig } from './config.js';

/** Caps on the per-pane tables (bounded memory). */
const MAX_LABELS = 32;
const MAX_RUNS = 100;
/** attempts above this go into one histogram bucket */
const MAX_ATTEMPTS_BUCKET = 10;

/** Windowed retry statistics of one series (one pane, or a merged window). */
export interface RetryStats {
  calls: number;
  failures: number;
  chains: number;
  retries: number;
  exhausted: number;
  attemptsHist: Map<string, number>;
  maxAttempts: number;
  wastedMs: number;
  wastedTokens: number;
  /** USD of the failed attempts whose cost is known, and the chains it was known for */
  wastedCostUsd: number;
  pricedChains: number;
  exhaustedWastedMs: number;
  /** attempts (spans) of the chains that ended in failure */
  exhaustedAttempts: number;
  errorClasses: Map<string, number>;
  nonRetryableRetries: number;
  nonRetryableByClass: Map<string, number>;
  nonRetryableWastedMs: number;
  timedChains: number;
  /** retry gaps (ms), gap coefficients of variation and successive gap ratios of timed chains */
  gaps: QuantileSketch;
  cvs: QuantileSketch;
  ratios: QuantileSketch;
  amplifiedChains: number;
  maxAmplification: number;
  nestedOperations: Map<string, number>;
  traces: number;
  runs: Set<string>;
  exemplars: { any: Exemplar[]; exhausted: Exemplar[]; nonRetryable: Exemplar[]; noBackoff: Exemplar[]; amplified: Exemplar[] };
}

/**
 * The counts the retry rules pick their windows by, and test before anything else: summed from
 * the panes without merging them (SeriesView.summary), so only a window a rule actually judges
 * is merged.
 */
export interface RetryCounts {
  calls: number;
  chains: number;
  retries: number;
  exhausted: number;
  /** attempts of the exhausted chains (retry_exhaustion's impact) */
  exhaustedAttempts: number;
  nonRetryableRetries: number;
  timedChains: number;
  amplifiedChains: number;
}

export type RetryInput =
  | { readonly kind: 'call'; readonly span: SpanRecord }
  | { readonly kind: 'chain'; readonly chain: RetryChain; readonly firstInTrace: boolean; readonly config: RetryPatternsConfig; readonly wastedCostUsd?: number | undefined };

function newStats(): RetryStats {
  return {
    calls: 0,
    failures: 0,
    chains: 0,
    retries: 0,
    exhausted: 0,
    attemptsHist: new Map(),
    maxAttempts: 0,
    wastedMs: 0,
    wastedTokens: 0,
    wastedCostUsd: 0,
    pricedChains: 0,
    exhaustedWastedMs: 0,
    exhaustedAttempts: 0,
    errorClasses: new Map(),
    nonRetryableRetries: 0,
    nonRetryableByClass: new Map(),
    nonRetryableWastedMs: 0,
    timedChains: 0,
    gaps: new QuantileSketch(),
    cvs: new QuantileSketch(),
    ratios: new QuantileSketch(),
    amplifiedChains: 0,
    maxAmplification: 0,
    nestedOperations: new Map(),
    traces: 0,
    runs: new Set(),
    exemplars: { any: [], exhausted: [], nonRetryable: [], noBackoff: [], amplified: [] },
  };
}

/** Adds to a label table; past MAX_LABELS labels, new ones count under OVERFLOW_LABEL. */
function count(table: Map<string, number>, label: string, n = 1): void {
  countLabel(table, label, n, MAX_LABELS);
}

function pushExemplar(list: Exemplar[], e: Exemplar): void {
  if (list.length < MAX_EXEMPLAR_TRACES && !list.some((x) => x.traceId === e.traceId)) list.push(e);
}

function addRun(runs: Set<string>, runId: string): void {
  if (runs.size < MAX_RUNS) runs.add(runId);
}

function addChain(s: RetryStats, chain: RetryChain, firstInTrace: boolean, config: RetryPatternsConfig, wastedCostUsd: number | undefined): void {
  const exemplar = { traceId: chain.traceId, spanId: chain.spans[0]?.span.spanId ?? '' };
  if (firstInTrace) s.traces++;
  addRun(s.runs, chain.runId);
  s.chains++;
  s.retries += retriesOf(chain);
  const bucket = chain.attempts > MAX_ATTEMPTS_BUCKET ? `${MAX_ATTEMPTS_BUCKET}+` : String(chain.attempts);
  s.attemptsHist.set(bucket, (s.attemptsHist.get(bucket) ?? 0) + 1);
  s.maxAttempts = Math.max(s.maxAttempts, chain.attempts);
  s.wastedMs += chain.wastedMs;
  s.wastedTokens += chain.wastedTokens;
  if (wastedCostUsd !== undefined) {
    s.wastedCostUsd += wastedCostUsd;
    s.pricedChains++;
  }
  pushExemplar(s.exemplars.any, exemplar);
  for (const a of chain.spans) if (a.failed) count(s.errorClasses, a.errorClass ?? 'unknown');
  if (chain.outcome === 'exhausted') {
    s.exhausted++;
    s.exhaustedWastedMs += chain.spans.reduce((sum, a) => sum + a.span.durationMs, 0);
    s.exhaustedAttempts += chain.spans.length;
    pushExemplar(s.exemplars.exhausted, exemplar);
  }
  if (chain.nonRetryableRetries > 0) {
    s.nonRetryableRetries += chain.nonRetryableRetries;
    for (let i = 0; i + 1 < chain.spans.length; i++) {
      const a = chain.spans[i];
      const next = chain.spans[i + 1];
      if (a === undefined || next === undefined || !retriedInVain(a, next)) continue;
      count(s.nonRetryableByClass, a.errorClass ?? (a.httpStatus !== undefined ? `http_${a.httpStatus}` : 'unknown'));
      s.nonRetryableWastedMs += next.span.durationMs;
    }
    pushExemplar(s.exemplars.nonRetryable, exemplar);
  }
  if (chain.timed && chain.gapsMs.length >= 2) {
    s.timedChains++;
    for (const g of chain.gapsMs) s.gaps.add(g);
    s.cvs.add(gapCv(chain.gapsMs) as number);
    for (const r of gapRatios(chain.gapsMs)) s.ratios.add(r);
    pushExemplar(s.exemplars.noBackoff, exemplar);
  }
  if (chain.outer === undefined && chain.nested.length > 0 && chain.amplification >= config.amplification_min) {
    s.amplifiedChains++;
    s.maxAmplification = Math.max(s.maxAmplification, chain.amplification);
    for (const n of innermost(chain)) count(s.nestedOperations, n.operationKey);
    pushExemplar(s.exemplars.amplified, exemplar);
  }
}

/** The innermost chains below a chain (those with no nested chain of their own). */
function innermost(chain: RetryChain): RetryChain[] {
  const out: RetryChain[] = [];
  const stack = [...chain.nested];
  while (stack.length > 0) {
    const c = stack.pop() as RetryChain;
    if (c.nested.length === 0) {
      if (!out.some((o) => o.operationKey === c.operationKey)) out.push(c);
    } else stack.push(...c.nested);
  }
  return out;
}

const EXEMPLAR_LISTS = ['any', 'exhausted', 'nonRetryable', 'noBackoff', 'amplified'] as const;

function mergeMap(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, n] of from) count(into, k, n);
}

export const retryStatsAggregator: PaneAggregator<RetryStats, RetryInput, RetryCounts> = {
  create: newStats,
  // samples are calls and chains: a window with n calls, or n amplified chains, holds ≥ n of them
  weight: () => 1,
  summary: {
    create: () => ({ calls: 0, chains: 0, retries: 0, exhausted: 0, exhaustedAttempts: 0, nonRetryableRetries: 0, timedChains: 0, amplifiedChains: 0 }),
    add(into, s) {
      into.calls += s.calls;
      into.chains += s.chains;
      into.retries += s.retries;
      into.exhausted += s.exhausted;
      into.exhaustedAttempts += s.exhaustedAttempts;
      into.nonRetryableRetries += s.nonRetryableRetries;
      into.timedChains += s.timedChains;
      into.amplifiedChains += s.amplifiedChains;
    },
    additive: {
      width: 8,
      counts(s, out, at) {
        out[at] = s.calls;
        out[at + 1] = s.chains;
        out[at + 2] = s.retries;
        out[at + 3] = s.exhausted;
        out[at + 4] = s.nonRetryableRetries;
        out[at + 5] = s.timedChains;
        out[at + 6] = s.amplifiedChains;
        out[at + 7] = s.exhaustedAttempts;
      },
      fromCounts: (c) => ({
        calls: c[0] as number,
        chains: c[1] as number,
        retries: c[2] as number,
        exhausted: c[3] as number,
        nonRetryableRetries: c[4] as number,
        timedChains: c[5] as number,
        amplifiedChains: c[6] as number,
        exhaustedAttempts: c[7] as number,
      }),
    },
  },
  add(s, input) {
    if (input.kind === 'call') {
      s.calls++;
      if (input.span.failed) s.failures++;
      return;
    }
    addChain(s, input.chain, input.firstInTrace, input.config, input.wastedCostUsd);
  },
  merge(into, from) {
    into.calls += from.calls;
    into.failures += from.failures;
    // Most panes hold calls and no chain, and every figure below comes with a chain (addChain):
    // profiling the kc history showed this merge as the top self time, 3 in 4 calls on such panes.
    if (from.chains === 0) return;
    into.chains += from.chains;
    into.retries += from.retries;
    into.exhausted += from.exhausted;
    for (const [k, n] of from.attemptsHist) into.attemptsHist.set(k, (into.attemptsHist.get(k) ?? 0) + n);
    into.maxAttempts = Math.max(into.maxAttempts, from.maxAttempts);
    into.wastedMs += from.wastedMs;
    into.wastedTokens += from.wastedTokens;
    into.wastedCostUsd += from.wastedCostUsd;
    into.pricedChains += from.pricedChains;
    into.exhaustedWastedMs += from.exhaustedWastedMs;
    into.exhaustedAttempts += from.exhaustedAttempts;
    mergeMap(into.errorClasses, from.errorClasses);
    into.nonRetryableRetries += from.nonRetryableRetries;
    mergeMap(into.nonRetryableByClass, from.nonRetryableByClass);
    into.nonRetryableWastedMs += from.nonRetryableWastedMs;
    into.timedChains += from.timedChains;
    into.gaps.merge(from.gaps);
    into.cvs.merge(from.cvs);
    into.ratios.merge(from.ratios);
    into.amplifiedChains += from.amplifiedChains;
    into.maxAmplification = Math.max(into.maxAmplification, from.maxAmplification);
    mergeMap(into.nestedOperations, from.nestedOperations);
    into.traces += from.traces;
    if (into.runs.size < MAX_RUNS) for (const r of from.runs) addRun(into.runs, r);
    for (const key of EXEMPLAR_LISTS) {
      const list = into.exemplars[key];
      if (list.length < MAX_EXEMPLAR_TRACES) for (const e of from.exemplars[key]) pushExemplar(list, e);
    }
  },
};

/** Adds one trace's calls and chains to the series windows; `subjectsOf` gives a span's series subjects (seriesSubjects). */
export function addTrace(
  windows: SeriesWindows<RetryStats, RetryInput, RetryCounts>,
  trace: Trace,
  subjectsOf: (span: SpanRecord) => readonly Subject[],
  config: RetryPatternsConfig,
  costOf?: (span: SpanRecord) => number | undefined,
): void {
  // every node, depth first, parents before children (walkTrace's order, without its records)
  const stack: TraceNode[] = [trace.root];
  while (stack.length > 0) {
    const node = stack.pop() as TraceNode;
    windows.add(subjectsOf(node.span), node.span.endMs, { kind: 'call', span: node.span });
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i] as TraceNode);
  }
  const chains = findRetryChains(trace);
  if (chains.length === 0) return;
  let nodes: Map<string, TraceNode> | undefined;
  const seen = new Set<string>();
  for (const chain of chains) {
    const first = chain.spans[0]?.span;
    if (first === undefined) continue;
    let wastedCostUsd: number | undefined;
    if (costOf !== undefined) wastedCostUsd = failedAttemptsCost(chain, (nodes ??= nodesById(trace)), costOf);
    for (const subject of subjectsOf(first)) {
      const key = subjectKey(subject);
      const firstInTrace = !seen.has(key);
      seen.add(key);
      windows.add([subject], chain.endMs, { kind: 'chain', chain, firstInTrace, config, wastedCostUsd });
    }
  }
}

/** A trace's nodes by span id. */
function nodesById(trace: Trace): Map<string, TraceNode> {
  const nodes = new Map<string, TraceNode>();
  for (const { node } of walkTrace(trace)) nodes.set(node.span.spanId, node);
  return nodes;
}

/** USD of the model calls in a chain's failed attempts (each attempt's subtree), undefined when none had a known cost. */
function failedAttemptsCost(chain: RetryChain, nodes: ReadonlyMap<string, TraceNode>, costOf: (span: SpanRecord) => number | undefined): number | undefined {
  let usd: number | undefined;
  for (const a of chain.spans) {
    if (!a.failed) continue;
    const stack = [nodes.get(a.span.spanId)];
    while (stack.length > 0) {
      const n = stack.pop();
      if (n === undefined) continue;
      const c = costOf(n.span);
      if (c !== undefined) usd = (usd ?? 0) + c;
      stack.push(...n.children);
    }
  }
  return usd;
}
