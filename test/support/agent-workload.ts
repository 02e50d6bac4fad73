/**
 * A kc-orchestrator-shaped workload as span trees: each agent task (a trace) makes an LLM call,
 * calls web_search and read_file, and makes a second LLM call. web_search fails in a chosen
 * share of tasks; every duration has a little seeded jitter, so no operation dominates the
 * critical path and nothing but the chosen failures stands out.
 */
import type { SpanTree } from './readable-to-record.js';

export interface WorkloadOptions {
  readonly start: number;
  readonly tasks: number;
  /** ms between task starts */
  readonly every: number;
  /** web_search fails in task i when i % 5 < failEveryFive (2 → exactly 40 %) */
  readonly failEveryFive: number;
  readonly runs?: number;
}

export function agentWorkload(o: WorkloadOptions): SpanTree[] {
  let seed = 7;
  const jitter = (base: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return base + Math.floor((seed / 2 ** 31) * base * 0.2);
  };
  const trees: SpanTree[] = [];
  for (let i = 0; i < o.tasks; i++) {
    const start = o.start + i * o.every;
    let t = start + 2;
    const step = (name: string, attributes: Record<string, string | number>, error?: string, base = 300): SpanTree => {
      const d = jitter(base);
      const node: SpanTree = { name, start: t, end: t + d, attributes, ...(error ? { error } : {}) };
      t += d + 2;
      return node;
    };
    const chat = () =>
      step(
        'chat gpt-4o',
        { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 },
        undefined,
        150, // two calls of 150 ms: a third of the task, like each tool
      );
    const failing = i % 5 < o.failEveryFive;
    const children = [
      chat(),
      step(
        'execute_tool web_search',
        { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', ...(failing ? { 'error.type': 'http_503' } : {}) },
        failing ? 'upstream search returned 503' : undefined,
      ),
      step('execute_tool read_file', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'read_file' }),
      chat(),
    ];
    trees.push({
      name: 'invoke_agent coder',
      start,
      end: t + 1,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `run-${i % (o.runs ?? 4)}` },
      children,
    });
  }
  return trees;
}
