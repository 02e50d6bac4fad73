/**
 * budget_exceeded on agent runs made with the OpenTelemetry SDK, through the whole engine: an
 * agent whose spend per run triples against its budget, the same agent under budget, cost from
 * the calls' own attributes and from the price table, names inherited from ancestor spans.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/library/analyze-spans.js';
import { createPipeline } from '../../src/library/create-pipeline.js';
import { recordTraces, type SpanTree } from '../../test/support/readable-to-record.js';
import type { PainPointRecord } from '../../src/model/painpoint.js';
import { Registry } from 'prom-client';
import { runOnSpans, testContext, testSettings } from '../../test/support/detector-harness.js';
import { budget, budgetConfigSchema } from './index.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const PRICING = { 'gpt-4o': { input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 } };
/** one chat of a normal run: 2000 input tokens (500 from the cache), 150 output: (1500 × 2.5 + 500 × 1.25 + 150 × 10) / 1e6 */
const CHAT_USD = (1_500 * 2.5 + 500 * 1.25 + 150 * 10) / 1e6;

interface RunOptions {
  readonly i: number;
  /** token multiplier of the run's chats */
  readonly scale: number;
  readonly model?: string;
  /** cost each chat reports itself, in USD */
  readonly reportedUsd?: number;
  readonly user?: string;
  /**
   * the agent span carries its chats' summed usage and cost, a kc task span above it carries them
   * again, and a tool call and an embedding sit beside the chats: frameworks roll usage up like this
   */
  readonly rollup?: boolean;
}

/** A coder run a minute long: ten chats under the agent span, which alone names the agent (as the GenAI conventions have it). */
function run(o: RunOptions): SpanTree {
  const start = T0 + o.i * 60_000;
  const children: SpanTree[] = Array.from({ length: 10 }, (_, k) => ({
    name: `chat ${o.model ?? 'gpt-4o'}`,
    start: start + 100 + k * 5_000,
    end: start + 4_000 + k * 5_000,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': o.model ?? 'gpt-4o',
      'gen_ai.provider.name': 'openai',
      'gen_ai.conversation.id': `run-${o.i}`,
      'gen_ai.usage.input_tokens': 2_000 * o.scale,
      'gen_ai.usage.cache_read.input_tokens': 500 * o.scale,
      'gen_ai.usage.output_tokens': 150 * o.scale,
      ...(o.reportedUsd !== undefined ? { 'gen_ai.usage.cost.amount': o.reportedUsd } : {}),
    },
  }));
  const usage = { 'gen_ai.usage.input_tokens': 20_000 * o.scale, 'gen_ai.usage.output_tokens': 1_500 * o.scale, 'gen_ai.usage.cost.amount': 10 * CHAT_USD * o.scale };
  if (o.rollup) {
    children.push(
      { name: 'execute_tool read_file', start: start + 4_100, end: start + 4_300, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'read_file' } },
      { name: 'embeddings text-embedding-3-small', start: start + 4_400, end: start + 4_500, attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': 500 } },
    );
  }
  const agent: SpanTree = {
    name: 'invoke_agent coder',
    start,
    end: start + 52_000,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `run-${o.i}`, ...(o.user ? { 'user.id': o.user } : {}), ...(o.rollup ? usage : {}) },
    children,
  };
  if (!o.rollup) return agent;
  return { name: 'kc.task', start: start - 50, end: start + 52_100, attributes: { 'kc.task.id': `t-${o.i}`, 'kc.run.id': `run-${o.i}`, ...usage }, children: [agent] };
}

function config(budgets: readonly Record<string, unknown>[], pricing: Record<string, unknown> = PRICING) {
  return {
    processors: { budget: { budgets }, categorize: {}, recommend: {} },
    service: { pricing },
  };
}

const budgetsOf = (painpoints: readonly PainPointRecord[]) => painpoints.filter((p) => p.kind === 'budget_exceeded');

const PER_RUN = { per: 'run', match: { agent: 'coder' }, max_cost_usd: 0.1, window: '15m' };
const PER_AGENT = { per: 'agent', max_cost_usd: 0.5, window: '5m' };

describe('budget_exceeded', () => {
  it('stays quiet while the agent spends within its budgets', async () => {
    const spans = recordTraces(Array.from({ length: 20 }, (_, i) => run({ i, scale: 1 })));
    const result = await analyzeSpans(spans, { config: config([PER_RUN, PER_AGENT]) });
    // each run spends 10 chats × CHAT_USD, two thirds of the per-run budget; 5 runs per 5 min stay under the agent's
    expect(10 * CHAT_USD).toBeCloseTo(0.05875, 10);
    expect(budgetsOf(result.painpoints)).toEqual([]);
  });

  it('reports the runs and the agent once the spend per run triples, naming the biggest spenders', async () => {
    const spans = recordTraces(Array.from({ length: 20 }, (_, i) => run({ i, scale: i < 10 ? 1 : 3 })));
    const result = await analyzeSpans(spans, { config: config([PER_RUN, PER_AGENT]) });
    const found = budgetsOf(result.painpoints);
    const perRun = found.find((p) => p.subject.operation === 'spend per run') as PainPointRecord;
    const perAgent = found.find((p) => p.subject.operation === 'spend per agent') as PainPointRecord;
    expect(found).toHaveLength(2);
    expect(perRun.subject).toEqual({ service: 'kc-orchestrator', operation: 'spend per run', agent: 'coder' });
    expect(perAgent.subject).toEqual({ service: 'kc-orchestrator', operation: 'spend per agent', agent: 'coder' });
    // the tripled runs went over their budget, none of the others; one pain point names them, updated as they add up
    const tripled = Array.from({ length: 10 }, (_, i) => `run-${i + 10}`);
    expect(perRun.run_ids.length).toBeGreaterThanOrEqual(8);
    expect(perRun.run_ids.every((r) => tripled.includes(r))).toBe(true);
    const m = perRun.evidence.metrics;
    expect(m['runs_over_budget']).toBe(perRun.run_ids.length);
    expect(m['spend_usd']).toBeCloseTo(30 * CHAT_USD, 6);
    expect(m['budget_ratio']).toBeCloseTo((30 * CHAT_USD) / 0.1, 2);
    expect(perRun.severity).toBe('high');
    expect(perRun.category).toBe('cost');
    expect(m['by_model']).toEqual({ 'gpt-4o': Number((30 * CHAT_USD).toFixed(6)) });
    expect(m['top_spender']).toMatch(/^run run-1\d$/);
    expect(perRun.title).toMatch(/^\d+ runs of coder over the \$0\.10 per-run budget over the last 15m; run run-1\d spent \$0\.18 \(176 %\)$/);
    // what the runs spent over their budget is the waste the impact ranks by
    const overspend = Object.values(m['by_run'] as Record<string, number>).reduce((n, v) => n + (v - 0.1), 0);
    expect(m['overspend_usd']).toBeCloseTo(overspend, 6);
    expect(perRun.impact?.wasted_cost_usd).toBeCloseTo(overspend, 3);
    // the agent: five tripled runs in 5 minutes
    expect(perAgent.evidence.metrics['spend_usd']).toBeGreaterThan(0.5);
    expect(perAgent.evidence.metrics['top_spender']).toMatch(/^run run-1\d$/);
    expect(perAgent.title).toMatch(/^Agent coder spent \$\d+\.\d\d over the last 5m: \d+ % of its \$0\.50 budget per agent$/);
    // the first run over budget is reported when its agent span arrives, at the run's own time
    const firstOpen = result.changes.find((c) => c.painpoint.kind === 'budget_exceeded' && c.painpoint.subject.operation === 'spend per run');
    expect(firstOpen?.painpoint.run_ids).toEqual(['run-10']);
    expect(result.recommendations.map((r) => r.title)).toEqual(expect.arrayContaining(['Cap the spend per run in the orchestrator at $0.10 per 15m']));
  });

  it('counts model calls only: the usage and cost an agent or task span sums up for its calls are not spent again', async () => {
    const spans = recordTraces(Array.from({ length: 20 }, (_, i) => run({ i, scale: 1, rollup: true })));
    // the rolled-up usage is there, on spans that are not model calls
    expect(spans.filter((s) => s.costAmount !== undefined).map((s) => s.name).sort()).toEqual([...Array.from({ length: 20 }, () => 'invoke_agent coder'), ...Array.from({ length: 20 }, () => 'kc.task')].sort());
    // counted once, each agent stays under $0.50 per 5 min (counted two or three times, it would not)
    const quiet = await analyzeSpans(spans, { config: config([PER_AGENT]) });
    expect(budgetsOf(quiet.painpoints)).toEqual([]);
    // a per-run token budget sees the chats and the embedding: 10 × 2150 + 500 tokens per run, nothing of the tool call
    const tokens = await analyzeSpans(spans, { config: config([{ per: 'run', max_tokens: 20_000, window: '15m' }]) });
    const perRun = budgetsOf(tokens.painpoints)[0];
    expect(perRun?.run_ids.length).toBeGreaterThanOrEqual(10);
    // the embedding names no run (its chats do, by conversation id): it counts with its trace's run
    const byRun = perRun?.evidence.metrics['by_run'] as Record<string, number>;
    expect(Object.keys(byRun).length).toBeGreaterThanOrEqual(10);
    expect(Object.entries(byRun).filter(([, v]) => v !== 10 * 2_150 + 500)).toEqual([]);
  });

  it('counts the cost calls report themselves, and reports calls it cannot price', async () => {
    // in-house-llm is in no price table: its calls report their cost; o9 neither reports nor is priced
    const spans = recordTraces([
      ...Array.from({ length: 6 }, (_, i) => run({ i, scale: 1, model: 'in-house-llm', reportedUsd: 0.02 })),
      ...Array.from({ length: 6 }, (_, i) => run({ i: i + 6, scale: 1, model: 'o9' })),
    ]);
    const result = await analyzeSpans(spans, { config: config([{ per: 'model', max_cost_usd: 0.5, window: '15m' }]) });
    const found = budgetsOf(result.painpoints);
    expect(found.map((p) => p.subject)).toEqual([{ service: 'kc-orchestrator', operation: 'spend per model', model: 'in-house-llm' }]);
    expect(found[0]?.evidence.metrics['spend_usd']).toBeCloseTo(60 * 0.02, 6);
    const tokenBudget = await analyzeSpans(spans, { config: config([{ per: 'model', max_tokens: 50_000, window: '15m' }]) });
    // counted in tokens, o9 is over too
    expect(budgetsOf(tokenBudget.painpoints).map((p) => p.subject.model).sort()).toEqual(['in-house-llm', 'o9']);
    const unpriced = await analyzeSpans(spans, { config: config([{ per: 'run', max_cost_usd: 0.1, window: '15m' }]) });
    expect(budgetsOf(unpriced.painpoints)).toHaveLength(1);
    expect(budgetsOf(unpriced.painpoints)[0]?.run_ids).toEqual(['run-0', 'run-1', 'run-2', 'run-3', 'run-4', 'run-5']);
  });

  it('takes the user from an ancestor span for per-user budgets', async () => {
    const spans = recordTraces(Array.from({ length: 8 }, (_, i) => run({ i, scale: 2, user: i % 2 === 0 ? 'alice' : 'bob' })));
    const result = await analyzeSpans(spans, { config: config([{ per: 'user', max_tokens: 150_000, window: '15m' }]) });
    // 4 runs each × 10 chats × 4300 tokens = 172 000 tokens per user in 8 minutes
    const found = budgetsOf(result.painpoints);
    expect(found.map((p) => p.subject.user).sort()).toEqual(['alice', 'bob']);
    const alice = found.find((p) => p.subject.user === 'alice')?.evidence.metrics ?? {};
    expect(alice).toMatchObject({ per: 'user', spender: 'alice', budget_tokens: 150_000 });
    expect(alice['spend_tokens']).toBeGreaterThanOrEqual(150_000);
    expect(alice['spend_tokens']).toBeLessThanOrEqual(172_000);
    expect(found.find((p) => p.subject.user === 'alice')?.run_ids).toEqual(expect.arrayContaining(['run-0', 'run-2', 'run-4']));
  });

  it('bounds the calls waiting for an ancestor to name their agent, and counts what it gives up', async () => {
    const settings = testSettings({ pricing: PRICING });
    const ctx = { ...testContext('offline', settings), metrics: new Registry() };
    const config = budgetConfigSchema.parse({ budgets: [{ per: 'agent', max_cost_usd: 0.01, window: '5m' }], max_pending: 4 });
    const named = run({ i: 0, scale: 1 });
    // no span of this run names an agent
    const anonymous = { ...run({ i: 1, scale: 1 }), attributes: { 'kc.run.id': 'run-1' } };
    const observations = await runOnSpans(recordTraces([named, anonymous]), budget(config, ctx), settings);
    const givenUp = await ctx.metrics.getSingleMetric('sidelight_budget_calls_unattributed_total')?.get();
    const byReason = Object.fromEntries((givenUp?.values ?? []).map((v) => [v.labels['reason'], v.value]));
    // 10 calls wait under each agent span, 4 at most at once: 6 of each run are given up at the cap, the last 4 of run-1 at its root
    expect(byReason).toEqual({ cap: 12, unnamed: 4 });
    // the 4 calls of run-0 that waited to the end are counted: 4 × CHAT_USD over the $0.01 budget
    expect(observations[observations.length - 1]?.evidence.metrics).toMatchObject({ per: 'agent', spender: 'coder', calls: 4 });
  });

  it('is idle without budgets, and rejects a window that is not a whole number of panes, naming its path', async () => {
    const spans = recordTraces([run({ i: 0, scale: 100 })]);
    expect(budgetsOf((await analyzeSpans(spans)).painpoints)).toEqual([]);
    expect(() => createPipeline(config([{ per: 'run', max_cost_usd: 1, window: '95s' }]))).toThrow(
      'processors.budget.budgets[0].window: 95s is not a multiple of service.windows.slide (10s)',
    );
    expect(() => createPipeline(config([{ per: 'run', max_cost_usd: 1, max_tokens: 5, window: '1m' }]))).toThrow(
      'processors.budget.budgets[0].max_cost_usd: give exactly one of max_cost_usd and max_tokens',
    );
  });
});
