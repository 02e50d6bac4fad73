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
import { RecencyMap } from '../../src/model/recency-map.js';
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
  /** by key, least recently active first (a RecencyMap because a Map evicted from its front slows down as it lives) */
  private readonly invocations = new RecencyMap<Invocation>();
  private readonly byTrace = new Map<string, string[]>();
  /**
   * invocations by the boundary they time out at: one entry per followed invocation, moved on
   * lazily when it is found later than the invocation's current time-out (entries of dropped
   * invocations are skipped, and the queue is rebuilt when they outnumber the live ones)
   */
  private idle = new FlatQueue<Invocation>();
  /** oldest started first; a RecencyMap because a Map evicted from its front slows down as it lives */
  private readonly runs = new RecencyMap<RunTotals>();
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
      this.invocations.set(key, inv);
      return inv;
    }
    if (this.invocations.size >= this.config.max_invocations) {
      const oldest = this.invocations.oldest() as Invocation;
      this.drop(oldest, 'cap');
      evicted(oldest);
    }
    inv = new Invocation(key, this.created++, span.traceId, span.runId, this.config);
    this.invocations.set(key, inv);
    const keys = this.byTrace.get(span.traceId);
    if (keys === undefined) this.byTrace.set(span.traceId, [key]);
    else keys.push(key);
    return inv;
  }

  /** After a call: its invocation times out `idle_timeout` after its latest call. */
  touched(inv: Invocation): void {
    if (inv.forgotten > 0) {
      this.hooks.onCallsForgotten?.(inv.forgotten);
      inv.forgotten = 0;
    }
    inv.idleAt = this.boundaryAfter(inv.lastEndMs + this.config.idle_timeout);
    if (inv.queued) return;
    inv.queued = true;
    this.idle.push(inv, inv.idleAt);
    if (this.idle.length > 2 * Math.max(1_024, this.invocations.size)) this.compactIdle();
  }

  private compactIdle(): void {
    const fresh = new FlatQueue<Invocation>();
    for (const inv of this.invocations.values()) if (inv.queued) fresh.push(inv, inv.idleAt);
    this.idle = fresh;
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
      if (this.invocations.get(inv.key) !== inv) continue;
      if (inv.idleAt > at) {
        // a later call moved its time-out on
        this.idle.push(inv, inv.idleAt);
        continue;
      }
      inv.queued = false;
      this.drop(inv, 'idle');
      out.push({ inv, at });
    }
    return out;
  }

  private drop(inv: Invocation, reason: DropReason): void {
    this.invocations.delete(inv.key);
    const keys = this.byTrace.get(inv.traceId);
    if (keys !== undefined) {
      const i = keys.indexOf(inv.key);
      if (i >= 0) keys.splice(i, 1);
      if (keys.length === 0) this.byTrace.delete(inv.traceId);
    }
    this.hooks.onDropped?.(reason);
  }

  /** Adds a call to its run's totals and returns them. */
  runOf(span: SpanRecord, spend: CallSpend | undefined): RunTotals {
    let run = this.runs.get(span.runId);
    if (run === undefined) {
      // runs end with their root span (dropped then); past the cap the oldest started goes
      if (this.runs.size >= this.config.max_runs) {
        this.runs.evictOldest();
        this.hooks.onRunForgotten?.();
      }
      run = { startMs: span.startMs, endMs: span.endMs, tokens: 0 };
      this.runs.set(span.runId, run);
    }
    if (span.startMs < run.startMs) run.startMs = span.startMs;
    if (span.endMs > run.endMs) run.endMs = span.endMs;
    if (spend !== undefined) run.tokens += spend.tokens;
    return run;
  }
}
