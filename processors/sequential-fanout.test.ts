import { describe, expect, it } from 'vitest';
import type { Observation } from '../src/model/painpoint.js';
import type { Trace } from '../src/model/trace.js';
import { testContext } from '../test/support/detector-harness.js';
import { buildTrace, runOnTraces, type NodeSpec } from '../test/support/latency-traces.js';
import { pipe } from 'rxjs';
import type { SpanRecord } from '../src/model/span.js';
import { traceAssembler, traceAssemblerSchema } from '../src/traces/trace-assembler.js';
import { runOnSpans } from '../test/support/detector-harness.js';
import { traceNodes } from './latency-trace-windows.js';
import { findSequences, judgeSequentialFanout, sequentialFanoutConfigSchema, sequentialFanoutOperator } from './sequential-fanout.js';

const T0 = 1_800_000_000_000;
const config = sequentialFanoutConfigSchema.parse({});

const tool = (name: string, start: number, end: number): NodeSpec => ({ name: 'execute_tool', tool: name, operationName: 'execute_tool', start, end });
const chat = (start: number, end: number): NodeSpec => ({ name: 'chat', model: 'gpt-x', operationName: 'chat', start, end });

function agent(children: NodeSpec[], end = 6_000): NodeSpec {
  return { name: 'invoke_agent', agent: 'researcher', start: 0, end, children };
}

/** chat, then three tools one by one (1 s, 1.5 s, 0.5 s, gaps 20 ms), then chat: 6 s parent */
const fanout = () => agent([chat(0, 1_000), tool('web_search', 1_010, 2_010), tool('fetch_page', 2_030, 3_530), tool('read_file', 3_550, 4_050), chat(4_060, 6_000)]);

function traces(count: number, spec: () => NodeSpec): Trace[] {
  return Array.from({ length: count }, (_, i) => buildTrace(spec(), T0 + i * 5_000));
}

async function run(input: Trace[], mode: 'live' | 'offline' = 'live'): Promise<Observation[]> {
  return runOnTraces(input, sequentialFanoutOperator(config, testContext(mode)));
}

describe('sequential fan-out in one trace', () => {
  it('finds three tool calls run one by one between two model calls', () => {
    const found = findSequences(buildTrace(fanout(), T0), config);
    expect(found).toHaveLength(1);
    expect(found[0]?.calls.map((c) => c.tool)).toEqual(['web_search', 'fetch_page', 'read_file']);
    expect(found[0]?.sumMs).toBe(3_000);
    expect(found[0]?.savingMs).toBe(1_500);
    expect(found[0]?.share).toBe(0.25);
  });

  it('does not count tools run in parallel', () => {
    const parallel = agent([chat(0, 1_000), tool('web_search', 1_010, 2_010), tool('fetch_page', 1_010, 2_510), tool('read_file', 1_020, 1_520), chat(2_520, 4_000)]);
    expect(findSequences(buildTrace(parallel, T0), config)).toEqual([]);
  });

  it('does not count tools separated by model calls (each depends on the answer)', () => {
    const loop = agent([tool('a', 0, 1_000), chat(1_010, 1_500), tool('b', 1_510, 2_500), chat(2_510, 3_000), tool('c', 3_010, 4_000)]);
    expect(findSequences(buildTrace(loop, T0), config)).toEqual([]);
  });

  it('does not count calls with gaps over 100 ms', () => {
    const gappy = agent([tool('a', 0, 1_000), tool('b', 1_200, 2_200), tool('c', 2_400, 3_400)]);
    expect(findSequences(buildTrace(gappy, T0), config)).toEqual([]);
  });

  it('does not count short sequences under 2 s in all', () => {
    const quick = agent([tool('a', 0, 500), tool('b', 510, 1_000), tool('c', 1_010, 1_500)]);
    expect(findSequences(buildTrace(quick, T0), config)).toEqual([]);
  });

  it('leaves a loop of ≥ 10 calls of one tool to repeated_calls, but counts three of one tool', () => {
    const loop = agent(Array.from({ length: 12 }, (_, i) => tool('get_doc', i * 210, i * 210 + 200)), 3_000);
    expect(findSequences(buildTrace(loop, T0), config)).toEqual([]);
    expect(findSequences(buildTrace(loop, T0), { ...config, repeated_min_calls: 0 })).toHaveLength(1);
    const sameTool = agent([tool('web_search', 0, 1_000), tool('web_search', 1_010, 2_010), tool('web_search', 2_020, 3_020)]);
    expect(findSequences(buildTrace(sameTool, T0), config)).toHaveLength(1);
  });

  it('does not count two calls', () => {
    expect(findSequences(buildTrace(agent([tool('a', 0, 1_500), tool('b', 1_510, 3_000)]), T0), config)).toEqual([]);
  });
});

describe('sequential_fanout', () => {
  it('fires medium once the pattern recurs in 3 traces, with the saving', async () => {
    const found = await run(traces(3, fanout));
    expect(found.length).toBeGreaterThan(0);
    const o = found[0] as Observation;
    expect(o.kind).toBe('sequential_fanout');
    expect(o.subject).toEqual({ service: 'kc-orchestrator', operation: 'invoke_agent', agent: 'researcher' });
    expect(o.severity).toBe('medium');
    expect(o.evidence.metrics).toMatchObject({ sequence_length: 3, traces: 3, saving_ms: 1_500, wasted_ms: 4_500, share: 0.25 });
    expect(o.evidence.metrics.tools).toEqual({ web_search: 3, fetch_page: 3, read_file: 3 });
    expect(o.title).toBe('researcher runs 3 tool calls one after another; in parallel they would save 1.5 s');
  });

  it('rates it low when the saving is under 20 % of the parent', async () => {
    const found = await run(traces(3, () => ({ ...fanout(), end: 20_000 })));
    expect(found[0]?.severity).toBe('low');
  });

  it('needs recurrence live, and reports one recorded trace offline', async () => {
    expect(await run(traces(1, fanout))).toEqual([]);
    const offline = await run(traces(1, fanout), 'offline');
    expect(offline).toHaveLength(1);
    expect(offline[0]?.evidence.window).toBe('all');
  });
});

describe('sequential_fanout severity by impact', () => {
  /** three tools one by one (durations given, gaps 10 ms) in a parent of `parentMs` */
  const sequence = (durations: readonly number[], parentMs: number) => () => {
    let t = 0;
    const tools = durations.map((d, i) => {
      const node = tool(`t${i}`, t, t + d);
      t += d + 10;
      return node;
    });
    return agent(tools, parentMs);
  };
  /** the parent calling one tool between two chats: it ran tools without a sequence */
  const plain = () => agent([chat(0, 1_000), tool('web_search', 1_010, 2_000), chat(2_010, 3_000)], 3_000);
  const last = (found: Observation[]) => found[found.length - 1] as Observation;

  it('is medium from a saving of 1 s per occurrence (with ≥ 20 % of the parent), low just below', async () => {
    // 1.2 s + 0.75 s + 0.25 s: saving 1 s, 25 % of a 4 s parent
    const at = last(await run(traces(3, sequence([1_200, 750, 250], 4_000))));
    expect(at.evidence.metrics).toMatchObject({ saving_ms: 1_000, share: 0.25 });
    expect(at.severity).toBe('medium');
    expect(at.description).toContain('3 of the 3 traces researcher ran tool calls in (100 %)');
    expect(at.description).toContain('would save about 1 s, 25 % of the parent');
    // 1.2 s + 0.7 s + 0.25 s: saving 950 ms
    const below = last(await run(traces(3, sequence([1_200, 700, 250], 4_000))));
    expect(below.evidence.metrics.saving_ms).toBe(950);
    expect(below.severity).toBe('low');
  });

  it('is low when the sequences save 125 ms each, however often they occur', async () => {
    const small = last(await run(traces(30, sequence([1_875, 62, 63], 2_500))));
    expect(small.evidence.metrics.saving_ms).toBe(125);
    expect(small.severity).toBe('low');
  });

  it('is medium only when the pattern shows in ≥ 10 % of the traces the parent ran tools in', async () => {
    const mixed = (withPattern: number, total: number) =>
      Array.from({ length: total }, (_, i) => buildTrace(i % Math.floor(total / withPattern) === 0 && i / Math.floor(total / withPattern) < withPattern ? fanout() : plain(), T0 + i * 1_000));
    // 4 of 40 traces (10 %) within one minute
    const at = last(await run(mixed(4, 40)));
    expect(at.evidence.metrics).toMatchObject({ traces: 4, parent_traces: 40, trace_share: 0.1 });
    expect(at.severity).toBe('medium');
    // 3 of 40 (7.5 %)
    const below = last(await run(mixed(3, 40)));
    expect(below.evidence.metrics).toMatchObject({ traces: 3, parent_traces: 40, trace_share: 0.075 });
    expect(below.severity).toBe('low');
  });

  it('holds medium within the band of each threshold, then drops to low', () => {
    const acc = (savingMs: number, share: number, traces: number, parentTraces: number) => ({
      traces,
      parentTraces,
      occurrences: traces,
      calls: 3 * traces,
      longest: 3,
      shareSum: share * traces,
      sumMs: 3_000 * traces,
      savingMs: savingMs * traces,
      labels: new Map([['web_search', traces]]),
      top: [],
    });
    const judge = (a: ReturnType<typeof acc>, was?: 'medium' | 'low') => judgeSequentialFanout(config, { service: 's', operation: 'invoke_agent', agent: 'a' }, '5m', a, T0, { was, band: 0.1 })?.severity;
    expect(judge(acc(950, 0.3, 10, 20))).toBe('low');
    expect(judge(acc(950, 0.3, 10, 20), 'medium')).toBe('medium');
    expect(judge(acc(890, 0.3, 10, 20), 'medium')).toBe('low');
    expect(judge(acc(1_500, 0.19, 10, 20), 'medium')).toBe('medium');
    expect(judge(acc(1_500, 0.17, 10, 20), 'medium')).toBe('low');
    expect(judge(acc(1_500, 0.3, 19, 200), 'medium')).toBe('medium');
    expect(judge(acc(1_500, 0.3, 17, 200), 'medium')).toBe('low');
    expect(judge(acc(1_500, 0.3, 17, 200), 'low')).toBe('low');
  });
});

describe('sequential_fanout behind the trace assembler', () => {
  it('finds the pattern in spans assembled into traces, as the pipeline runs it', async () => {
    const spans: SpanRecord[] = traces(4, fanout).flatMap((t) => [...traceNodes(t)].map((n) => n.span));
    const ctx = testContext('live');
    const found = await runOnSpans(spans, pipe(traceAssembler(traceAssemblerSchema.parse({}), ctx), sequentialFanoutOperator(config, ctx)));
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.evidence.metrics).toMatchObject({ sequence_length: 3, saving_ms: 1_500 });
    expect(found[0]?.evidence.metrics.traces).toBeGreaterThanOrEqual(3);
  });
});
