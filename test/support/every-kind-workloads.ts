/**
 * Agent workloads that, between them, make every pain-point kind fire with the default config: each
 * is background traffic with a little seeded jitter plus one or two faults, recorded with the real
 * OpenTelemetry JS SDK. The evidence-schema test runs every detector over them and checks each
 * emitted pain point's metrics against its kind's schema.
 */
import type { SpanRecord } from '../../src/model/span.js';
import { agentWorkload } from './agent-workload.js';
import { recordTraces, type SpanTree } from './readable-to-record.js';

type Attributes = Readonly<Record<string, string | number | boolean>>;

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const MIN = 60_000;

/** A seeded generator in [0, 1): fixtures never depend on Math.random. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const chatAttributes = (model = 'gpt-4o', input = 1_000, output = 200): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': model,
  'gen_ai.provider.name': 'openai',
  'gen_ai.usage.input_tokens': input,
  'gen_ai.usage.output_tokens': output,
});
const toolAttributes = (tool: string, extra: Attributes = {}): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, ...extra });
const agentAttributes = (agent: string, run: string): Attributes => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent, 'kc.run.id': run });

/** Children laid one after another from `start` with `gap` ms between them; the parent spans them. */
function sequence(name: string, attributes: Attributes, start: number, steps: readonly ((t: number) => SpanTree)[], gap = 5): SpanTree {
  let t = start + 2;
  const children = steps.map((step) => {
    const child = step(t);
    t = child.end + gap;
    return child;
  });
  return { name, start, end: t + 2, attributes, children };
}

const call = (name: string, attributes: Attributes, ms: number, error?: string) => (t: number): SpanTree => ({
  name,
  start: t,
  end: t + ms,
  attributes,
  ...(error !== undefined ? { error } : {}),
});

/** web_search fails in 60 % of tasks from minute 4: failure_rate and failure_spike. */
export function failingToolWorkload(): SpanRecord[] {
  const healthy = agentWorkload({ start: T0, tasks: 160, every: 1_500, failEveryFive: 0 });
  const failing = agentWorkload({ start: T0 + 240_000, tasks: 200, every: 1_500, failEveryFive: 3 });
  return recordTraces([...healthy, ...failing]);
}

/** One database outage seen by three tools with the same message: error_cluster. */
export function sharedErrorWorkload(): SpanRecord[] {
  const rnd = seeded(11);
  const trees: SpanTree[] = [];
  for (let i = 0; i < 240; i++) {
    const outage = i >= 120 && rnd() < 0.5;
    const message = 'connect ECONNREFUSED 10.0.0.7:5432';
    const tool = (name: string) => call(`execute_tool ${name}`, toolAttributes(name, outage ? { 'error.type': 'ECONNREFUSED' } : {}), 80 + Math.floor(rnd() * 40), outage ? message : undefined);
    trees.push(
      sequence('invoke_agent coder', agentAttributes('coder', `run-${i % 4}`), T0 + i * 2_000, [
        call('chat gpt-4o', chatAttributes(), 300 + Math.floor(rnd() * 60)),
        tool('query_orders'),
        tool('query_users'),
        tool('query_stock'),
        call('chat gpt-4o', chatAttributes(), 300 + Math.floor(rnd() * 60)),
      ]),
    );
  }
  return recordTraces(trees);
}

interface Attempt {
  /** wait after the previous attempt ended */
  readonly gap: number;
  readonly ms: number;
  readonly error?: string;
  readonly status?: number;
}

/** One chain of attempts at a tool as structural retries: sibling spans, each after the previous failed. */
function chain(tool: string, start: number, attempts: readonly Attempt[]): SpanTree[] {
  let t = start;
  return attempts.map((a) => {
    t += a.gap;
    const span: SpanTree = {
      name: `execute_tool ${tool}`,
      start: t,
      end: t + a.ms,
      attributes: toolAttributes(tool, a.status !== undefined ? { 'http.response.status_code': a.status } : {}),
      ...(a.error !== undefined ? { error: a.error } : a.status !== undefined && a.status >= 400 ? { error: `HTTP ${a.status}` } : {}),
    };
    t += a.ms;
    return span;
  });
}

function chainTask(agent: string, start: number, tool: string, attempts: readonly Attempt[], run = 'run-1'): SpanTree {
  const children = chain(tool, start + 300, attempts);
  const end = (children.at(-1)?.end ?? start) + 300;
  return { name: `invoke_agent ${agent}`, start, end, attributes: agentAttributes(agent, run), children: [call('chat gpt-4o', chatAttributes(), 250)(start + 20), ...children] };
}

const fail = (gap: number, ms = 200, error = 'ECONNRESET'): Attempt => ({ gap, ms, error });
const ok = (gap: number, ms = 200): Attempt => ({ gap, ms });

/**
 * Four retry faults on four tools: fixed 1 s retry gaps (retry_no_backoff), chains failing on every
 * attempt (retry_exhaustion), retries after 400s (retry_non_retryable), and a quiet tool whose
 * retries surge (retry_storm by rate); plus tasks whose nested retries multiply (retry_storm by
 * amplification).
 */
export function retryWorkload(): SpanRecord[] {
  const rnd = seeded(23);
  const trees: SpanTree[] = [];
  for (let i = 0; i < 12; i++) trees.push(chainTask('fetcher', T0 + i * 6_000, 'fetch_url', [fail(0), fail(1_000), fail(1_000), ok(1_000)]));
  for (let i = 0; i < 24; i++) {
    const exhausted = i % 2 === 0;
    trees.push(chainTask('releaser', T0 + 1_000 + i * 5_000, 'git_push', exhausted ? [fail(0), fail(400 + i * 10), fail(900 + i * 20)] : [fail(0), ok(500 + i * 10)]));
  }
  for (let i = 0; i < 14; i++) trees.push(chainTask('triager', T0 + 2_000 + i * 5_000, 'create_issue', [{ gap: 0, ms: 150, status: 400 }, { gap: 300 + i * 37, ms: 150, status: 201 }]));
  // ten quiet minutes of deploy calls, then a minute of retries
  for (let i = 0; i < 60; i++) trees.push(chainTask('deployer', T0 + i * 10_000, 'deploy', [ok(0, 300 + Math.floor(rnd() * 50))]));
  for (let i = 0; i < 25; i++) trees.push(chainTask('deployer', T0 + 600_000 + i * 2_000, 'deploy', [fail(0), fail(300 * (1 + (i % 4))), ok(900)]));
  // nested: each of 3 task attempts retries web_search 3 times
  for (let i = 0; i < 6; i++) {
    const start = T0 + 700_000 + i * 30_000;
    trees.push({
      name: 'kc.task',
      start,
      end: start + 20_000,
      attributes: { 'kc.task.type': 'Refactor', 'kc.run.id': 'run-2' },
      children: [0, 1, 2].map((n) => {
        const base = start + n * 6_000;
        return {
          name: 'kc.task.attempt',
          start: base,
          end: base + 5_000,
          ...(n < 2 ? { error: 'tool failed' } : {}),
          attributes: { 'kc.task.attempt': n + 1, 'kc.task.type': 'Refactor' },
          children: chain('web_search', base + 10, [fail(0), fail(1_000), n < 2 ? fail(2_000) : ok(2_000)]),
        };
      }),
    });
  }
  return recordTraces(trees);
}

/**
 * An agent whose run_tests tool holds most of each trace (latency_bottleneck), whose read_file has
 * a slow tail (slow_tail), and whose model becomes 6× slower from minute 10 (latency_regression).
 */
export function latencyWorkload(): SpanRecord[] {
  const rnd = seeded(31);
  const trees: SpanTree[] = [];
  for (let i = 0; i < 600; i++) {
    const start = T0 + i * 1_500;
    const slowModel = start >= T0 + 10 * MIN;
    const chatMs = () => Math.round((slowModel ? 6 : 1) * (200 + rnd() * 40));
    const readMs = () => (rnd() < 0.03 ? 900 + Math.floor(rnd() * 300) : 15 + Math.floor(rnd() * 10));
    const steps = [call('chat gpt-4o', chatAttributes(), chatMs()), call('execute_tool read_file', toolAttributes('read_file'), readMs())];
    if (i % 3 === 0) steps.push(call('execute_tool run_tests', toolAttributes('run_tests'), 4_000 + Math.floor(rnd() * 400)));
    steps.push(call('chat gpt-4o', chatAttributes(), chatMs()));
    trees.push(sequence('invoke_agent tester', agentAttributes('tester', `run-${i % 5}`), start, steps));
  }
  return recordTraces(trees);
}

/** get_ticket called 12 times one by one under a planner (repeated_calls) and three independent lookups run one after another (sequential_fanout). */
export function structureWorkload(): SpanRecord[] {
  const rnd = seeded(43);
  const trees: SpanTree[] = [];
  for (let i = 0; i < 40; i++) {
    const tickets = Array.from({ length: 12 }, () => call('execute_tool get_ticket', toolAttributes('get_ticket'), 90 + Math.floor(rnd() * 20)));
    trees.push(
      sequence('invoke_agent planner', agentAttributes('planner', `run-${i % 3}`), T0 + i * 15_000, [
        call('chat gpt-4o', chatAttributes(), 400),
        ...tickets,
        call('chat gpt-4o', chatAttributes(), 400),
        call('execute_tool search_docs', toolAttributes('search_docs'), 900 + Math.floor(rnd() * 100)),
        call('execute_tool search_code', toolAttributes('search_code'), 900 + Math.floor(rnd() * 100)),
        call('execute_tool search_issues', toolAttributes('search_issues'), 900 + Math.floor(rnd() * 100)),
        call('chat gpt-4o', chatAttributes(), 400),
      ]),
    );
  }
  return recordTraces(trees);
}

/**
 * Steady model traffic for 30 minutes: gpt-4o's prompts grow 10× for minutes 20–23 (a token
 * anomaly) and claude's calls per minute jump 5× for minutes 24–27 (a call-rate anomaly).
 */
export function anomalyWorkload(): SpanRecord[] {
  const trees: SpanTree[] = [];
  const noisy = (base: number, m: number, i: number) => Math.round(base * (1 + 0.02 * Math.sin(m * 7 + i * 3)));
  for (let m = 0; m < 30; m++) {
    for (let i = 0; i < 24; i++) {
      const input = (m >= 20 && m < 23 ? 10 : 1) * noisy(1_000, m, i);
      const start = T0 + m * MIN + Math.floor((i * MIN) / 24);
      trees.push(sequence('invoke_agent writer', agentAttributes('writer', 'run-1'), start, [call('chat gpt-4o', chatAttributes('gpt-4o', input, 100), 300)]));
    }
    const calls = m >= 24 && m < 28 ? 120 : 24 + (m % 3);
    for (let i = 0; i < calls; i++) {
      const start = T0 + m * MIN + Math.floor((i * MIN) / calls) + 7;
      trees.push(sequence('invoke_agent reviewer', agentAttributes('reviewer', 'run-1'), start, [call('chat claude-sonnet', { ...chatAttributes('claude-sonnet', 800, 100), 'gen_ai.provider.name': 'anthropic' }, 200)]));
    }
  }
  return recordTraces(trees);
}

/** Every workload above, by name. */
export const EVERY_KIND_WORKLOADS: Readonly<Record<string, () => SpanRecord[]>> = {
  failing_tool: failingToolWorkload,
  shared_error: sharedErrorWorkload,
  retries: retryWorkload,
  latency: latencyWorkload,
  structure: structureWorkload,
  anomalies: anomalyWorkload,
};
