import { describe, expect, it } from 'vitest';
import type { Observation, Severity } from '../src/model/painpoint.js';
import type { Trace } from '../src/model/trace.js';
import { testContext } from '../test/support/detector-harness.js';
import { buildTrace, runOnTraces, type NodeSpec } from '../test/support/latency-traces.js';
import { bottleneckInputs, judgeBottleneck, latencyBottleneckOperator, ownShareRise, type BottleneckAcc } from './latency-bottleneck.js';
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

  it('judges the mean share by its confidence bound: a tool with a wide spread around half the path is no bottleneck, one well above it is', async () => {
    // a slow tool's share of its task varies from trace to trace (wide latency spread, other work
    // of varying length): 0.2 to 0.86 around a mean of 0.53 is half the path by chance
    const around = [2_000, 4_000, 5_300, 6_600, 8_600];
    expect(await run(traces(60, (i) => agentRun(around[i % 5] as number)))).toEqual([]);
    const above = [4_500, 6_000, 7_200, 8_000, 8_500];
    const found = await run(traces(60, (i) => agentRun(above[i % 5] as number)));
    expect(found.length).toBeGreaterThan(0);
    expect((found[0] as Observation).evidence.metrics.share).toBeCloseTo(0.684, 2);
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
    // (a line of 0.2: the mean's lower confidence bound over shares of 0.7 and 0 is ~0.26)
    const found = await run(traces(40, (i) => (i % 2 === 0 ? agentRun(7_000) : offPath)), 'live', { ...config, bottleneck_share: 0.2 });
    // web_search: mean 0.35 over all 40 traces, not 0.7 over the 20 where it is on the path
    const search = found.find((o) => o.subject.tool === 'web_search') as Observation;
    expect(search.evidence.metrics.share).toBeCloseTo(0.35, 2);
  });

  it('does not fire on a model call holding most of the path steadily: that is how agents work', async () => {
    // the chat model holds (0.15 + 1.0) / 2 = 0.575 of the path in every window
    const offPath: NodeSpec = {
      name: 'invoke_agent',
      start: 0,
      end: 10_000,
      children: [
        { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: 10_000 },
        { name: 'execute_tool', tool: 'web_search', start: 0, end: 7_000 },
      ],
    };
    const found = await run(traces(400, (i) => (i % 2 === 0 ? agentRun(7_000) : offPath)));
    expect(found.filter((o) => o.subject.model === 'gpt-x')).toEqual([]);
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

  /** A chat taking `chatMs` of a 10 s agent run, then a 2 s tool. */
  const chatRun = (chatMs: number): NodeSpec => ({
    name: 'invoke_agent',
    agent: 'researcher',
    start: 0,
    end: 10_000,
    children: [
      { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: chatMs },
      { name: 'execute_tool', tool: 'web_search', operationName: 'execute_tool', start: chatMs, end: chatMs + 2_000 },
    ],
  });

  it('fires on a model call whose share rose ≥ 0.2 above its baseline window, naming the baseline', async () => {
    // 20 minutes at 30 % of the path, then 10 minutes at 70 % (a model become slower)
    const found = await run(traces(360, (i) => chatRun(i < 240 ? 3_000 : 7_000)));
    const chat = found.filter((o) => o.subject.model === 'gpt-x');
    expect(chat.length).toBeGreaterThan(0);
    const o = chat[0] as Observation;
    expect(o.severity).toBe('medium');
    expect(o.evidence.metrics.baseline_share as number).toBeCloseTo(0.3, 2);
    expect((o.evidence.metrics.share as number) - (o.evidence.metrics.baseline_share as number)).toBeGreaterThanOrEqual(0.2);
    expect(o.title).toMatch(/^gpt-x takes \d+ % of the critical path of the traces it is in, up from 30 % over the \w+ before$/);
    // no judgement before the switch saw it
    expect(Math.min(...chat.map((c) => c.time))).toBeGreaterThan(T0 + 240 * 5_000);
  });

  it('does not fire on a model call whose share rose less than 0.2, even above 50 %', async () => {
    const found = await run(traces(360, (i) => chatRun(i < 240 ? 4_500 : 6_300)));
    expect(found.filter((o) => o.subject.model === 'gpt-x')).toEqual([]);
  });

  /** A chat of `chatMs`, then a tool of `toolMs`: the trace is as long as both (nothing else on the path). */
  const chatThenTool = (chatMs: number, toolMs: number): NodeSpec => ({
    name: 'invoke_agent',
    agent: 'reviewer',
    start: 0,
    end: chatMs + toolMs + 10,
    children: [
      { name: 'chat', model: 'gpt-x', operationName: 'chat', start: 0, end: chatMs },
      { name: 'execute_tool', tool: 'run_tests', operationName: 'execute_tool', start: chatMs, end: chatMs + toolMs },
    ],
  });

  it('does not fire on a model call whose share rose only because the rest of the path shrank', async () => {
    // the model's time stays ~2.5 s (with its usual spread); the tool after it goes from 4-6 s to
    // 0.3-0.7 s (it now fails fast): the model's share rises from ~33 % to ~83 %
    const jitter = (i: number) => ((i * 7919) % 1_000) - 500;
    const found = await run(traces(360, (i) => chatThenTool(2_500 + jitter(i), i < 240 ? 5_000 + jitter(i + 3) * 2 : 500 + jitter(i + 5) / 2.5)));
    expect(found.filter((o) => o.subject.model === 'gpt-x')).toEqual([]);
    // the tool itself is no bottleneck any more, and it was one before
    expect(found.some((o) => o.subject.tool === 'run_tests')).toBe(true);
  });

  it('fires on a model call whose own time grew while the rest of the path stayed as it was', async () => {
    const jitter = (i: number) => ((i * 7919) % 1_000) - 500;
    const found = await run(traces(360, (i) => chatThenTool((i < 240 ? 2_500 : 15_000) + jitter(i), 5_000 + jitter(i + 3) * 2)));
    const chat = found.filter((o) => o.subject.model === 'gpt-x');
    expect(chat.length).toBeGreaterThan(0);
    expect((chat[0] as Observation).evidence.metrics.baseline_share as number).toBeCloseTo(0.33, 1);
  });

  it('takes the rise of a model share as its own only for the part its own time made', () => {
    const acc = (pathMs: number, traceMs: number): BottleneckAcc => ({ traces: 10, modelTraces: 10, shareSum: (pathMs / traceMs) * 10, shareSqSum: (pathMs / traceMs) ** 2 * 10, pathMsSum: pathMs * 10, traceMsSum: traceMs * 10, top: [] });
    // the rest of the path went from 5 s to 1 s, the model stayed at 2.5 s: none of the rise is its own
    expect(ownShareRise(acc(2_500, 3_500), acc(2_500, 7_500))).toBeCloseTo(0, 6);
    // the model went from 2.5 s to 10 s over a 5 s rest: 2/3 − 1/3
    expect(ownShareRise(acc(10_000, 15_000), acc(2_500, 7_500))).toBeCloseTo(1 / 3, 6);
    // the model got faster while the rest shrank even more: negative
    expect(ownShareRise(acc(2_000, 2_500), acc(2_500, 7_500))).toBeLessThan(0);
  });

  it('holds its severity within the band below each threshold (0.796 → 0.801 → 0.799 does not flip)', () => {
    const acc = (share: number): BottleneckAcc => ({ traces: 100, modelTraces: 0, shareSum: share * 100, shareSqSum: share ** 2 * 100, pathMsSum: share * 1e6, traceMsSum: 1e6, top: [] });
    const judge = (share: number, was?: Severity) => judgeBottleneck(config, { service: 's', operation: 'execute_tool', tool: 't' }, '5m', acc(share), T0, { was, band: 0.1, baseline: () => undefined })?.severity;
    expect(judge(0.796)).toBe('medium');
    expect(judge(0.8)).toBe('high');
    expect(judge(0.796, 'medium')).toBe('medium');
    expect(judge(0.801, 'medium')).toBe('high');
    expect(judge(0.799, 'high')).toBe('high');
    expect(judge(0.721, 'high')).toBe('high');
    expect(judge(0.719, 'high')).toBe('medium');
    // firing: from 0.5; once fired held down to 0.45
    expect(judge(0.499)).toBeUndefined();
    expect(judge(0.46, 'medium')).toBe('medium');
    expect(judge(0.449, 'medium')).toBeUndefined();
  });

  it('judges the whole input offline', async () => {
    const found = await run(traces(25, () => agentRun(7_000)), 'offline');
    const all = found.filter((o) => o.evidence.window === 'all');
    expect(all).toHaveLength(1);
    expect(all[0]?.evidence.metrics.traces).toBe(25);
  });
});
