/**
 * Impact in money: where the cost of the waste is known (reported by the calls, or from the price
 * table), failed calls and retries carry `wasted_cost_usd` in their evidence and impact.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { recordTraces, type SpanTree } from './support/readable-to-record.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const PRICING = { 'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 } };
/** a failed chat: its 2000 input tokens are billed, no output */
const FAILED_USD = (2_000 * 2.5) / 1e6;

/** Tasks whose chat is tried up to 3 times: in 3 tasks of 10 every attempt fails, in the others the second succeeds. */
function workload(): SpanTree[] {
  return Array.from({ length: 60 }, (_, i) => {
    const start = T0 + i * 5_000;
    const exhausted = i % 10 < 3;
    const attempts = exhausted ? 3 : 2;
    const children: SpanTree[] = Array.from({ length: attempts }, (_, a) => {
      const failed = exhausted || a === 0;
      return {
        name: 'chat gpt-4o',
        start: start + 10 + a * 600,
        end: start + 500 + a * 600,
        ...(failed ? { error: 'upstream overloaded' } : {}),
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 2_000,
          'gen_ai.usage.output_tokens': failed ? 0 : 300,
          ...(failed ? { 'error.type': 'overloaded' } : {}),
        },
      };
    });
    return { name: 'invoke_agent coder', start, end: start + 2_000, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `run-${i % 5}` }, children };
  });
}

describe('wasted cost', () => {
  it('prices failed calls and failed retry attempts, and ranks them by it', async () => {
    const result = await analyzeSpans(recordTraces(workload()), { config: { service: { pricing: PRICING } } });
    const failure = result.painpoints.find((p) => p.kind === 'failure_rate' && p.subject.model === 'gpt-4o');
    expect(failure).toBeDefined();
    // every failed attempt is priced; a retried call counts once among the failures (its attempts in failed_attempts)
    const failures = (failure?.evidence.metrics['failed_attempts'] ?? failure?.evidence.metrics['failures']) as number;
    expect(failure?.evidence.metrics['failed_attempts']).toBeGreaterThan(failure?.evidence.metrics['failures'] as number);
    expect(failure?.evidence.metrics['wasted_cost_usd']).toBeCloseTo(failures * FAILED_USD, 6);
    expect(failure?.impact?.wasted_cost_usd).toBeCloseTo(failures * FAILED_USD, 4);
    const exhaustion = result.painpoints.find((p) => p.kind === 'retry_exhaustion' && p.subject.model === 'gpt-4o');
    expect(exhaustion).toBeDefined();
    // every failed attempt of the window's chains, each FAILED_USD
    const m = exhaustion?.evidence.metrics ?? {};
    const failedAttempts = Object.values(m['by_error_class'] as Record<string, number>).reduce((n, v) => n + v, 0);
    expect(m['wasted_cost_usd']).toBeCloseTo(failedAttempts * FAILED_USD, 6);
  });

  it('leaves the cost out where no price is known', async () => {
    const result = await analyzeSpans(recordTraces(workload()));
    const failure = result.painpoints.find((p) => p.kind === 'failure_rate' && p.subject.model === 'gpt-4o');
    expect(failure?.evidence.metrics).not.toHaveProperty('wasted_cost_usd');
    expect(failure?.impact).not.toHaveProperty('wasted_cost_usd');
  });
});
