/**
 * A dense agent workload that carries every agent signal: healthy traffic, a stretch where
 * web_search fails 60 % (and answers are cut off), a stretch where it is 3× slower (read_file
 * results report failures, spend triples), healthy again; two stuck agents (a repeat and a
 * ping-pong) and healthy agent runs along the way. With AGENT_CONFIG (prices and three budgets it
 * crosses) it makes silent_failure, agent_loop and budget_exceeded fire besides the other kinds.
 */
import type { SpanRecord } from '../../src/model/span.js';
import { recordTraces, type SpanTree } from './readable-to-record.js';
import { agentWorkload } from './agent-workload.js';
import { agentRun, healthySteps, loopSteps, pingPongSteps } from './agent-loop-workload.js';
import { DEFAULT_CONFIG } from '../../src/pipeline/components.js';

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
export function denseAgentSpans(): SpanRecord[] {
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
export const AGENT_CONFIG = {
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

