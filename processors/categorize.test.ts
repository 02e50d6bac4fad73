import { asapScheduler, Subject } from 'rxjs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Observation } from '../src/model/painpoint.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { serviceSchema } from '../src/config/service-schema.js';
import type { TaggedJudgement } from '../src/model/events.js';
import type { ComponentContext } from '../src/component/contracts.js';
import { Categorizer, categorize, categorizeConfigSchema, categorizeProcessorFactory } from './categorize.js';
import { impactScore } from '../src/recommendations/impact.js';
import { sampleMetrics } from '../test/fixtures/evidence.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const config = (input: unknown = {}) => categorizeConfigSchema.parse(input);

function obs(kind: Observation['kind'], extra: Partial<Observation> = {}): Observation {
  return {
    kind,
    subject: { service: 'kc', operation: 'execute_tool git_push', tool: 'git_push' },
    severity: 'medium',
    category: 'performance',
    title: `${kind} on git_push`,
    description: '',
    evidence: { window: '5m', metrics: { calls: 100 }, exemplar_trace_ids: ['a'.repeat(32)] },
    keyMetric: 1,
    time: T0,
    runIds: ['r1', 'r2'],
    ...extra,
  };
}

describe('categorize', () => {
  it('sets the category from the default mapping per kind', () => {
    const c = new Categorizer(config());
    expect(c.categorize(obs('retry_no_backoff'))?.category).toBe('reliability');
    expect(c.categorize(obs('provider_fallback'))?.category).toBe('reliability');
    expect(c.categorize(obs('slow_tail'))?.category).toBe('performance');
    expect(c.categorize(obs('sequential_fanout'))?.category).toBe('performance');
    expect(c.categorize(obs('repeated_calls'))?.category).toBe('efficiency');
  });

  it('puts token anomalies in cost and other anomalies in performance', () => {
    const c = new Categorizer(config());
    const tokens = obs('anomaly', { evidence: { window: '1m', metrics: sampleMetrics('anomaly'), exemplar_trace_ids: [] } });
    const calls = obs('anomaly', {
      evidence: { window: '1m', metrics: sampleMetrics('anomaly', { metric: 'call_rate', tokens: undefined, token_calls: undefined, wasted_tokens: undefined }), exemplar_trace_ids: [] },
    });
    expect(c.categorize(tokens)?.category).toBe('cost');
    expect(c.categorize(calls)?.category).toBe('performance');
  });

  it('lets config override the category of a kind', () => {
    const c = new Categorizer(config({ categories: { repeated_calls: 'cost' } }));
    expect(c.categorize(obs('repeated_calls'))?.category).toBe('cost');
  });

  it('computes impact from the evidence with the documented log-scaled score', () => {
    const c = new Categorizer(config());
    const out = c.categorize(
      obs('retry_exhaustion', { evidence: { window: '5m', metrics: { affected_runs: 3, affected_traces: 40, wasted_ms: 60_000, wasted_tokens: 0 }, exemplar_trace_ids: [] } }),
    );
    // 3·ln 4 + 1·ln 41 + 2·ln 61 + 0 = 4.159 + 3.714 + 8.222 = 16.09
    expect(out?.impact).toEqual({ score: 16.09, affected_runs: 3, affected_traces: 40, wasted_ms: 60_000, wasted_tokens: 0 });
    expect(impactScore({ affected_runs: 0, affected_traces: 0, wasted_ms: 0, wasted_tokens: 0 })).toBe(0);
  });

  it('ranks by the cost of the waste where it is known: wasted US cents in place of the token term', () => {
    const c = new Categorizer(config());
    const metrics = { affected_runs: 1, affected_traces: 1, wasted_ms: 0, wasted_tokens: 500_000 };
    const priced = c.categorize(obs('retry_exhaustion', { evidence: { window: '5m', metrics: { ...metrics, wasted_cost_usd: 4.5 }, exemplar_trace_ids: [] } }));
    // 3·ln 2 + ln 2 + 0 + 2·ln(1 + 450 cents) = 2.079 + 0.693 + 12.223 = 15.00
    expect(priced?.impact).toEqual({ score: 15, affected_runs: 1, affected_traces: 1, wasted_ms: 0, wasted_tokens: 500_000, wasted_cost_usd: 4.5 });
    const unpriced = c.categorize(obs('retry_exhaustion', { evidence: { window: '5m', metrics, exemplar_trace_ids: [] } }));
    // 2.079 + 0.693 + 2·ln 501 = 15.21: no cost field, the token term counts
    expect(unpriced?.impact).toEqual({ score: 15.21, affected_runs: 1, affected_traces: 1, wasted_ms: 0, wasted_tokens: 500_000 });
    const cheap = c.categorize(obs('retry_exhaustion', { evidence: { window: '5m', metrics: { ...metrics, wasted_cost_usd: 0.05 }, exemplar_trace_ids: [] } }));
    expect(cheap?.impact?.score).toBeLessThan(priced?.impact?.score ?? 0);
  });

  it('puts the agent kinds in their categories: silent failures and loops in reliability, budgets in cost', () => {
    const c = new Categorizer(config());
    expect(['silent_failure', 'agent_loop', 'budget_exceeded'].map((k) => c.categorize(obs(k as 'agent_loop'))?.category)).toEqual(['reliability', 'reliability', 'cost']);
  });

  it('falls back to the run ids and exemplars when the detector gives no affected counts', () => {
    const out = new Categorizer(config()).categorize(obs('slow_tail'));
    expect(out?.impact).toMatchObject({ affected_runs: 2, affected_traces: 1, wasted_ms: 0 });
  });

  it('escalates a failure_rate whose Wilson lower bound reaches 0.5, never on the raw ratio', () => {
    const c = new Categorizer(config());
    const high = obs('failure_rate', { evidence: { window: '5m', metrics: { calls: 100, wilson_lower: 0.55 }, exemplar_trace_ids: [] } });
    const raw = obs('failure_rate', { evidence: { window: '5m', metrics: { calls: 100, failure_rate: 0.6 }, exemplar_trace_ids: [] } });
    expect(c.categorize(high)?.severity).toBe('high');
    expect(c.categorize(raw)?.severity).toBe('medium');
  });

  it('caps rate kinds with fewer calls than min_samples at low, and the overflow series at low', () => {
    const c = new Categorizer(config());
    const few = obs('failure_rate', { severity: 'high', evidence: { window: '5m', metrics: { calls: 2, wilson_lower: 0.6 }, exemplar_trace_ids: [] } });
    expect(c.categorize(few)?.severity).toBe('low');
    // repeated_calls counts calls under one parent: 12 is enough there
    const repeated = obs('repeated_calls', { evidence: { window: '5m', metrics: { calls: 12 }, exemplar_trace_ids: [] } });
    expect(c.categorize(repeated)?.severity).toBe('medium');
    const overflow = obs('slow_tail', { subject: { service: '__overflow__', operation: '__overflow__' } });
    expect(c.categorize(overflow)?.severity).toBe('low');
  });

  it('applies severity_overrides after the rules', () => {
    const c = new Categorizer(config({ severity_overrides: { retry_exhaustion: 'low', slow_tail: 'high' } }));
    c.categorize(obs('latency_bottleneck'));
    expect(c.categorize(obs('retry_exhaustion'))?.severity).toBe('low');
    expect(c.categorize(obs('slow_tail', { severity: 'low' }))?.severity).toBe('high');
  });

  it('drops observations below min_severity and counts them', async () => {
    const registry = new Registry();
    const op = categorizeProcessorFactory.stage === 'categorize' ? categorizeProcessorFactory.create(config({ min_severity: 'medium' }), ctx(registry)) : undefined;
    const input = new Subject<TaggedJudgement>();
    const out: TaggedJudgement[] = [];
    input.pipe(op!).subscribe((o) => out.push(o));
    input.next({ type: 'observation', observation: obs('slow_tail', { severity: 'low' }), detector: 0 });
    input.next({ type: 'observation', observation: obs('retry_no_backoff', { severity: 'medium' }), detector: 0 });
    input.complete();
    expect(out.map((j) => (j.type === 'observation' ? j.observation.kind : j.type))).toEqual(['retry_no_backoff']);
    expect(await registry.getSingleMetricAsString('sidelight_categorize_dropped_total')).toContain('sidelight_categorize_dropped_total{processor="categorize"} 1');
  });

  it('turns a standing observation it drops into a clear of its source, and passes clears on', () => {
    const op = categorize(config({ min_severity: 'medium' }));
    const input = new Subject<TaggedJudgement>();
    const out: TaggedJudgement[] = [];
    input.pipe(op).subscribe((j) => out.push(j));
    const standing = { source: 's1', gridMs: 10_000, rank: 0, index: 0 };
    input.next({ type: 'observation', observation: obs('slow_tail', { severity: 'low', time: T0 }), standing, detector: 2 });
    input.next({ type: 'clear', kind: 'slow_tail', subject: obs('slow_tail').subject, time: T0 + 10_000, source: 's1', detector: 2 });
    expect(out).toEqual([
      { type: 'clear', kind: 'slow_tail', subject: obs('slow_tail').subject, time: T0, source: 's1', detector: 2 },
      { type: 'clear', kind: 'slow_tail', subject: obs('slow_tail').subject, time: T0 + 10_000, source: 's1', detector: 2 },
    ]);
  });

  it('rejects unknown config keys and unknown kinds with their path', () => {
    const bad = categorizeConfigSchema.safeParse({ severity_overrides: { not_a_kind: 'high' } });
    expect(bad.success).toBe(false);
    expect(categorizeConfigSchema.safeParse({ min_severtiy: 'low' }).success).toBe(false);
  });
});

function ctx(registry: Registry): ComponentContext {
  return { scheduler: asapScheduler, metrics: registry, logger: silentLogger, settings: serviceSchema.parse({}), mode: 'live', id: 'categorize' };
}
