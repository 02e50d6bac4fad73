/**
 * Change-driven judging (docs/engine.md) gives exactly the pain-point changes that judging every
 * series at every boundary gives: same changes, same order, same records, on a dense agent
 * workload (every detector busy at every boundary) and on a sparse kc history (hours between
 * runs, where change-driven judging skips almost every boundary).
 */
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { recordTraces } from './support/readable-to-record.js';
import { agentWorkload } from './support/agent-workload.js';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';
import { agentRun, healthySteps, loopSteps, pingPongSteps } from './support/agent-loop-workload.js';
import type { SpanTree } from './support/readable-to-record.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/**
 * The agent signals on a stretch of tasks: answers cut off at their token limit in 2 tasks of 5
 * (silent_failure), read_file results that say they failed in 1 of 3, and tokens × `scale`
 * (spend over the budgets of BUDGETS).
 */
function withAgentSignals(trees: SpanTree[], o: { cutOff: boolean; toolErrors: boolean; scale: number }): SpanTree[] {
  return trees.map((t, i) => ({
    ...t,
    children: t.children?.map((c, k) => {
      const a = { ...c.attributes };
      if (c.name.startsWith('chat')) {
        a['gen_ai.response.finish_reasons'] = [o.cutOff && i % 5 < 2 && k === 0 ? 'length' : 'stop'];
        a['gen_ai.usage.input_tokens'] = 1_000 * o.scale;
      }
      if (c.name === 'execute_tool read_file') a['gen_ai.tool.call.result'] = o.toolErrors && i % 3 === 0 ? '{"ok": false}' : '{"ok": true}';
      return { ...c, attributes: a };
    }),
  }));
}

/**
 * Healthy traffic, a stretch where web_search fails 60 % (and answers are cut off), a stretch where
 * it is 3× slower (and read_file results report failures, and spend triples), healthy again; two
 * stuck agents (a repeat and a ping-pong) and a few healthy agent runs along the way.
 */
function denseSpans(): SpanRecord[] {
  const healthy = withAgentSignals(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 0 }), { cutOff: false, toolErrors: false, scale: 1 });
  const failing = withAgentSignals(agentWorkload({ start: T0 + 300_000, tasks: 200, every: 1_500, failEveryFive: 3 }), { cutOff: true, toolErrors: false, scale: 1 });
  const slow = withAgentSignals(
    agentWorkload({ start: T0 + 600_000, tasks: 160, every: 1_500, failEveryFive: 0 }).map((t) => ({
      ...t,
      children: t.children?.map((c) => (c.name === 'execute_tool web_search' ? { ...c, end: c.start + (c.end - c.start) * 3 } : c)),
    })),
    { cutOff: false, toolErrors: true, scale: 3 },
  );
  const after = withAgentSignals(agentWorkload({ start: T0 + 840_000, tasks: 240, every: 1_500, failEveryFive: 1 }), { cutOff: false, toolErrors: false, scale: 1 });
  const agents = [
    agentRun({ runId: 'stuck', agent: 'planner', start: T0 + 200_000, stepMs: 4_000, steps: loopSteps(10) }),
    agentRun({ runId: 'ping-pong', agent: 'planner', start: T0 + 700_000, stepMs: 2_500, steps: pingPongSteps(6) }),
    ...Array.from({ length: 6 }, (_, i) => agentRun({ runId: `fine-${i}`, agent: 'planner', start: T0 + 100_000 + i * 150_000, stepMs: 2_000, steps: healthySteps(i) })),
  ];
  return recordTraces([...healthy, ...failing, ...slow, ...after, ...agents]);
}

/** Budgets the dense workload crosses while its spend is tripled: per agent over 5 minutes, per run over 1 minute. */
const AGENT_CONFIG = {
  service: { pricing: { 'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 } } },
  processors: {
    ...Object.fromEntries(Object.keys(DEFAULT_CONFIG.processors).map((k) => [k, {}])),
    budget: {
      budgets: [
        // coder spends about $1.80 per 5 minutes, $3.80 while tripled
        { per: 'agent', max_cost_usd: 2.5, window: '5m' },
        // a planner run (its calls name neither agent nor run: both come from the agent span) spends $0.04–0.08 a minute
        { per: 'run', match: { agent: 'planner' }, max_cost_usd: 0.06, window: '1m' },
        // gpt-4o about 100 000 tokens per minute, 260 000 while tripled
        { per: 'model', max_tokens: 150_000, window: '1m' },
      ],
    },
  },
};

/** kc runs of 25 tasks, three hours apart: a task every minute or two within a run, nothing between runs. */
function sparseSpans(): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (let r = 0; r < 4; r++) {
    const [run] = generateKcRuns({ runs: 1, tasksPerRun: 25, seed: 100 + r, start: new Date(T0 + r * 3 * 3_600_000).toISOString() });
    const data = kcRunDataSchema.parse([{ ...run, runId: `run-${r}` }])[0]!;
    spans.push(...kcRunToSpans(data.events.map((e) => ({ ...e, runId: `run-${r}` })), { runId: `run-${r}` }));
  }
  return spans;
}

const kinds = (changes: readonly { painpoint: { state: string; kind: string } }[]) => new Set(changes.map((c) => `${c.painpoint.state} ${c.painpoint.kind}`));

describe('change-driven judging', () => {
  it('gives exactly the changes of judging every boundary on a dense workload', async () => {
    const spans = denseSpans();
    const every = await analyzeSpans(spans, { judging: 'every', config: AGENT_CONFIG });
    const changed = await analyzeSpans(spans, { judging: 'changed', config: AGENT_CONFIG });
    // the agent kinds are there to compare: silent failures, loops, budgets
    const agentKinds = new Set(every.changes.map((c) => c.painpoint.kind).filter((k) => ['silent_failure', 'agent_loop', 'budget_exceeded'].includes(k)));
    expect(agentKinds).toEqual(new Set(['silent_failure', 'agent_loop', 'budget_exceeded']));
    const budgets = every.changes.filter((c) => c.painpoint.kind === 'budget_exceeded');
    expect(new Set(budgets.map((c) => c.painpoint.subject.operation))).toEqual(new Set(['spend per agent', 'spend per run', 'spend per model']));
    expect(budgets.filter((c) => c.painpoint.state === 'resolved').length).toBe(3);
    // a meaningful comparison: openings, updates and resolutions of several kinds
    expect(kinds(every.changes)).toEqual(expect.any(Set));
    expect([...kinds(every.changes)].filter((k) => k.startsWith('resolved')).length).toBeGreaterThanOrEqual(2);
    expect([...kinds(every.changes)].some((k) => k.startsWith('updated'))).toBe(true);
    expect(new Set(every.changes.map((c) => c.painpoint.kind)).size).toBeGreaterThanOrEqual(3);
    expect(changed.changes).toEqual(every.changes);
    expect(changed.painpoints).toEqual(every.painpoints);
  }, 120_000);

  it('gives exactly the changes of judging every boundary on a sparse kc history', async () => {
    const spans = sparseSpans();
    const every = await analyzeSpans(spans, { judging: 'every' });
    const changed = await analyzeSpans(spans, { judging: 'changed' });
    expect(every.changes.filter((c) => c.painpoint.state === 'resolved').length).toBeGreaterThanOrEqual(2);
    expect(new Set(every.changes.map((c) => c.painpoint.kind)).size).toBeGreaterThanOrEqual(3);
    expect(changed.changes).toEqual(every.changes);
  }, 120_000);
});
