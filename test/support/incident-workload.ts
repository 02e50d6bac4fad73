/**
 * An agent orchestrator's traffic through an incident, as span trees: agent tasks start every
 * couple of seconds across several runs and agents (planner, coder, reviewer), each a model call,
 * one to three tool calls and a closing model call, with seeded jitter and a little background
 * noise (a tool timing out now and then). Two faults overlap:
 *
 * - a rate-limited tool: while `rateLimited` holds, web_search answers 429 to most first and
 *   second attempts, and the agent retries at once at a fixed 50 ms gap (no backoff), up to three
 *   attempts, each a sibling span carrying `retry.attempt`;
 * - a slow model: while `slowModel` holds, claude-sonnet-4 calls take five times as long.
 *
 * Event time moves forward: tasks start in order and every trace is new; an optional quiet stretch
 * (no task starts) lets a live sidecar's idle watermark move on its own.
 */
import { seeded } from './latency-traces.js';
import type { SpanTree } from './readable-to-record.js';

export interface IncidentWorkloadOptions {
  /** epoch ms of the first task start */
  readonly start: number;
  readonly minutes: number;
  /** [from, to) in minutes from start */
  readonly rateLimited: readonly [number, number];
  readonly slowModel: readonly [number, number];
  /** how many times slower the slow model is (default 5) */
  readonly slowFactor?: number;
  /** no task starts in [from, to) minutes: the orchestrator pauses */
  readonly quiet?: readonly [number, number];
  readonly seed?: number;
}

const AGENTS = [
  { name: 'planner', model: 'gpt-4o', provider: 'openai' },
  { name: 'coder', model: 'claude-sonnet-4', provider: 'anthropic' },
  { name: 'reviewer', model: 'claude-sonnet-4', provider: 'anthropic' },
] as const;
const TOOLS = ['web_search', 'read_file', 'run_tests', 'grep'] as const;
const RUNS = 6;

export function incidentWorkload(o: IncidentWorkloadOptions): SpanTree[] {
  const rnd = seeded(o.seed ?? 17);
  const between = (lo: number, hi: number) => lo + rnd() * (hi - lo);
  const during = (range: readonly [number, number], at: number) => at >= o.start + range[0] * 60_000 && at < o.start + range[1] * 60_000;
  const trees: SpanTree[] = [];
  for (let start = o.start, task = 0; start < o.start + o.minutes * 60_000; start += Math.round(between(1_500, 3_000)), task++) {
    if (o.quiet && during(o.quiet, start)) continue;
    const agent = AGENTS[task % AGENTS.length] as (typeof AGENTS)[number];
    const slow = agent.model === 'claude-sonnet-4' && during(o.slowModel, start);
    let t = start + 3;
    const children: SpanTree[] = [];
    const chat = () => {
      const d = Math.round(between(600, 900) * (slow ? (o.slowFactor ?? 5) : 1));
      children.push({
        name: `chat ${agent.model}`,
        start: t,
        end: t + d,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': agent.model,
          'gen_ai.provider.name': agent.provider,
          'gen_ai.usage.input_tokens': Math.round(between(1_500, 2_500)),
          'gen_ai.usage.output_tokens': Math.round(between(150, 300)),
        },
      });
      t += d + 4;
    };
    const tool = (name: string) => {
      const limited = name === 'web_search' && during(o.rateLimited, t);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const rejected = limited && attempt < 3 && rnd() < 0.75;
        // background noise: a tool call times out now and then, outside any incident
        const timedOut = !rejected && rnd() < 0.02;
        const d = Math.round(rejected ? between(20, 40) : timedOut ? between(2_000, 2_500) : between(150, 450));
        children.push({
          name: `execute_tool ${name}`,
          start: t,
          end: t + d,
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': name,
            ...(limited ? { 'retry.attempt': attempt } : {}),
            ...(rejected ? { 'http.response.status_code': 429, 'error.type': '429' } : {}),
            ...(timedOut ? { 'error.type': 'timeout' } : {}),
          },
          ...(rejected ? { error: 'rate limit exceeded: 429 Too Many Requests' } : timedOut ? { error: 'tool call timed out' } : {}),
        });
        // retried at once: a fixed 50 ms gap, no backoff
        t += d + (rejected ? 50 : 4);
        if (!rejected) break;
      }
    };
    chat();
    const calls = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < calls; i++) tool(TOOLS[(task + i) % TOOLS.length] as string);
    chat();
    trees.push({
      name: `invoke_agent ${agent.name}`,
      start,
      end: t + 2,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent.name, 'kc.run.id': `run-${task % RUNS}` },
      children,
    });
  }
  return trees;
}
