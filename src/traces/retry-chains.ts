/**
 * Retry chains of a trace (docs/input.md; docs/painpoints.md): pure functions over an assembled Trace.
 *
 * Siblings under one parent with the same operation key (and the same task id, when they carry
 * one) form a chain when, in start order:
 * - explicit: the next one carries a higher attempt number (`kc.task.attempt`, `retry.attempt`,
 *   `http.request.resend_count` + 1) than the previous, or the previous had none, failed, and the
 *   next says it is attempt ≥ 2 (instrumentations often mark only the retries);
 * - structural: neither carries an attempt number, the previous failed, and the next starts after
 *   it ended. Only the **next** same-key sibling can continue a chain: a successful sibling ends
 *   it, and an overlapping one (a parallel call) is not a retry. Nor is a call after a model call of
 *   another operation that ran between the two (a fallback answered the turn, or the model saw the
 *   failure and decided again): the agent moved on, and the next call is a new turn.
 * A span with kc's retry count (`kc.task.retry_count` / `retryCount`) > 0 and no attempt children
 * is a chain of its own with retry count + 1 attempts ("counted": no per-attempt detail).
 * Chains nest (a retried task whose tool calls are retried); amplification multiplies attempts
 * along the nesting.
 */
import { isSynthetic, type SpanRecord } from '../model/span.js';
import type { Subject } from '../model/painpoint.js';
import type { Trace, TraceNode } from '../model/trace.js';
import { attrAsInteger } from '../model/derive.js';
import { isNonRetryable } from '../model/error-class.js';
import { nameKey } from '../model/names.js';
import { operationSubject } from '../model/series.js';
import { isModelCall } from '../model/cost.js';

/** kc's retry count on a task span (docs/input.md kc mapping); `retryCount` as kc names it in its events. */
export const RETRY_COUNT_KEYS = ['kc.task.retry_count', 'retryCount'] as const;
/** The span event recording a switch of provider (kc mapping: attributes from / to / reason). */
export const FALLBACK_EVENT = 'provider_fallback';

export interface RetryAttempt {
  readonly span: SpanRecord;
  /** 1-based attempt number: the explicit one when present, else the position in the chain */
  readonly attempt: number;
  readonly failed: boolean;
  readonly errorClass?: string;
  readonly httpStatus?: number;
  readonly provider?: string;
  /** failed with an error a retry cannot fix (4xx other than 408/429, validation, auth, not found) */
  readonly nonRetryable: boolean;
  /** input + output tokens of the attempt and everything under it */
  readonly tokens: number;
}

export interface ProviderChange {
  readonly from: string;
  readonly to: string;
  /** error class of the attempt that was abandoned */
  readonly reason?: string;
}

export interface RetryChain {
  readonly traceId: string;
  readonly runId: string;
  /** the span the attempts hang under (for a counted chain: the span that carries the retry count) */
  readonly parentSpanId: string | undefined;
  readonly operationKey: string;
  /** the operation series of the first attempt */
  readonly subject: Subject;
  readonly source: 'explicit' | 'structural' | 'counted';
  /** attempts made: observed spans, or more when the attempt numbers or retry count say so */
  attempts: number;
  /** the attempt spans observed, in start order */
  readonly spans: readonly RetryAttempt[];
  readonly outcome: 'succeeded' | 'exhausted';
  /** next start − previous end, ms, per consecutive observed pair (empty when times are synthetic) */
  readonly gapsMs: readonly number[];
  /** false when attempt times are apportioned (kc synthetic attempts) or unknown (counted) */
  readonly timed: boolean;
  /** time spent in failed attempts, ms */
  readonly wastedMs: number;
  /** tokens spent in failed attempts */
  readonly wastedTokens: number;
  /** retries that followed a non-retryable failure */
  readonly nonRetryableRetries: number;
  readonly providerChanges: readonly ProviderChange[];
  readonly startMs: number;
  readonly endMs: number;
  /** chains inside this chain's attempts, one nesting level down */
  readonly nested: RetryChain[];
  /** the chain whose attempt this chain runs inside, if any */
  outer?: RetryChain;
  /** product of attempts along the deepest nesting path from this chain (itself included) */
  amplification: number;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function retryCountOf(span: SpanRecord): number | undefined {
  for (const key of RETRY_COUNT_KEYS) {
    const n = attrAsInteger(span.attributes[key]);
    if (n !== undefined) return n;
  }
  return undefined;
}

function subtreeTokens(node: TraceNode): number {
  let total = 0;
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop() as TraceNode;
    total += (n.span.inputTokens ?? 0) + (n.span.outputTokens ?? 0);
    for (const c of n.children) stack.push(c);
  }
  return total;
}

/** Whether `next` continues the chain whose last attempt is `prev` (see the file comment). */
function continues(prev: SpanRecord, next: SpanRecord): boolean {
  if (next.attempt !== undefined && prev.attempt !== undefined) return next.attempt > prev.attempt;
  if (next.attempt !== undefined) return prev.failed && next.attempt >= 2 && next.startMs >= prev.startMs;
  if (prev.attempt !== undefined) return false; // an explicit chain is not continued by an unnumbered call
  return prev.failed && next.startMs >= prev.endMs;
}

/**
 * Whether a model call of another operation ran between an unnumbered failed call and the next
 * same-key sibling (started after the one ended, ended before the other started): the turn went
 * on without it, so the next call is no retry (see the file comment).
 */
type Timed = Pick<SpanRecord, 'attempt' | 'operationKey' | 'startMs' | 'endMs'>;
export function movedOn(turns: readonly Timed[], prev: Timed, next: Timed): boolean {
  if (prev.attempt !== undefined || next.attempt !== undefined) return false;
  return turns.some((m) => m.operationKey !== prev.operationKey && m.startMs >= prev.endMs && m.endMs <= next.startMs);
}

function makeChain(trace: Trace, parent: TraceNode, nodes: readonly TraceNode[], source: RetryChain['source'], countedAttempts?: number): RetryChain {
  const first = (nodes[0] as TraceNode).span;
  const last = (nodes[nodes.length - 1] as TraceNode).span;
  const spans: RetryAttempt[] = nodes.map((n, i) => ({
    span: n.span,
    attempt: n.span.attempt ?? i + 1,
    failed: n.span.failed,
    errorClass: n.span.errorClass,
    httpStatus: n.span.httpStatus,
    provider: n.span.provider,
    nonRetryable: n.span.failed && isNonRetryable(n.span.errorClass, n.span.httpStatus),
    tokens: subtreeTokens(n),
  }));
  const timed = source !== 'counted' && !nodes.some((n) => isSynthetic(n.span));
  const gapsMs: number[] = [];
  const providerChanges: ProviderChange[] = [];
  let wastedMs = 0;
  let wastedTokens = 0;
  let nonRetryableRetries = 0;
  for (let i = 0; i < spans.length; i++) {
    const a = spans[i] as RetryAttempt;
    if (a.failed) {
      wastedMs += a.span.durationMs;
      wastedTokens += a.tokens;
    }
    const b = spans[i + 1];
    if (b === undefined) continue;
    if (timed) gapsMs.push(Math.max(0, b.span.startMs - a.span.endMs));
    if (retriedInVain(a, b)) nonRetryableRetries++;
    if (a.provider !== undefined && b.provider !== undefined && a.provider !== b.provider)
      providerChanges.push({ from: a.provider, to: b.provider, ...(a.errorClass !== undefined ? { reason: a.errorClass } : {}) });
  }
  const maxExplicit = Math.max(0, ...spans.map((s) => (s.span.attempt ?? 0)));
  const attempts = Math.max(spans.length, maxExplicit, countedAttempts ?? 0);
  return {
    traceId: trace.traceId,
    runId: first.runId,
    parentSpanId: parent.span.spanId,
    operationKey: first.operationKey,
    subject: operationSubject(first),
    source,
    attempts,
    spans,
    outcome: last.failed ? 'exhausted' : 'succeeded',
    gapsMs,
    timed,
    wastedMs,
    wastedTokens,
    nonRetryableRetries,
    providerChanges,
    startMs: first.startMs,
    endMs: Math.max(...nodes.map((n) => n.span.endMs)),
    nested: [],
    amplification: attempts,
  };
}

/** The children of one parent that may form one chain: same operation key, task id and real parent. */
interface Group {
  readonly taskId: string | undefined;
  /** the real parent's id when re-parented (absent parent: '' when it names none), else '' */
  readonly realParent: string;
  readonly nodes: TraceNode[];
}

const NO_CHAINS: readonly RetryChain[] = Object.freeze([]);

/**
 * The chains among one parent's children (children are in start order). Re-parented children
 * (their real parent is absent) form chains only with siblings of the same real parent, and only
 * in a whole trace (rooted at a parentless span): a fragment emitted at decision_wait before its
 * root arrived may hold some attempts of a chain and not the rest, and a part of a chain would
 * read as a false outcome (two failed attempts of a chain that later succeeded look exhausted).
 * Unordered: the caller sorts them. Groups are found by operation key, then task id and real
 * parent, without building a key per child (profiling the dense live load showed this function,
 * called for every node of every trace, as the trace path's top self time).
 */
function chainsUnder(trace: Trace, parent: TraceNode, whole: boolean): readonly RetryChain[] {
  const children = parent.children;
  // a chain needs two attempts, or one that says it is a retry
  if (children.length === 0 || (children.length === 1 && ((children[0] as TraceNode).span.attempt ?? 1) < 2)) return NO_CHAINS;
  const parentId = parent.span.spanId;
  const byOperation = new Map<string, Group[]>();
  for (const c of children) {
    const ownParent = c.span.parentSpanId === parentId;
    if (!ownParent && !whole) continue;
    const realParent = ownParent ? '' : (c.span.parentSpanId ?? '');
    let groups = byOperation.get(c.span.operationKey);
    if (groups === undefined) byOperation.set(c.span.operationKey, (groups = []));
    let group: Group | undefined;
    for (const g of groups) {
      if ((g.taskId ?? '') === (c.span.taskId ?? '') && g.realParent === realParent) {
        group = g;
        break;
      }
    }
    if (group === undefined) groups.push((group = { taskId: c.span.taskId, realParent, nodes: [] }));
    group.nodes.push(c);
  }
  let out: RetryChain[] | undefined;
  /** the model calls among the children, found when a structural chain first needs them */
  let turns: SpanRecord[] | undefined;
  for (const groups of byOperation.values()) {
    for (const { nodes } of groups) {
      let from = 0;
      for (let i = 1; i <= nodes.length; i++) {
        if (i < nodes.length) {
          const prev = (nodes[i - 1] as TraceNode).span;
          const next = (nodes[i] as TraceNode).span;
          if (continues(prev, next)) {
            if (prev.attempt !== undefined || next.attempt !== undefined) continue;
            turns ??= children.filter((c) => isModelCall(c.span)).map((c) => c.span);
            if (!movedOn(turns, prev, next)) continue;
          }
        }
        // the run [from, i) ends here: a chain when it has two attempts, or one that says it is a retry
        const first = (nodes[from] as TraceNode).span;
        if (i - from >= 2 || (first.attempt ?? 1) >= 2) {
          const run = nodes.slice(from, i);
          const explicit = run.some((n) => n.span.attempt !== undefined);
          (out ??= []).push(makeChain(trace, parent, run, explicit ? 'explicit' : 'structural'));
        }
        from = i;
      }
    }
  }
  return out ?? NO_CHAINS;
}

function compareChains(a: RetryChain, b: RetryChain): number {
  return a.startMs - b.startMs || compareText(a.spans[0]?.span.spanId ?? '', b.spans[0]?.span.spanId ?? '');
}

/** The trace findRetryChains last answered, and its chains (retry_patterns and provider_fallback each ask, one after the other). */
let lastTrace: Trace | undefined;
let lastChains: RetryChain[] = [];

/**
 * Every retry chain of a trace, nested chains linked (`outer`, `nested`, `amplification`), in a
 * deterministic order: depth-first over the tree, chains under one parent by first attempt start.
 * The result is shared with the next caller asking for the same trace: never modify it.
 */
export function findRetryChains(trace: Trace): RetryChain[] {
  if (trace === lastTrace) return lastChains;
  const chains: RetryChain[] = [];
  const rootParent = trace.root.span.parentSpanId;
  const whole = rootParent === undefined || rootParent === '' || /^0+$/.test(rootParent);
  /** attempt span id → its chain, to link nesting */
  const chainOfAttempt = new Map<string, RetryChain>();
  // Depth first, carrying the innermost chain whose attempt encloses the node.
  const nodes: TraceNode[] = [trace.root];
  const enclosings: (RetryChain | undefined)[] = [undefined];
  while (nodes.length > 0) {
    const node = nodes.pop() as TraceNode;
    const enclosing = enclosings.pop();
    const under = chainsUnder(trace, node, whole);
    const retryCount = retryCountOf(node.span);
    let counted: RetryChain | undefined;
    if (under.length > 0 || (retryCount !== undefined && retryCount > 0)) {
      const here = under.length > 1 ? [...under].sort(compareChains) : [...under];
      if (retryCount !== undefined && retryCount > 0) {
        const attemptChain = here.find((c) => c.spans.some((a) => a.span.attempt !== undefined));
        if (attemptChain !== undefined) {
          // kc: the task's retry count and its attempt children describe the same attempts.
          attemptChain.attempts = Math.max(attemptChain.attempts, retryCount + 1);
        } else {
          counted = countedChain(trace, node, retryCount);
          here.push(counted);
        }
      }
      for (const c of here) {
        if (enclosing !== undefined) {
          c.outer = enclosing;
          enclosing.nested.push(c);
        }
        chains.push(c);
        if (c !== counted) for (const a of c.spans) chainOfAttempt.set(a.span.spanId, c);
      }
    }
    // Under a counted chain's span, everything ran inside its (unseen) attempts.
    const below = counted ?? enclosing;
    for (let i = node.children.length - 1; i >= 0; i--) {
      const child = node.children[i] as TraceNode;
      nodes.push(child);
      enclosings.push(chainOfAttempt.size > 0 ? (chainOfAttempt.get(child.span.spanId) ?? below) : below);
    }
  }
  // Amplification bottom-up: inner chains were found after their outer chain.
  for (let i = chains.length - 1; i >= 0; i--) {
    const c = chains[i] as RetryChain;
    let inner = 1;
    for (const n of c.nested) if (n.amplification > inner) inner = n.amplification;
    c.amplification = c.attempts * inner;
  }
  lastTrace = trace;
  lastChains = chains;
  return chains;
}

/** A span that says it was retried (kc retry count) but whose attempts are not spans of the trace. */
function countedChain(trace: Trace, node: TraceNode, retryCount: number): RetryChain {
  const chain = makeChain(trace, node, [node], 'counted', retryCount + 1);
  const span = node.span;
  // Only the final attempt's outcome is known; the earlier ones failed (that is why it was retried).
  const changes: ProviderChange[] = [];
  for (const e of span.events) {
    if (e.name !== FALLBACK_EVENT) continue;
    const from = e.attributes['from'];
    const to = e.attributes['to'];
    if (typeof from === 'string' && typeof to === 'string') changes.push({ from, to });
  }
  return {
    ...chain,
    parentSpanId: span.spanId,
    wastedMs: 0,
    wastedTokens: 0,
    nonRetryableRetries: 0,
    providerChanges: changes,
    nested: [],
  };
}

/**
 * Whether `next` retried `prev` in vain: `prev` failed with an error a retry cannot fix and `next` asked
 * the same provider and model again. An attempt on another provider or model is a fallback, which is
 * what such an error calls for (a revoked key, a model that refuses the request), not a retry of it.
 * A side whose provider or model is unknown is taken as the same.
 */
export function retriedInVain(prev: RetryAttempt, next: RetryAttempt): boolean {
  return prev.nonRetryable && sameName(prev.provider, next.provider) && sameName(prev.span.model, next.span.model);
}

function sameName(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || nameKey(a) === nameKey(b);
}

/** Retries in a chain: attempts after the first. */
export function retriesOf(chain: RetryChain): number {
  return chain.attempts - 1;
}

/** Coefficient of variation (population σ / mean) of a chain's gaps; undefined with < 2 gaps. */
export function gapCv(gaps: readonly number[]): number | undefined {
  if (gaps.length < 2) return undefined;
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  if (mean === 0) return 0;
  const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length;
  return Math.sqrt(variance) / mean;
}

/** Successive gap ratios gap[i+1] / gap[i]; gaps under 1 ms count as 1 ms so zero gaps give ratio 1. */
export function gapRatios(gaps: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < gaps.length; i++) out.push(Math.max(1, gaps[i] as number) / Math.max(1, gaps[i - 1] as number));
  return out;
}
