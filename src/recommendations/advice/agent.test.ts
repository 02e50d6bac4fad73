import { describe, expect, it } from 'vitest';
import { adviseFor } from './index.js';
import { record } from '../../../test/fixtures/report/painpoints.js';
import { buildRecommendations } from '../build.js';
import { recommendationSchema } from '../schema.js';

// the figures every record of the kind carries; each test states the ones its text reads
const affected = { affected_traces: 1, affected_runs: 1 };
const silent = { wilson_lower: 0.2, wilson_upper: 0.4, wasted_ms: 0, wasted_tokens: 0, ...affected };
const loop = { rule: 'calls' as const, loop_calls: 6, growing: false, run_id: 'r-0', run_token_share: 0.2, run_time_share: 0.2, looping_runs: 1, wasted_ms: 0, wasted_tokens: 0, ...affected };
const budget = { budget_index: 0, calls: 10, ...affected };

const tool = { service: 'svc', operation: 'execute_tool create_ticket', tool: 'create_ticket' };

describe('advice for the agent kinds', () => {
  it('silent_failure from a tool result error: a result-schema check that fails the call', () => {
    const pp = record('silent_failure', tool, 'medium', 'reliability', 't', {
      window: '5m',
      metrics: { ...silent, calls: 40, silent_failures: 12, silent_rate: 0.3, by_signal: { tool_result_error: 12 }, dominant_signal: 'tool_result_error' },
      exemplar_trace_ids: ['a'.repeat(32)],
    });
    const a = adviseFor(pp);
    expect(a.title).toBe('Check create_ticket results against a schema and fail the call when they report an error');
    expect(a.summary).toBe('12 of 40 successful calls of create_ticket in the 5m window did not do their job (30 %): tool_result_error 12.');
    expect(a.steps.join('\n')).toContain('`"ok": false`');
    expect(a.acceptance.map((c) => c.text)).toEqual(['silent-failure rate of create_ticket below 5 % over 15 m']);
  });

  it('agent_loop over max_turns: a turn limit, with the limit it broke', () => {
    const pp = record('agent_loop', { service: 'svc', operation: 'chat', model: 'gpt-4o', agent: 'planner' }, 'high', 'reliability', 't', {
      window: 'run',
      metrics: { ...loop, rule: 'turns', pattern: 'max_turns', repeats: 31, threshold: 26, run_id: 'r-1', wasted_ms: 40_000, wasted_tokens: 90_000 },
      exemplar_trace_ids: [],
    });
    const a = adviseFor(pp);
    expect(a.title).toBe('Cap the model turns of planner and stop runs that exceed them');
    expect(a.summary).toBe('planner took 31 model turns in one invocation (max 25) in run r-1; the turns past the limit cost 40 s, 90000 tokens.');
    expect(a.acceptance.map((c) => c.text)).toEqual(['no agent invocation of planner takes more than 25 model turns over 15 m']);
  });

  it('agent_loop ping-pong: a loop breaker naming the two tools and the exact repeated call', () => {
    const pp = record('agent_loop', { service: 'svc', operation: 'execute_tool read_file', tool: 'read_file' }, 'medium', 'reliability', 't', {
      window: 'run',
      metrics: { ...loop, pattern: 'ping_pong', repeats: 3, threshold: 3, repeated_tool: 'write_file', repeated_args_hash: '0123456789abcdef', tools: 'read_file, write_file' },
      exemplar_trace_ids: [],
    });
    const a = adviseFor(pp);
    expect(a.title).toBe('Add a loop breaker to the agent: it ping-pongs between read_file and write_file with the same arguments');
    expect(a.steps[0]).toContain('`write_file` with arguments hash `0123456789abcdef`');
  });

  it('agent_loop in several runs: the summary names the worst run and counts the others, with the waste of all loops', () => {
    const pp = record('agent_loop', { service: 'svc', operation: 'execute_tool grep', tool: 'grep' }, 'high', 'reliability', 't', {
      window: 'run',
      metrics: { ...loop, pattern: 'repeat', repeats: 9, threshold: 3, repeated_tool: 'grep', repeated_args_hash: 'fedcba9876543210', run_id: 'r-9', looping_runs: 3, wasted_ms: 120_000, wasted_tokens: 50_000 },
      exemplar_trace_ids: [],
    });
    expect(adviseFor(pp).summary).toBe(
      'the agent calls grep again and again with the same arguments: `grep` with arguments hash `fedcba9876543210` was made 9 times with nothing new between in run r-9 (and 2 other runs), found while the run was going; the loops took 2 min, 50000 tokens.',
    );
  });

  it('budget_exceeded in tokens: a cap in the orchestrator, and what was unpriced is not mentioned for token budgets', () => {
    const pp = record('budget_exceeded', { service: 'svc', user: 'u-7' }, 'medium', 'cost', 't', {
      window: '1h',
      metrics: { ...budget, per: 'user', spender: 'u-7', budget_tokens: 2_000_000, spend_tokens: 2_400_000, budget_ratio: 1.2, by_agent: { coder: 2_000_000, planner: 400_000 } },
      exemplar_trace_ids: [],
    });
    const a = adviseFor(pp);
    expect(a.title).toBe('Cap the spend per user in the orchestrator at 2000000 tokens per 1h');
    expect(a.summary).toBe('User u-7 spent 2400000 tokens over 1h (120 % of 2000000 tokens).');
    expect(a.steps[1]).toContain('agent: coder 2000000 tokens, planner 400000 tokens');
  });

  it('makes valid recommendations with kc tasks for each kind', () => {
    const recs = buildRecommendations([
      record('budget_exceeded', { service: 'svc', agent: 'coder' }, 'high', 'cost', 't', {
        window: '15m',
        metrics: { ...budget, per: 'agent', spender: 'coder', budget_usd: 5, spend_usd: 9, budget_ratio: 1.8, unpriced_calls: 4 },
        exemplar_trace_ids: [],
      }),
    ]);
    expect(recs).toHaveLength(1);
    expect(recommendationSchema.safeParse(recs[0]).success).toBe(true);
    expect(recs[0]?.task.title).toBe('Cap the spend per agent in the orchestrator at $5 per 15m');
    expect(recs[0]?.implementation).toContain('4 calls had no known price');
  });
});
