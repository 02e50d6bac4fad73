/**
 * The invocations agent_loop follows and the runs they belong to, bounded: at most
 * `max_invocations` invocations (the least recently active is forgotten past it), at most
 * `max_calls_per_invocation` distinct calls each, at most `max_runs` run totals; an invocation is
 * dropped when its parent span (the invocation itself) or its trace's root span arrives, or after
 * `idle_timeout` of event time without a call. Every drop is counted by reason.
 */
import FlatQueue from 'flatqueue';
import type { SpanRecord } from '../../src/model/span.js';
import type { CallSpend } from '../../src/model/cost.js';
import type { AgentLoopConfig } from './config.js';
import { Invocation } from './invocation.js';

export type DropReason = 'finished' | 'idle' | 'cap';

/** What a run has done so far: the share rule compares a loop with it. */
export interface RunTotals {
  startMs: number;
  endMs: number;
  tokens: number;
}

export interface TrackerHooks {
  onDropped?(reason: DropReason): void;
  onRunForgotten?(): void;
  onCallsForgotten?(n: number): void;
}

const invocationKey = (traceId: string, spanId: string): string => `${traceId}/${spanId}`;

export class InvocationTracker {
  /** by key, least recently active first (re-inserted on activity) */
  private readonly invocations = new Map<string, Invocation>();
  private readonly byTrace = new Map<string, Set<string>>();
  private readonly idle = new FlatQueue<Invocation>();
  /** the boundary each invocation times out at (entries in `idle` with another value are stale) */
  private readonly idleAt = new WeakMap<Invocation, number>();
  private readonly runs = new Map<string, RunTotals>();
  private created = 0;

  constructor(
    private readonly config: AgentLoopConfig,
    private readonly boundaryAfter: (t: number) => number,
    private readonly hooks: TrackerHooks = {},
  ) {}

  get size(): number {
    return this.invocations.size;
  }

  /** The invocation a call belongs to (its parent span), created when new; `evicted` gets one forgotten at the cap. */
  invocationOf(span: SpanRecord & { parentSpanId: string }, evicted: (inv: Invocation) => void): Invocation {
    const key = invocationKey(span.traceId, span.parentSpanId);
    let inv = this.invocations.get(key);
    if (inv !== undefined) {
      this.invocations.delete(key);
      this.invocations.set(key, inv);
      return inv;
    }
    if (this.invocations.size >= this.config.max_invocations) {
      const oldest = this.invocations.values().next().value as Invocation;
      this.drop(oldest, 'cap');
      evicted(oldest);
    }
    inv = new Invocation(key, this.created++, span.traceId, span.runId, this.config);
    this.invocations.set(key, inv);
    let keys = this.byTrace.get(span.traceId);
    if (keys === undefined) this.byTrace.set(span.traceId, (keys = new Set()));
    keys.add(key);
    return inv;
  }

  /** After a call: its invocation times out `idle_timeout` after its latest call. */
  touched(inv: Invocation): void {
    if (inv.forgotten > 0) {
      this.hooks.onCallsForgotten?.(inv.forgotten);
      inv.forgotten = 0;
    }
    const at = this.boundaryAfter(inv.lastEndMs + this.config.idle_timeout);
    if (this.idleAt.get(inv) === at) return;
    this.idleAt.set(inv, at);
    this.idle.push(inv, at);
  }

  /** The invocations a span ends: the one it is the parent span of, or every one of its trace when it is the root. */
  endedBy(span: SpanRecord): Invocation[] {
    const out: Invocation[] = [];
    if (span.parentSpanId === undefined) {
      // the run is over too: its totals are no longer needed
      this.runs.delete(span.runId);
      for (const key of [...(this.byTrace.get(span.traceId) ?? [])]) {
        const inv = this.invocations.get(key);
        if (inv !== undefined) out.push(inv);
      }
    } else {
      const inv = this.invocations.get(invocationKey(span.traceId, span.spanId));
      if (inv !== undefined) out.push(inv);
    }
    out.sort((a, b) => a.seq - b.seq);
    for (const inv of out) this.drop(inv, 'finished');
    return out;
  }

  /** Invocations idle at or before `boundary`, each with the boundary it timed out at, dropped. */
  idleUpTo(boundary: number): { inv: Invocation; at: number }[] {
    const out: { inv: Invocation; at: number }[] = [];
    while (this.idle.length > 0 && (this.idle.peekValue() as number) <= boundary) {
      const at = this.idle.peekValue() as number;
      const inv = this.idle.pop() as Invocation;
      if (this.idleAt.get(inv) !== at || this.invocations.get(inv.key) !== inv) continue;
      this.drop(inv, 'idle');
      out.push({ inv, at });
    }
    return out;
  }

  private drop(inv: Invocation, reason: DropReason): void {
    this.invocations.delete(inv.key);
    this.idleAt.delete(inv);
    const keys = this.byTrace.get(inv.traceId);
    keys?.delete(inv.key);
    if (keys?.size === 0) this.byTrace.delete(inv.traceId);
    this.hooks.onDropped?.(reason);
  }

  /** Adds a call to its run's totals and returns them. */
  runOf(span: SpanRecord, spend: CallSpend | undefined): RunTotals {
    let run = this.runs.get(span.runId);
    if (run === undefined) {
      if (this.runs.size >= this.config.max_runs) {
        this.runs.delete(this.runs.keys().next().value as string);
        this.hooks.onRunForgotten?.();
      }
      run = { startMs: span.startMs, endMs: span.endMs, tokens: 0 };
    } else this.runs.delete(span.runId);
    this.runs.set(span.runId, run);
    if (span.startMs < run.startMs) run.startMs = span.startMs;
    if (span.endMs > run.endMs) run.endMs = span.endMs;
    if (spend !== undefined) run.tokens += spend.tokens;
    return run;
  }
}
