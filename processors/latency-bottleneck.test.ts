import { describe, expect, it } from 'vitest';
import type { Observation } from '../src/model/painpoint.js';
import type { Trace } from '../src/model/trace.js';
import { testContext } from '../test/support/detector-harness.js';
import { buildTrace, runOnTraces, type NodeSpec } from '../test/support/latency-traces.js';
import { bottleneckInputs, latencyBottleneckOperator } from './latency-bottleneck.js';
import { latencyConfigSchema } from './latency.js';

const T0 = 1_800_000_000_000;
const config = latencyConfigSchema.parse({});

/** An agent run: a chat, then a slow tool taking `toolMs`, then a short chat, in a 10 s root. */
function agentRun(toolMs: number): NodeSpec {
  return {
    name: 'invoke_agent',
    agent: 'researcher',
    start: 0,
    end: 10_000,
    children: [
      { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: 1_000 },
      { name: 'execute_tool', tool: 'web_search', operationName: 'execute_tool', start: 1_000, end: 1_000 + toolMs },
      { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 1_000 + toolMs, end: Math.min(10_000, 1_500 + toolMs) },
    ],
  };
}

/** `count` traces from `spec`, one every 5 s */
function traces(count: number, spec: (i: number) => NodeSpec): Trace[] {
  return Array.from({ length: count }, (_, i) => buildTrace(spec(i), T0 + i * 5_000));
}

async function run(input: Trace[], mode: 'live' | 'offline' = 'live', cfg = config): Promise<Observation[]> {
  return runOnTraces(input, latencyBottleneckOperator(cfg, testContext(mode)));
}

describe('latency_bottleneck', () => {
  it('gives each operation of a trace its share of the critical path, the root excepted', () => {
    const inputs = bottleneckInputs(buildTrace(agentRun(7_000), T0));
    const byTool = Object.fromEntries(inputs.map((i) => [i.subject.tool ?? i.subject.model ?? i.subject.operation, i.input.share]));
    expect(byTool).toEqual({ 'gpt-x': 0.15, web_search: 0.7 });
  });

  it('fires medium when an operation holds ≥ 50 % of the critical path over ≥ 20 traces', async () => {
    const found = await run(traces(25, () => agentRun(7_000)));
    expect(found.length).toBeGreaterThan(0);
    const o = found[0] as Observation;
    expect(o.kind).toBe('latency_bottleneck');
    expect(o.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool', tool: 'web_search' });
    expect(o.severity).toBe('medium');
    expect(o.evidence.metrics).toMatchObject({ share: 0.7, critical_path_ms: 7_000, trace_ms: 10_000, traces: 20 });
    expect(o.evidence.exemplar_trace_ids).toHaveLength(5);
    expect(o.title).toBe('web_search takes 70 % of the critical path of the traces it is in');
    // never the root's own operation, never the chats (15 %)
    expect(found.every((f) => f.subject.tool === 'web_search')).toBe(true);
  });

  it('rates a share ≥ 80 % high', async () => {
    const found = await run(traces(25, () => agentRun(8_600)));
    expect(found.some((o) => o.severity === 'high')).toBe(true);
  });

  it('does not fire under 20 traces', async () => {
    expect(await run(traces(19, () => agentRun(8_000)), 'offline')).toEqual([]);
  });

  it('does not blame a long call that runs in parallel with a longer one', async () => {
    const parallel: NodeSpec = {
      name: 'invoke_agent',
      start: 0,
      end: 10_000,
      children: [
        { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: 4_000 },
        { name: 'execute_tool', tool: 'fetch', start: 0, end: 9_000 },
        { name: 'execute_tool', tool: 'index', start: 500, end: 8_000 },
      ],
    };
    const found = await run(traces(25, () => parallel));
    expect(found.map((o) => o.subject.tool)).not.toContain('index');
    expect(found.map((o) => o.subject.tool)).toContain('fetch');
  });

  it('averages over the traces containing the operation, counting those where it is off the path as 0', async () => {
    // in half the traces web_search is 70 % of the path, in the other half it runs beside a longer chat
    const offPath: NodeSpec = {
      name: 'invoke_agent',
      start: 0,
      end: 10_000,
      children: [
        { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: 10_000 },
        { name: 'execute_tool', tool: 'web_search', start: 0, end: 7_000 },
      ],
    };
    const found = await run(traces(40, (i) => (i % 2 === 0 ? agentRun(7_000) : offPath)));
    // web_search: mean 0.35; the chat model: (0.15 + 1.0) / 2 = 0.575
    expect(found.map((o) => o.subject.tool)).not.toContain('web_search');
    const chat = found.find((o) => o.subject.model === 'gpt-x') as Observation;
    expect(chat.evidence.metrics.share).toBeCloseTo(0.575, 2);
  });

  it('gives the time of synthetic kc attempts to their task', () => {
    const attempt = (start: number, end: number): NodeSpec => ({ name: 'kc.attempt', taskType: 'Refactor', start, end, attributes: { 'sidelight.synthetic': true } });
    const run: NodeSpec = {
      name: 'kc.run',
      start: 0,
      end: 10_000,
      children: [
        { name: 'kc.task', taskType: 'Refactor', start: 0, end: 8_000, children: [attempt(0, 3_000), attempt(3_000, 8_000)] },
        { name: 'kc.task', taskType: 'Docs', start: 8_000, end: 10_000 },
      ],
    };
    const inputs = bottleneckInputs(buildTrace(run, T0));
    const byType = Object.fromEntries(inputs.map((i) => [i.subject.task_type ?? i.subject.operation, i.input.share]));
    expect(byType).toEqual({ Refactor: 0.8, Docs: 0.2 });
    expect(inputs.every((i) => i.subject.operation === 'kc.task')).toBe(true);
  });

  it('judges the whole input offline', async () => {
    const found = await run(traces(25, () => agentRun(7_000)), 'offline');
    const all = found.filter((o) => o.evidence.window === 'all');
    expect(all).toHaveLength(1);
    expect(all[0]?.evidence.metrics.traces).toBe(25);
  });
});
