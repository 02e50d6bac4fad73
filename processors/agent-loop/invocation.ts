/**
 * One agent invocation as agent_loop follows it (docs/painpoints.md, agent_loop): the calls under
 * one parent span, as they arrive. Two rules, each a loop that opens, grows and closes:
 *
 * - calls: a tool call is identified by its tool and the hash of its arguments. A call never made
 *   before in the invocation is progress: it starts a new stretch. A loop is a call made `repeats`
 *   times within one stretch, i.e. with nothing new between (`ping_pong_cycles` when the stretch
 *   holds exactly two distinct calls, A→B→A→B). So reading a file again after an edit is no loop:
 *   the edit, with new arguments, was new. A tool call without recorded arguments cannot be
 *   compared and counts as new. The loop closes when a new call comes (the agent moved on).
 * - turns: more than `max_turns` model turns.
 *
 * Retries are not repeats: a call right after a failed identical call (failed span, or a result
 * that says it failed), one carrying an attempt number ≥ 2, or one with the tool-call id of a call
 * already seen continues the same attempt, and a model call right after a failed model call is the
 * same turn. A span delivered twice (an exporter's retry) is counted once.
 */
import type { SpanRecord } from '../../src/model/span.js';
import type { CallSpend } from '../../src/model/cost.js';
import type { AgentLoopConfig } from './config.js';

export type LoopRule = 'calls' | 'turns';
export type LoopPattern = 'repeat' | 'ping_pong' | 'cycle' | 'max_turns';

/** Time, tokens and cost of a stretch of calls. */
export class Stretch {
  calls = 0;
  tokens = 0;
  usd = 0;
  /** model calls whose cost is known */
  priced = 0;
  endMs = Number.NEGATIVE_INFINITY;

  constructor(readonly startMs: number) {}

  add(span: SpanRecord, spend: CallSpend | undefined): void {
    this.calls++;
    if (span.endMs > this.endMs) this.endMs = span.endMs;
    if (spend === undefined) return;
    this.tokens += spend.tokens;
    if (spend.usd !== undefined) {
      this.usd += spend.usd;
      this.priced++;
    }
  }

  get durationMs(): number {
    return Math.max(0, this.endMs - this.startMs);
  }
}

/** A loop as it stands after the call that changed it. */
export interface LoopState {
  readonly rule: LoopRule;
  readonly pattern: LoopPattern;
  /** the call that completed the pattern: the loop's subject and first exemplar */
  readonly opener: SpanRecord;
  /** the latest call of the loop */
  readonly latest: SpanRecord;
  /** the most repeated call (calls rule): tool and arguments hash */
  readonly tool: string | undefined;
  readonly argsHash: string | undefined;
  /** distinct tools in the loop, sorted */
  readonly tools: readonly string[];
  /** times the most repeated call was made in the stretch (calls rule); model turns so far (turns rule) */
  readonly repeats: number;
  /** the count the rule fires at */
  readonly threshold: number;
  /** distinct calls in the stretch (calls rule) */
  readonly distinct: number;
  /** the loop's calls: the stretch without progress (calls rule), the turns past max_turns with what they did (turns rule) */
  readonly stretch: Stretch;
  /** it grew after it opened */
  readonly growing: boolean;
}

export type LoopChange = { readonly type: 'open' | 'grow'; readonly loop: LoopState } | { readonly type: 'close'; readonly loop: LoopState };

export interface CallChanges {
  calls?: LoopChange;
  turns?: LoopChange;
}

/** Distinct calls remembered, oldest first; returns how many were forgotten. */
function remember(seen: Set<string>, sig: string, cap: number): number {
  seen.add(sig);
  let forgotten = 0;
  while (seen.size > cap) {
    const oldest = seen.values().next().value as string;
    seen.delete(oldest);
    forgotten++;
  }
  return forgotten;
}

const toolOf = (sig: string): string => sig.slice(0, sig.lastIndexOf('\u0000'));

/** Span ids and tool-call ids remembered per invocation, to recognize a span delivered twice and a call retried under its id. */
const RECENT_IDS = 32;

/** Adds `id` to a small recency set; returns whether it was already there. */
function seenBefore(recent: Set<string>, id: string): boolean {
  if (recent.has(id)) return true;
  recent.add(id);
  if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value as string);
  return false;
}

export class Invocation {
  /** calls made in the invocation (tool + arguments hash), oldest first, capped; made on the first such call */
  private seen: Set<string> | undefined;
  /** calls of the current stretch and how often each was made in it */
  private counts: Map<string, number> | undefined;
  private stretch: Stretch | undefined;
  private lastTool: { sig: string | undefined; failed: boolean } | undefined;
  private lastCallFailedModel = false;
  /** span ids and tool-call ids of the latest calls: duplicates and retries under one call id */
  private readonly recentSpans = new Set<string>();
  private recentCallIds: Set<string> | undefined;
  private turns = 0;
  private turnStretch: Stretch | undefined;
  callsLoop: LoopState | undefined;
  turnsLoop: LoopState | undefined;
  lastEndMs = Number.NEGATIVE_INFINITY;
  /** calls forgotten at the per-invocation cap */
  forgotten = 0;
  /** the boundary it times out at without another call, and whether the tracker's queue holds it */
  idleAt = Number.NEGATIVE_INFINITY;
  queued = false;

  constructor(
    readonly key: string,
    /** creation number: the order loops are reported in at one boundary */
    readonly seq: number,
    readonly traceId: string,
    readonly runId: string,
    private readonly config: AgentLoopConfig,
  ) {}

  /** Whether the span was seen already (delivered twice): the caller ignores it. */
  duplicate(span: SpanRecord): boolean {
    return seenBefore(this.recentSpans, span.spanId);
  }

  /** A tool call of this invocation. */
  onToolCall(span: SpanRecord): CallChanges {
    this.touch(span);
    const sig = span.tool !== undefined && span.toolArgsHash !== undefined ? `${span.tool}\u0000${span.toolArgsHash}` : undefined;
    const sameCallId = span.toolCallId !== undefined && seenBefore((this.recentCallIds ??= new Set()), span.toolCallId);
    const retry = sameCallId || (span.attempt !== undefined && span.attempt >= 2) || (sig !== undefined && this.lastTool?.sig === sig && this.lastTool.failed);
    // a result that says the call failed is a failure the agent may retry, whatever the span status
    this.lastTool = { sig, failed: span.failed || span.toolResultError === true };
    this.lastCallFailedModel = false;
    if (retry) {
      this.stretch?.add(span, undefined);
      return {};
    }
    const changes: CallChanges = {};
    const seen = this.seen;
    const counts = this.counts;
    if (sig === undefined || seen === undefined || counts === undefined || !seen.has(sig)) {
      // progress: a stretch starts here, and a loop in the previous one is over
      if (this.callsLoop !== undefined) changes.calls = { type: 'close', loop: this.callsLoop };
      this.callsLoop = undefined;
      counts?.clear();
      this.stretch = new Stretch(span.startMs);
      this.stretch.add(span, undefined);
      if (sig !== undefined) {
        this.forgotten += remember((this.seen ??= new Set()), sig, this.config.max_calls_per_invocation);
        (this.counts ??= new Map()).set(sig, 1);
      }
      return changes;
    }
    const stretch = (this.stretch ??= new Stretch(span.startMs));
    stretch.add(span, undefined);
    counts.set(sig, (counts.get(sig) ?? 0) + 1);
    // refreshed as most recent, so a call the agent keeps making is never the one forgotten
    seen.delete(sig);
    seen.add(sig);
    let top = sig;
    let topCount = 0;
    for (const [s, n] of counts) if (n > topCount || (n === topCount && s === sig)) [top, topCount] = [s, n];
    const distinct = counts.size;
    const threshold = distinct === 2 ? this.config.ping_pong_cycles : this.config.repeats;
    if (topCount < threshold) return changes;
    const previous = this.callsLoop;
    const loop: LoopState = {
      rule: 'calls',
      pattern: distinct === 1 ? 'repeat' : distinct === 2 ? 'ping_pong' : 'cycle',
      opener: previous?.opener ?? span,
      latest: span,
      tool: toolOf(top),
      argsHash: top.slice(top.lastIndexOf('\u0000') + 1),
      tools: [...new Set([...counts.keys()].map(toolOf))].sort(),
      repeats: topCount,
      threshold,
      distinct,
      stretch,
      growing: previous !== undefined,
    };
    this.callsLoop = loop;
    changes.calls = { type: previous === undefined ? 'open' : 'grow', loop };
    return changes;
  }

  /** A model call of this invocation (with what it spent, for the loop's figures). */
  onModelCall(span: SpanRecord, spend: CallSpend | undefined): CallChanges {
    this.touch(span);
    const retry = (span.attempt !== undefined && span.attempt >= 2) || this.lastCallFailedModel;
    this.lastCallFailedModel = span.failed;
    this.stretch?.add(span, spend);
    if (this.turnStretch !== undefined) this.turnStretch.add(span, spend);
    if (retry || span.operationName === 'embeddings') return {};
    this.turns++;
    const max = this.config.max_turns;
    if (max <= 0 || this.turns <= max) return {};
    if (this.turnStretch === undefined) {
      this.turnStretch = new Stretch(span.startMs);
      this.turnStretch.add(span, spend);
    }
    const previous = this.turnsLoop;
    const loop: LoopState = {
      rule: 'turns',
      pattern: 'max_turns',
      opener: previous?.opener ?? span,
      latest: span,
      tool: undefined,
      argsHash: undefined,
      tools: [],
      repeats: this.turns,
      threshold: max + 1,
      distinct: 0,
      stretch: this.turnStretch,
      growing: previous !== undefined,
    };
    this.turnsLoop = loop;
    return { turns: { type: previous === undefined ? 'open' : 'grow', loop } };
  }

  private touch(span: SpanRecord): void {
    if (span.endMs > this.lastEndMs) this.lastEndMs = span.endMs;
  }
}
