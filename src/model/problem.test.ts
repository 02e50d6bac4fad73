import { describe, expect, it } from 'vitest';
import { memberSchema, problemRecordSchema } from './problem.js';

const budgetRoot = { id: 'pp-0123456789abcdef', kind: 'budget_exceeded', subject: { service: 'svc', operation: 'spend per user', user: 'u-7' }, title: 'User u-7 spent $12 over the last 1h' };

describe('problem record', () => {
  it('takes every subject field a pain point can carry: a per-user budget root, an agent version symptom', () => {
    const record = {
      id: 'pb-0123456789abcdef',
      state: 'open',
      severity: 'high',
      category: 'cost',
      title: 'User u-7 over budget',
      description: '',
      root: budgetRoot,
      symptoms: [{ id: 'pp-fedcba9876543210', kind: 'agent_loop', subject: { service: 'svc', operation: 'execute_tool grep', agent: 'coder', agent_version: '1.4.0' } }],
      contributing: [],
      impact: { score: 3, affected_runs: 2, affected_traces: 2, wasted_ms: 1_000, wasted_tokens: 5_000, wasted_cost_usd: 0.4 },
      first_seen: '2026-11-20T10:00:00.000Z',
      last_seen: '2026-11-20T10:05:00.000Z',
      exemplar_trace_ids: [],
      run_ids: ['r-1'],
      recommendation_ids: [],
    };
    expect(problemRecordSchema.parse(record).root.subject.user).toBe('u-7');
    // a field no pain point has is still refused
    expect(() => memberSchema.parse({ id: 'pp-0123456789abcdef', kind: 'agent_loop', subject: { service: 'svc', run: 'r-1' } })).toThrow();
  });
});
