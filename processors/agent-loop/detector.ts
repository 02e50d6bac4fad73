/**
 * agent_loop (docs/painpoints.md): an agent stuck within one invocation, found from the spans
 * received so far — while the run is still going, not after its trace completes. Per invocation
 * (the parent span of the calls) it follows the tool calls with their argument hashes and the
 * model turns (invocation.ts); a loop opens at the boundary of the call that completes the
 * pattern, is updated while it grows, and clears when the agent moves on (a new call), when the
 * invocation or its trace's root span ends, or after `idle_timeout` without a call.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpanRecord } from '../../src/model/span.js';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { isModelCall, priceTableFor, type PriceTable } from '../../src/model/cost.js';
import { nextMultipleAfter } from '../../src/windows/judging.js';
import type { AgentLoopConfig } from './config.js';
import type { Invocation, LoopRule } from './invocation.js';
import { InvocationTracker, type DropReason } from './tracker.js';
import { StandingQueue } from './standing-queue.js';
import { loopObservation } from './observation.js';

interface AgentLoopMetrics {
  readonly dropped: Counter<'processor' | 'reason'>;
  readonly forgotten: Counter<'processor' | 'what'>;
  readonly tracked: Gauge<'processor'>;
}

const metricsCache = new WeakMap<Registry, AgentLoopMetrics>();
function agentLoopMetrics(registry: Registry): AgentLoopMetrics {
  let m = metricsCache.get(registry);
  if (!m) {
    m = {
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
    };
    metricsCache.set(registry, m);
  }
  return m;
}

/** A tool call: gen_ai execute_tool, or a span naming a tool that is not a model call. */
function isToolCall(span: SpanRecord): boolean {
  if (isModelCall(span)) return false;
  return span.operationName === 'execute_tool' || (span.tool !== undefined && span.operationName === undefined);
}

const RULE_INDEX: Readonly<Record<LoopRule, number>> = { calls: 0, turns: 1 };

export class AgentLoopDetector {
  private readonly tracker: InvocationTracker;
  private readonly queue: StandingQueue;
  private readonly prices: PriceTable;
  private readonly step: number;
  private readonly metrics: AgentLoopMetrics;

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
        for (const { inv, at } of this.tracker.idleUpTo(event.time)) this.closeLoops(inv, at);
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
    for (const inv of this.tracker.endedBy(span)) this.closeLoops(inv, at);
    if (span.parentSpanId === undefined) return;
    const model = isModelCall(span);
    if (!model && !isToolCall(span)) return;
    const spend = model ? this.prices.spend(span) : undefined;
    const inv = this.tracker.invocationOf(span as SpanRecord & { parentSpanId: string }, (evicted) => this.closeLoops(evicted, at));
    const run = this.tracker.runOf(span, spend);
    const changes = model ? inv.onModelCall(span, spend) : inv.onToolCall(span);
    this.tracker.touched(inv);
    for (const change of [changes.calls, changes.turns]) {
      if (change === undefined) continue;
      const source = this.source(inv, change.loop.rule);
      if (change.type === 'close') this.queue.clear(source, at);
      else this.queue.observe(source, inv.seq, RULE_INDEX[change.loop.rule], loopObservation(change.loop, inv.runId, { ...run }, this.config, at), at);
    }
  }

  private closeLoops(inv: Invocation, at: number): void {
    if (inv.callsLoop !== undefined) this.queue.clear(this.source(inv, 'calls'), at);
    if (inv.turnsLoop !== undefined) this.queue.clear(this.source(inv, 'turns'), at);
  }

  private source(inv: Invocation, rule: LoopRule): string {
    return `${inv.key}#${rule}`;
  }
}

