import { asapScheduler, Subject } from 'rxjs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PainPointChange } from '../src/model/events.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { serviceSchema } from '../src/config/service-schema.js';
import type { ComponentContext } from '../src/component/contracts.js';
import { buildRecommendations } from '../src/recommendations/build.js';
import { recommendationId } from '../src/recommendations/ids.js';
import { painPointPerKind, record } from '../test/fixtures/report/painpoints.js';
import { sampleMetrics } from '../test/fixtures/evidence.js';
import { recommend, recommendConfigSchema, recommendProcessorFactory, RecommendationTracker } from './recommend.js';

const config = (input: unknown = {}) => recommendConfigSchema.parse(input);
const change = (painpoint: PainPointRecord): PainPointChange => ({ painpoint, recommendations: [] });
const byKind = (kind: string): PainPointRecord => painPointPerKind().find((p) => p.kind === kind) as PainPointRecord;

function run(changes: PainPointChange[], cfg = config()): PainPointChange[] {
  const input = new Subject<PainPointChange>();
  const out: PainPointChange[] = [];
  input.pipe(recommend(cfg)).subscribe((c) => out.push(c));
  for (const c of changes) input.next(c);
  input.complete();
  return out;
}

describe('recommend', () => {
  it('attaches the same recommendation the offline builder makes', () => {
    const pp = byKind('retry_no_backoff');
    const [out] = run([change(pp)]);
    expect(out?.painpoint).toBe(pp);
    expect(out?.recommendations).toEqual(buildRecommendations([pp]));
  });

  it('emits a recommendation once when the same change comes twice', () => {
    const pp = byKind('slow_tail');
    const out = run([change(pp), change(pp)]);
    expect(out.map((c) => c.recommendations.length)).toEqual([1, 0]);
  });

  it('emits again when the content changes (new numbers), with the same id', () => {
    const pp = byKind('retry_no_backoff');
    const moved = { ...pp, state: 'updated' as const, evidence: { ...pp.evidence, metrics: { ...pp.evidence.metrics, median_gap_ms: 40 } } };
    const out = run([change(pp), change(moved)]);
    expect(out[1]?.recommendations[0]?.id).toBe(out[0]?.recommendations[0]?.id);
    expect(out[1]?.recommendations[0]?.task.contentHash).not.toBe(out[0]?.recommendations[0]?.task.contentHash);
  });

  it('groups a new pain point with an open one on the same subject, citing both ids', () => {
    const failure = byKind('failure_rate');
    const backoff = record('retry_no_backoff', { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' }, 'medium', 'reliability', 'web_search retried every 1 s', {
      window: '5m',
      metrics: sampleMetrics('retry_no_backoff', { retries: 30, median_gap_ms: 1000 }),
      exemplar_trace_ids: [],
    });
    const out = run([change(failure), change(backoff)]);
    expect(out[1]?.recommendations[0]?.pain_point_ids).toEqual([failure.id, backoff.id].sort());
    expect(out[1]?.recommendations[0]?.id).toBe(recommendationId([failure.id, backoff.id]));
  });

  it('merges near-identical titles into one recommendation', () => {
    const a = byKind('retry_no_backoff');
    const b = { ...a, id: 'pp-00000000000000aa', subject: { ...a.subject, service: 'second-service' } };
    const out = run([change(a), change(b)]);
    expect(out[1]?.recommendations[0]?.pain_point_ids).toEqual(['pp-00000000000000aa', a.id].sort());
    expect(out[1]?.recommendations[0]?.title).toBe(out[0]?.recommendations[0]?.title);
  });

  it('attaches nothing to a resolved change and drops the pain point from later groups', () => {
    const failure = byKind('failure_rate');
    const other = record('slow_tail', { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' }, 'low', 'performance', 'tail', {
      window: '15m',
      metrics: sampleMetrics('slow_tail', { calls: 500, successful_calls: 500, p50_ms: 10, p99_ms: 200, ratio: 20 }),
      exemplar_trace_ids: [],
    });
    const out = run([change(failure), change({ ...failure, state: 'resolved' }), change(other)]);
    expect(out[1]?.recommendations).toEqual([]);
    expect(out[2]?.recommendations[0]?.pain_point_ids).toEqual([other.id]);
  });

  it('bounds open pain points and the dedupe cache, counting evictions', async () => {
    const registry = new Registry();
    const factory = recommendProcessorFactory;
    if (factory.stage !== 'recommend') throw new Error('stage');
    const op = factory.create(config({ max_open_painpoints: 2, dedupe_cache_size: 2 }), ctx(registry));
    const input = new Subject<PainPointChange>();
    const out: PainPointChange[] = [];
    input.pipe(op).subscribe((c) => out.push(c));
    for (const pp of painPointPerKind().slice(0, 4)) input.next(change(pp));
    input.next(change(painPointPerKind()[0] as PainPointRecord)); // evicted from the dedupe cache: emitted again
    input.complete();
    expect(out.map((c) => c.recommendations.length)).toEqual([1, 1, 1, 1, 1]);
    const evictions = await registry.getSingleMetricAsString('sidelight_recommend_evictions_total');
    expect(evictions).toContain('sidelight_recommend_evictions_total{processor="recommend",cache="open_painpoints"} 3');
    expect(evictions).toContain('sidelight_recommend_evictions_total{processor="recommend",cache="dedupe"} 3');
    expect(await registry.getSingleMetricAsString('sidelight_recommendations_emitted_total')).toContain('{processor="recommend"} 5');
  });

  it('counts duplicates', () => {
    let duplicates = 0;
    const tracker = new RecommendationTracker(config(), { onDuplicate: () => duplicates++ });
    const pp = byKind('anomaly');
    tracker.process(change(pp));
    tracker.process(change(pp));
    tracker.process(change(pp));
    expect(duplicates).toBe(2);
    expect(tracker.openCount).toBe(1);
  });

  it('is deterministic: the same changes give byte-identical output', () => {
    const changes = painPointPerKind().map(change);
    expect(JSON.stringify(run(changes))).toBe(JSON.stringify(run(changes)));
  });

  it('rejects impact levels out of order', () => {
    expect(recommendConfigSchema.safeParse({ impact_levels: { moderate: 10, major: 5 } }).success).toBe(false);
  });
});

function ctx(registry: Registry): ComponentContext {
  return { scheduler: asapScheduler, metrics: registry, logger: silentLogger, settings: serviceSchema.parse({}), mode: 'live', id: 'recommend' };
}
