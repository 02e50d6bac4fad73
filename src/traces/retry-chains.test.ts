import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../model/span.js';
import type { Trace } from '../model/trace.js';
import { recordTraces, type SpanTree } from '../../test/support/readable-to-record.js';
import { buildTrace } from './trace-assembler.js';
import { findRetryChains, gapCv, gapRatios, type RetryChain } from './retry-chains.js';
import { fallbackTasks } from './provider-fallbacks.js';

const T0 = 1_700_000_000_000;

function traceFrom(tree: SpanTree): Trace {
  const records: SpanRecord[] = recordTraces([tree]);
  return buildTrace((records[0] as SpanRecord).traceId, records);
}

const tool = (name: string, start: number, end: number, extra: Partial<SpanTree> = {}): SpanTree => ({
  name: 'execute_tool',
  start: T0 + start,
  end: T0 + end,
  ...extra,
  attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, ...(extra.attributes ?? {}) },
});

const root = (children: SpanTree[], end = 100_000): SpanTree => ({ name: 'invoke_agent', start: T0, end: T0 + end, children });
const shapeOf = (c: RetryChain) => ({ key: c.operationKey, attempts: c.attempts, outcome: c.outcome, source: c.source, gaps: c.gapsMs });

describe('findRetryChains', () => {
  it('finds structural retries without any attempt attribute: the next same-key sibling after a failure', () => {
    const trace = traceFrom(
      root([
        tool('web_search', 0, 1_000, { error: 'HTTP 503 from upstream', attributes: { 'http.response.status_code': 503 } }),
        tool('read_file', 1_100, 1_200),
        tool('web_search', 2_000, 2_500, { error: 'timeout' }),
        tool('web_search', 4_500, 5_000),
      ]),
    );
    const chains = findRetryChains(trace);
    expect(chains.map(shapeOf)).toEqual([
      { key: 'kc-orchestrator execute_tool web_search', attempts: 3, outcome: 'succeeded', source: 'structural', gaps: [1_000, 2_000] },
    ]);
    const [c] = chains as [RetryChain];
    expect(c.spans.map((a) => a.errorClass)).toEqual(['http_503', 'timeout', undefined]);
    expect(c.spans.map((a) => a.httpStatus)).toEqual([503, undefined, undefined]);
    expect(c.wastedMs).toBe(1_500);
    expect(c.nonRetryableRetries).toBe(0);
    expect(c.parentSpanId).toBe(trace.root.span.spanId);
  });

  it('takes no call after a model call of another operation for a retry: a fallback answered the turn, the next call is a new turn', () => {
    const chat = (model: string, start: number, end: number, error?: string): SpanTree => ({
      name: `chat ${model}`,
      start: T0 + start,
      end: T0 + end,
      ...(error !== undefined ? { error } : {}),
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, ...(error !== undefined ? { 'error.type': 'overloaded_error' } : {}) },
    });
    // the agent's model is overloaded on every turn; each time the turn falls back to another model
    // and runs the tools that one asked for, ~1.7 s apart: regular gaps, but no retries
    const trace = traceFrom(
      root([
        chat('claude-haiku-4', 0, 400, 'Overloaded'),
        chat('gpt-4o', 420, 2_000),
        tool('read_file', 2_010, 2_030),
        chat('claude-haiku-4', 2_040, 2_400, 'Overloaded'),
        chat('gpt-4o', 2_420, 4_100),
        chat('claude-haiku-4', 4_110, 4_500, 'Overloaded'),
        // re-issued at once, nothing between: a retry
        chat('claude-haiku-4', 4_510, 4_900, 'Overloaded'),
        chat('gpt-4o', 4_920, 6_500),
      ]),
    );
    expect(findRetryChains(trace).map(shapeOf)).toEqual([{ key: 'kc-orchestrator chat claude-haiku-4 claude-haiku-4', attempts: 2, outcome: 'exhausted', source: 'structural', gaps: [10] }]);
  });

  it('ends a chain at a successful sibling: a later failure starts over', () => {
    const trace = traceFrom(
      root([
        tool('web_search', 0, 100, { error: 'boom' }),
        tool('web_search', 200, 300),
        tool('web_search', 400, 500, { error: 'boom' }),
        tool('web_search', 600, 700, { error: 'boom' }),
      ]),
    );
    const chains = findRetryChains(trace);
    expect(chains.map((c) => [c.attempts, c.outcome, c.startMs - T0])).toEqual([
      [2, 'succeeded', 0],
      [2, 'exhausted', 400],
    ]);
  });

  it('does not take an overlapping call (run in parallel) for a retry, nor a single failure for a chain', () => {
    const trace = traceFrom(root([tool('web_search', 0, 1_000, { error: 'boom' }), tool('web_search', 500, 1_500), tool('fetch', 2_000, 2_100, { error: 'x' })]));
    expect(findRetryChains(trace)).toEqual([]);
  });

  it('follows explicit attempt numbers, with an unnumbered first try and resend_count + 1', () => {
    const http = (start: number, end: number, resend: number | undefined, status: number) => ({
      name: 'POST',
      start: T0 + start,
      end: T0 + end,
      error: status >= 400 ? `HTTP ${status}` : undefined,
      attributes: { 'http.response.status_code': status, ...(resend === undefined ? {} : { 'http.request.resend_count': resend }) },
    });
    const trace = traceFrom(root([http(0, 100, undefined, 429), http(150, 250, 1, 429), http(400, 500, 2, 200), http(600, 700, undefined, 200)]));
    const chains = findRetryChains(trace);
    expect(chains.map(shapeOf)).toEqual([{ key: 'kc-orchestrator POST', attempts: 3, outcome: 'succeeded', source: 'explicit', gaps: [50, 150] }]);
    expect(chains[0]?.spans.map((a) => a.attempt)).toEqual([1, 2, 3]);
    // 429 clears with time: not a retry after a non-retryable error
    expect(chains[0]?.nonRetryableRetries).toBe(0);
  });

  it('counts retries after a 400 or an authentication error as non-retryable', () => {
    const trace = traceFrom(
      root([
        tool('web_search', 0, 100, { error: 'bad', attributes: { 'http.response.status_code': 400 } }),
        tool('web_search', 200, 300, { error: 'denied', attributes: { 'error.type': 'authentication' } }),
        tool('web_search', 400, 500, { error: 'denied', attributes: { 'error.type': 'authentication' } }),
      ]),
    );
    expect(findRetryChains(trace)[0]?.nonRetryableRetries).toBe(2);
  });

  it('counts a retry after an authentication error on the same provider, not the fallback to another provider after it', () => {
    // kc: two attempts on claude fail with 401 (the second a retry in vain), the third falls back to
    // codex and succeeds; a rate-limited attempt retried on claude beside it is retryable anyway
    const attempt = (task: string, n: number, provider: string, error?: { message: string; type: string }): SpanTree => ({
      name: 'kc.task.attempt',
      start: T0 + (n - 1) * 3_000,
      end: T0 + n * 3_000,
      error: error?.message,
      attributes: { 'kc.task.id': task, 'kc.task.attempt': n, 'sidelight.synthetic': true, 'gen_ai.provider.name': provider, ...(error ? { 'error.type': error.type } : {}) },
    });
    const auth = { message: '401 Unauthorized: invalid x-api-key', type: 'authentication' };
    const task = (id: string, children: SpanTree[]): SpanTree => ({ name: 'kc.task', start: T0, end: T0 + 9_000, attributes: { 'kc.task.id': id }, children });
    const trace = traceFrom(
      root([
        task('t1', [attempt('t1', 1, 'claude', auth), attempt('t1', 2, 'Claude', auth), attempt('t1', 3, 'codex')]),
        task('t2', [attempt('t2', 1, 'claude', auth), attempt('t2', 2, 'gemini')]),
        task('t3', [attempt('t3', 1, 'claude', { message: '429 Too Many Requests', type: 'rate_limit' }), attempt('t3', 2, 'claude')]),
      ]),
    );
    const byTask = new Map(findRetryChains(trace).map((c) => [c.spans[0]?.span.taskId, c]));
    // claude → Claude is one provider spelled two ways: a retry in vain; Claude → codex is a fallback
    expect(byTask.get('t1')?.nonRetryableRetries).toBe(1);
    expect(byTask.get('t2')?.nonRetryableRetries).toBe(0);
    expect(byTask.get('t3')?.nonRetryableRetries).toBe(0);
  });

  it('links nested chains: a task tried 3 times whose tool is retried 3 times each time amplifies ×9', () => {
    const attempt = (n: number, base: number): SpanTree => ({
      name: 'kc.task.attempt',
      start: T0 + base,
      end: T0 + base + 3_000,
      error: n < 3 ? 'tool kept failing' : undefined,
      attributes: { 'kc.task.attempt': n, 'kc.task.type': 'Refactor' },
      children: [
        tool('web_search', base + 100, base + 500, { error: 'ECONNRESET' }),
        tool('web_search', base + 1_000, base + 1_400, { error: 'ECONNRESET' }),
        tool('web_search', base + 2_000, base + 2_400, n < 3 ? { error: 'ECONNRESET' } : {}),
      ],
    });
    const trace = traceFrom(
      root([{ name: 'kc.task', start: T0, end: T0 + 20_000, attributes: { 'kc.task.type': 'Refactor', 'kc.task.retry_count': 2 }, children: [attempt(1, 0), attempt(2, 4_000), attempt(3, 8_000)] }]),
    );
    const chains = findRetryChains(trace);
    const task = chains.find((c) => c.operationKey.includes('kc.task.attempt')) as RetryChain;
    const tools = chains.filter((c) => c.operationKey.includes('web_search'));
    expect(task.attempts).toBe(3);
    expect(task.outcome).toBe('succeeded');
    expect(task.nested).toHaveLength(3);
    expect(task.amplification).toBe(9);
    expect(tools.map((c) => [c.attempts, c.outer === task, c.amplification])).toEqual([
      [3, true, 3],
      [3, true, 3],
      [3, true, 3],
    ]);
    expect(tools.map((c) => c.outcome)).toEqual(['exhausted', 'exhausted', 'succeeded']);
  });

  it('reads kc synthetic attempts and the task retry count, without gap statistics for apportioned times', () => {
    const trace = traceFrom(
      root([
        {
          name: 'kc.task',
          start: T0,
          end: T0 + 9_000,
          attributes: { 'kc.task.id': 't1', 'kc.task.retry_count': 3, 'gen_ai.provider.name': 'codex' },
          events: [{ name: 'provider_fallback', time: T0 + 6_000, attributes: { from: 'claude', to: 'codex', reason: 'rate limit exceeded' } }],
          children: [1, 2, 3].map((n) => ({
            name: 'kc.task.attempt',
            start: T0 + (n - 1) * 3_000,
            end: T0 + n * 3_000,
            error: n < 3 ? 'rate limit exceeded' : undefined,
            attributes: { 'kc.task.id': 't1', 'kc.task.attempt': n, 'sidelight.synthetic': true, 'gen_ai.provider.name': n < 3 ? 'claude' : 'codex', ...(n < 3 ? { 'error.type': 'rate_limit' } : {}) },
          })),
        },
      ]),
    );
    const [chain] = findRetryChains(trace) as [RetryChain];
    // retry_count 3 says 4 attempts though only 3 attempt spans were made
    expect([chain.attempts, chain.timed, chain.gapsMs]).toEqual([4, false, []]);
    expect(chain.providerChanges).toEqual([{ from: 'claude', to: 'codex', reason: 'rate_limit' }]);
    // the task span's events are the fallbacks; its attempt chain is not a task of its own
    const tasks = fallbackTasks(trace, findRetryChains(trace));
    expect(tasks.map((t) => [t.operation, t.providers, t.fallbacks.length])).toEqual([['kc.task', ['claude', 'codex'], 1]]);
  });

  it('ignores attempts whose parent has not arrived in a fragment (a trace without its root), so a part of a chain is no false outcome', () => {
    const records = recordTraces([
      {
        name: 'kc.task',
        start: T0,
        end: T0 + 9_000,
        children: [1, 2, 3].map((n) => ({
          name: 'kc.task.attempt',
          start: T0 + (n - 1) * 3_000,
          end: T0 + n * 3_000 - 100,
          error: n < 3 ? 'timeout' : undefined,
          attributes: { 'kc.task.attempt': n },
        })),
      },
    ]);
    // decision_wait emitted the first two attempts before their task span (and the run root) arrived
    const early = records.filter((r) => r.name === 'kc.task.attempt' && r.attempt !== 3);
    const fragment = buildTrace((early[0] as SpanRecord).traceId, early);
    expect(findRetryChains(fragment)).toEqual([]);
    // the rest arrives with the task span: attempt 3 says 3 attempts, and the outcome is right
    const rest = records.filter((r) => !early.includes(r) && (r.name === 'kc.task' || r.attempt === 3));
    const later = buildTrace((rest[0] as SpanRecord).traceId, rest.map((r) => (r.name === 'kc.task' ? { ...r, parentSpanId: 'ab'.repeat(8) } : r)));
    expect(findRetryChains(later).map((c) => [c.attempts, c.outcome])).toEqual([[3, 'succeeded']]);
  });

  it('still chains orphans of one lost parent in a whole trace', () => {
    const records = recordTraces([root([{ name: 'agent', start: T0 + 10, end: T0 + 5_000, children: [tool('web_search', 100, 200, { error: 'x' }), tool('web_search', 300, 400)] }])]);
    const withoutAgent = records.filter((r) => r.name !== 'agent');
    const trace = buildTrace((records[0] as SpanRecord).traceId, withoutAgent);
    expect(findRetryChains(trace).map((c) => [c.attempts, c.outcome])).toEqual([[2, 'succeeded']]);
  });

  it('makes a counted chain from a retry count when no attempt spans exist', () => {
    const trace = traceFrom(root([{ name: 'kc.task', start: T0, end: T0 + 5_000, error: 'quota', attributes: { 'kc.task.retry_count': 2 } }]));
    expect(findRetryChains(trace).map(shapeOf)).toEqual([{ key: 'kc-orchestrator kc.task', attempts: 3, outcome: 'exhausted', source: 'counted', gaps: [] }]);
  });

  it('turns a provider change between attempts into a fallback of that chain', () => {
    const chat = (start: number, provider: string, error?: string): SpanTree => ({
      name: 'chat',
      start: T0 + start,
      end: T0 + start + 100,
      error,
      attributes: { 'gen_ai.provider.name': provider, 'gen_ai.request.model': 'm' },
    });
    const trace = traceFrom(root([chat(0, 'openai', 'overloaded'), chat(200, 'anthropic'), chat(1_000, 'openai')]));
    const tasks = fallbackTasks(trace, findRetryChains(trace));
    expect(tasks.map((t) => [t.providers, t.fallbacks.map((f) => `${f.from}>${f.to}`)])).toEqual([
      [['openai'], []],
      [['openai', 'anthropic'], ['openai>anthropic']],
    ]);
  });
});

describe('gap statistics', () => {
  it('gives CV 0 and ratio 1 for fixed gaps, ratio 2 for doubling ones', () => {
    expect(gapCv([1_000, 1_000, 1_000])).toBe(0);
    expect(gapRatios([1_000, 1_000])).toEqual([1]);
    expect(gapRatios([1_000, 2_000, 4_000])).toEqual([2, 2]);
    expect(gapCv([1_000])).toBeUndefined();
  });
});
