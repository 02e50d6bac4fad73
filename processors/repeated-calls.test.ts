import { describe, expect, it } from 'vitest';
import type { Observation } from '../src/model/painpoint.js';
import { SpanKind } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { testContext } from '../test/support/detector-harness.js';
import { buildTrace, runOnTraces, type NodeSpec } from '../test/support/latency-traces.js';
import { findRepeatedRuns, judgeRepeatedCalls, repeatedCallsConfigSchema, repeatedCallsOperator } from './repeated-calls.js';

const T0 = 1_800_000_000_000;
const config = repeatedCallsConfigSchema.parse({});

/** `n` calls of `each` ms, back to back from `from` ms, each described by `call` */
function serial(n: number, each: number, call: Omit<NodeSpec, 'start' | 'end'>, from = 100, gap = 5): NodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({ ...call, start: from + i * (each + gap), end: from + i * (each + gap) + each }));
}

const dbCall = { name: 'SELECT orders', kind: SpanKind.CLIENT } as const;
const toolCall = { name: 'execute_tool', tool: 'get_weather', operationName: 'execute_tool' } as const;

function agent(children: NodeSpec[], end = 10_000): NodeSpec {
  return { name: 'invoke_agent', agent: 'planner', start: 0, end, children };
}

function traces(count: number, spec: () => NodeSpec): Trace[] {
  return Array.from({ length: count }, (_, i) => buildTrace(spec(), T0 + i * 5_000));
}

async function run(input: Trace[], mode: 'live' | 'offline' = 'live', cfg = config): Promise<Observation[]> {
  return runOnTraces(input, repeatedCallsOperator(cfg, testContext(mode)));
}

describe('repeated_calls detection in one trace', () => {
  it('finds 12 sequential calls of one client operation under one parent', () => {
    const runs = findRepeatedRuns(buildTrace(agent(serial(12, 50, dbCall)), T0), config);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.calls).toHaveLength(12);
    expect(runs[0]?.sumMs).toBe(600);
  });

  it('does not count 9 calls', () => {
    expect(findRepeatedRuns(buildTrace(agent(serial(9, 50, dbCall)), T0), config)).toEqual([]);
  });

  it('does not count one long call', () => {
    expect(findRepeatedRuns(buildTrace(agent([{ ...dbCall, start: 0, end: 9_000 }]), T0), config)).toEqual([]);
  });

  it('does not count the chat calls of an agent loop', () => {
    const loop = serial(15, 400, { name: 'chat', model: 'gpt-x', operationName: 'chat' });
    const modelNoOpName = serial(15, 400, { name: 'llm call', model: 'gpt-x' }, 7_000);
    const sdkClient = serial(15, 400, { name: 'POST /v1/chat/completions', kind: SpanKind.CLIENT, provider: 'openai' }, 14_000);
    expect(findRepeatedRuns(buildTrace(agent([...loop, ...modelNoOpName, ...sdkClient], 21_000), T0), config)).toEqual([]);
  });

  it('does not count calls running concurrently', () => {
    // 12 calls in 3 waves of 4 concurrent calls: at most 3 are one after another
    const waves = Array.from({ length: 12 }, (_, i) => ({ ...toolCall, start: Math.floor(i / 4) * 300, end: Math.floor(i / 4) * 300 + 250 }));
    expect(findRepeatedRuns(buildTrace(agent(waves), T0), config)).toEqual([]);
  });

  it('leaves retries after failures out (that is a retry chain)', () => {
    const chain = serial(12, 50, dbCall).map((c, i) => ({ ...c, failed: i < 11 }));
    expect(findRepeatedRuns(buildTrace(agent(chain), T0), config)).toEqual([]);
    const attempts = serial(12, 50, dbCall).map((c, i) => ({ ...c, attempt: i + 1 }));
    expect(findRepeatedRuns(buildTrace(agent(attempts), T0), config)).toEqual([]);
  });

  it('does not mix operations: 6 + 6 calls of two tools are not N+1', () => {
    const mixed = [...serial(6, 50, toolCall), ...serial(6, 50, { ...toolCall, tool: 'get_time' }, 1_000)];
    expect(findRepeatedRuns(buildTrace(agent(mixed), T0), config)).toEqual([]);
  });
});

describe('repeated_calls', () => {
  it('fires low once the pattern recurs in 3 traces of a window', async () => {
    const found = await run(traces(3, () => agent(serial(12, 50, dbCall))));
    expect(found.length).toBeGreaterThan(0);
    const o = found[0] as Observation;
    expect(o.kind).toBe('repeated_calls');
    expect(o.subject).toEqual({ service: 'kc-orchestrator', operation: 'SELECT orders' });
    expect(o.severity).toBe('low');
    expect(o.category).toBe('efficiency');
    expect(o.evidence.metrics).toMatchObject({ calls_per_parent: 12, traces: 3, occurrences: 3, share: 0.06, saving_ms: 550, wasted_ms: 1_650, parent_operation: 'invoke_agent planner' });
    expect(o.evidence.exemplar_trace_ids).toHaveLength(3);
    expect(o.title).toBe('SELECT orders is called 12 times in a row under invoke_agent planner (N+1)');
  });

  it('rates it medium when the calls take ≥ 20 % of the parent', async () => {
    const found = await run(traces(3, () => agent(serial(20, 200, toolCall))));
    expect(found[0]?.severity).toBe('medium');
    expect(found[0]?.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool', tool: 'get_weather' });
  });

  it('needs recurrence live: 2 traces do not fire', async () => {
    expect(await run(traces(2, () => agent(serial(50, 50, dbCall))))).toEqual([]);
  });

  it('reports a single recorded trace with 50 N+1 calls offline, on the whole input', async () => {
    const found = await run(traces(1, () => agent(serial(50, 100, toolCall))), 'offline');
    expect(found).toHaveLength(1);
    expect(found[0]?.evidence.window).toBe('all');
    expect(found[0]?.evidence.metrics).toMatchObject({ calls_per_parent: 50, traces: 1, share: 0.5 });
    expect(found[0]?.severity).toBe('medium');
  });
});

describe('repeated_calls severity band', () => {
  const acc = (share: number) => ({
    traces: 5,
    parentTraces: 5,
    occurrences: 5,
    calls: 60,
    longest: 12,
    shareSum: share * 5,
    sumMs: 5_000,
    savingMs: 4_000,
    labels: new Map([['invoke_agent researcher', 5]]),
    top: [],
  });
  const judge = (share: number, was?: 'medium' | 'low') =>
    judgeRepeatedCalls(config, { service: 's', operation: 'execute_tool', tool: 'get_doc' }, '5m', acc(share), 0, { was, band: 0.1 })?.severity;

  it('is medium from 20 % of the parent, held down to 18 % once medium', () => {
    expect(judge(0.199)).toBe('low');
    expect(judge(0.2)).toBe('medium');
    expect(judge(0.185, 'medium')).toBe('medium');
    expect(judge(0.179, 'medium')).toBe('low');
    expect(judge(0.185, 'low')).toBe('low');
  });
});
