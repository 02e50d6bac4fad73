/**
 * agent_loop (docs/painpoints.md): an agent stuck within one invocation, found from the spans
 * received so far — while the run is still going, not after its trace completes. Per invocation
 * (the parent span of the calls) it follows the tool calls with their argument hashes and the
 * model turns (invocation.ts); a loop opens at the boundary of the call that completes the
 * pattern, is updated while it grows, and clears when the agent moves on (a new call), when the
 * invocation or its trace's root span ends, or after `idle_timeout` without a call. The loops
 * standing on one subject (one tool's series, in any run) are one standing observation, so two
 * runs looping on the same call make one pain point naming both.
 */
import { Counter, Gauge } from '../../src/telemetry/prom.js';
import type { SpanRecord } from '../../src/model/span.js';
import type { Subject } from '../../src/model/painpoint.js';
import { subjectKey } from '../../src/model/series.js';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { isModelCall, priceTableFor, type PriceTable } from '../../src/model/cost.js';
import { nextMultipleAfter } from '../../src/windows/judging.js';
import type { AgentLoopConfig } from './config.js';
import type { Invocation, LoopRule, LoopState } from './invocation.js';
import { InvocationTracker, type DropReason } from './tracker.js';
import { StandingQueue } from './standing-queue.js';
import { loopReport, loopsObservation, loopSubject, type LoopReport } from './observation.js';
import { perRegistry } from '../../src/telemetry/per-registry.js';

interface AgentLoopMetrics {
  readonly dropped: Counter<'processor' | 'reason'>;
  readonly forgotten: Counter<'processor' | 'what'>;
  readonly tracked: Gauge<'processor'>;
}

const agentLoopMetrics = perRegistry((registry): AgentLoopMetrics => ({
  dropped: new Counter({
    name: 'sidelight_agent_loop_invocations_dropped_total',
    help: 'Agent invocations agent_loop stopped following: finished (its span or its root arrived), idle, or cap (max_invocations)',
    labelNames: ['processor', 'reason'],
    registers: [registry],
  }),
  forgotten: new Counter({
    name: 'sidelight_agent_loop_forgotten_total',
    help: 'What agent_loop forgot at its caps: calls (max_calls_per_invocation) and runs (max_runs)',
    labelNames: ['processor', 'what'],
    registers: [registry],
  }),
  tracked: new Gauge({ name: 'sidelight_agent_loop_invocations', help: 'Agent invocations agent_loop follows', labelNames: ['processor'], registers: [registry] }),
}));

/** A tool call: gen_ai execute_tool, or a span naming a tool that is not a model call. */
function isToolCall(span: SpanRecord): boolean {
  if (isModelCall(span)) return false;
  return span.operationName === 'execute_tool' || (span.tool !== undefined && span.operationName === undefined);
}

/** One loop on a subject: its latest report, the boundary it opened at, and (once over) the first boundary it is no longer seen at. */
interface SubjectLoop {
  report: LoopReport;
  readonly openedAt: number;
  seenUntil: number | undefined;
}

/** The loops standing on one subject, reported together (one standing source). */
interface SubjectLoops {
  readonly key: string;
  readonly subject: Subject;
  readonly source: string;
  /** creation order: the order subjects are reported in at one boundary */
  readonly rank: number;
  /** by invocation and rule */
  readonly loops: Map<string, SubjectLoop>;
}

export class AgentLoopDetector {
  private readonly tracker: InvocationTracker;
  private readonly queue: StandingQueue;
  private readonly prices: PriceTable;
  private readonly step: number;
  private readonly metrics: AgentLoopMetrics;
  /** subjects with a loop standing (bounded by the invocations followed: a dropped one closes its loops) */
  private readonly subjects = new Map<string, SubjectLoops>();
  private subjectsCreated = 0;
  /** subjects to report again at a boundary, when a loop that opened and ended within one pane stops being seen */
  private readonly later: { entry: SubjectLoops; at: number }[] = [];

  constructor(
    private readonly config: AgentLoopConfig,
    private readonly ctx: ComponentContext,
  ) {
    const w = ctx.settings.windows;
    this.step = Math.max(w.slide, w.judge_every ?? w.slide);
    this.metrics = agentLoopMetrics(ctx.metrics);
    const processor = ctx.id;
    this.tracker = new InvocationTracker(config, (t) => this.boundaryAfter(t), {
      onDropped: (reason: DropReason) => this.metrics.dropped.inc({ processor, reason }),
      onRunForgotten: () => this.metrics.forgotten.inc({ processor, what: 'runs' }),
      onCallsForgotten: (n) => this.metrics.forgotten.inc({ processor, what: 'calls' }, n),
    });
    this.queue = new StandingQueue('agent_loop', this.step, ctx.judging ?? 'changed');
    this.prices = priceTableFor(ctx.settings.pricing);
  }

  /** The boundary that closes the pane holding `t`: a call ending at `t` is reported there. */
  private boundaryAfter(t: number): number {
    return nextMultipleAfter(t, this.step);
  }

  handle(event: PipelineEvent): Judgement[] {
    switch (event.type) {
      case 'span':
        this.onSpan(event.span);
        return [];
      case 'watermark': {
        for (const { inv, at } of this.tracker.idleUpTo(event.time)) this.publish(this.closeLoops(inv, at), at);
        this.publishLater(event.time);
        const out = this.queue.flush(event.from, event.time);
        this.metrics.tracked.set({ processor: this.ctx.id }, this.tracker.size);
        return out;
      }
      default:
        return [];
    }
  }

  private onSpan(span: SpanRecord): void {
    const at = this.boundaryAfter(span.endMs);
    const touched = new Set<SubjectLoops>();
    for (const inv of this.tracker.endedBy(span)) for (const s of this.closeLoops(inv, at)) touched.add(s);
    if (span.parentSpanId !== undefined) this.onCall(span as SpanRecord & { parentSpanId: string }, at, touched);
    this.publish(touched, at);
  }

  private onCall(span: SpanRecord & { parentSpanId: string }, at: number, touched: Set<SubjectLoops>): void {
    const model = isModelCall(span);
    if (!model && !isToolCall(span)) return;
    const inv = this.tracker.invocationOf(span, (evicted) => {
      for (const s of this.closeLoops(evicted, at)) touched.add(s);
    });
    if (inv.duplicate(span)) return;
    const spend = model ? this.prices.spend(span) : undefined;
    const run = this.tracker.runOf(span, spend);
    const changes = model ? inv.onModelCall(span, spend) : inv.onToolCall(span);
    this.tracker.touched(inv);
    for (const change of [changes.calls, changes.turns]) {
      if (change === undefined) continue;
      const entry = this.subjectOf(change.loop);
      const key = this.loopKey(inv, change.loop.rule);
      if (change.type === 'close') this.endLoop(entry, key, at);
      else {
        const report = loopReport(change.loop, inv.runId, run, this.config);
        const known = entry.loops.get(key);
        if (known !== undefined && known.seenUntil === undefined) known.report = report;
        else entry.loops.set(key, { report, openedAt: at, seenUntil: undefined });
      }
      touched.add(entry);
    }
  }

  /** Takes the loops of an invocation that is over off their subjects at boundary `at`; returns the subjects changed. */
  private closeLoops(inv: Invocation, at: number): SubjectLoops[] {
    const out: SubjectLoops[] = [];
    for (const [rule, loop] of [['calls', inv.callsLoop], ['turns', inv.turnsLoop]] as const) {
      if (loop === undefined) continue;
      const entry = this.subjects.get(subjectKey(loopSubject(loop)));
      if (entry !== undefined && this.endLoop(entry, this.loopKey(inv, rule), at)) out.push(entry);
    }
    return out;
  }

  /**
   * A loop ended at boundary `at`: it is seen at every boundary from the one it opened at up to
   * `at` exclusive, and at least at the one it opened at (a loop that opened and ended within one
   * pane is reported there, and taken off one step later).
   */
  private endLoop(entry: SubjectLoops, key: string, at: number): boolean {
    const loop = entry.loops.get(key);
    if (loop === undefined || loop.seenUntil !== undefined) return false;
    loop.seenUntil = Math.max(at, loop.openedAt + this.step);
    if (loop.seenUntil > at) this.later.push({ entry, at: loop.seenUntil });
    return true;
  }

  /**
   * Reports the subjects changed at boundary `at`: the loops seen there as one observation, or a
   * clear when none is left. A loop that stopped being seen at an earlier boundary (one that opened
   * and ended within one pane) is taken off at that boundary first.
   */
  private publish(changed: Iterable<SubjectLoops>, at: number): void {
    for (const entry of changed) {
      const stops = new Set<number>();
      for (const loop of entry.loops.values()) if (loop.seenUntil !== undefined && loop.seenUntil < at) stops.add(loop.seenUntil);
      for (const stop of [...stops].sort((a, b) => a - b)) this.report(entry, stop);
      this.report(entry, at);
    }
  }

  private report(entry: SubjectLoops, at: number): void {
    const seen: LoopReport[] = [];
    for (const [key, loop] of entry.loops) {
      if (loop.seenUntil !== undefined && loop.seenUntil <= at) entry.loops.delete(key);
      else seen.push(loop.report);
    }
    if (seen.length === 0) {
      this.queue.clear(entry.source, at);
      if (this.subjects.get(entry.key) === entry) this.subjects.delete(entry.key);
    } else this.queue.observe(entry.source, entry.rank, 0, loopsObservation(entry.subject, seen, at), at);
  }

  /** Reports the subjects whose loops stop being seen at a boundary up to `upTo` and that no call has reported since. */
  private publishLater(upTo: number): void {
    if (this.later.length === 0) return;
    this.later.sort((a, b) => a.at - b.at);
    let n = 0;
    while (n < this.later.length && (this.later[n] as { at: number }).at <= upTo) n++;
    for (const { entry, at } of this.later.splice(0, n)) {
      if ([...entry.loops.values()].some((l) => l.seenUntil !== undefined && l.seenUntil <= at)) this.publish([entry], at);
    }
  }

  private subjectOf(loop: LoopState): SubjectLoops {
    const subject = loopSubject(loop);
    const key = subjectKey(subject);
    let entry = this.subjects.get(key);
    if (entry === undefined) this.subjects.set(key, (entry = { key, subject, source: `loop ${key}`, rank: this.subjectsCreated++, loops: new Map() }));
    return entry;
  }

  private loopKey(inv: Invocation, rule: LoopRule): string {
    return `${inv.key}#${rule}`;
  }
}

