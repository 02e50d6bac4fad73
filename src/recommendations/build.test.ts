import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildRecommendations } from './build.js';
import { kcTaskSchema, recommendationSchema } from './schema.js';
import { recommendationId, taskId } from './ids.js';
import { normalizeTitle } from './grouping.js';
import { painPointPerKind, record } from '../../test/fixtures/report/painpoints.js';
import { sampleMetrics } from '../../test/fixtures/evidence.js';
import { PAIN_POINT_KINDS, type PainPointRecord } from '../model/painpoint.js';

const GOLDEN = fileURLToPath(new URL('../../test/fixtures/report/recommendations.golden.json', import.meta.url));

const byKind = (kind: string): PainPointRecord => {
  const pp = painPointPerKind().find((p) => p.kind === kind);
  if (!pp) throw new Error(kind);
  return pp;
};

describe('buildRecommendations', () => {
  it('matches the committed golden file for one pain point of every kind (text and ids are stable)', () => {
    const json = JSON.stringify(buildRecommendations(painPointPerKind()), null, 2) + '\n';
    // UPDATE_GOLDEN=1 rewrites the file after a deliberate wording change; review the diff.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, json);
    expect(json).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('makes one recommendation per kind when every subject differs, each citing only its pain point', () => {
    const recs = buildRecommendations(painPointPerKind());
    expect(recs).toHaveLength(PAIN_POINT_KINDS.length);
    for (const rec of recs) expect(rec.pain_point_ids).toHaveLength(1);
  });

  it('derives ids from the sha256 of the sorted pain-point ids', () => {
    const pp = byKind('retry_no_backoff');
    const [rec] = buildRecommendations([pp]);
    expect(rec?.id).toBe(recommendationId([pp.id]));
    expect(rec?.task.id).toBe(taskId([pp.id]));
    expect(rec?.id).toMatch(/^REC-[0-9a-f]{12}$/);
    expect(rec?.task.id.slice(4)).toBe(rec?.id.slice(4));
    expect(recommendationId(['pp-b', 'pp-a'])).toBe(recommendationId(['pp-a', 'pp-b']));
  });

  it('gives byte-identical output on reruns and for any input order', () => {
    const a = JSON.stringify(buildRecommendations(painPointPerKind()));
    const b = JSON.stringify(buildRecommendations(painPointPerKind().reverse()));
    expect(b).toBe(a);
  });

  it('validates every recommendation and its kc task with the zod schemas', () => {
    for (const rec of buildRecommendations(painPointPerKind())) {
      expect(recommendationSchema.safeParse(rec).success).toBe(true);
      expect(kcTaskSchema.parse(rec.task)).toEqual(rec.task);
      expect(rec.task).toMatchObject({ status: 'todo', source: 'sidelight', dependencies: [], metadata: { recommendationId: rec.id, category: rec.category, priority: rec.priority } });
    }
  });

  it('rejects a task with a wrong status or a missing field', () => {
    const [rec] = buildRecommendations([byKind('slow_tail')]);
    expect(kcTaskSchema.safeParse({ ...rec?.task, status: 'done' }).success).toBe(false);
    const { contentHash: _h, ...noHash } = rec!.task;
    expect(kcTaskSchema.safeParse(noHash).success).toBe(false);
  });

  it('cites the evidence numbers in the implementation: token bucket for 429s from the observed rate', () => {
    const [rec] = buildRecommendations([byKind('failure_rate')]);
    // 120 calls in 5 m, 58 rate-limited: 62 succeeded → 12.4/min accepted, 24/min attempted.
    expect(rec?.title).toBe('Rate-limit web_search calls client-side and honour Retry-After');
    expect(rec?.implementation).toContain('token bucket in front of every web_search call: 12 requests/min');
    expect(rec?.implementation).toContain('24 requests/min were attempted');
    expect(rec?.implementation).toContain('Retry-After');
    expect(rec?.acceptanceCriteria).toContain('failure rate of web_search below 5 % over 15 m');
    expect(rec?.priority).toBe('high');
    expect(rec?.effort).toBe('M');
  });

  it('gives backoff base, cap and attempts from the observed retry gaps', () => {
    const [rec] = buildRecommendations([byKind('retry_no_backoff')]);
    expect(rec?.title).toBe('Add exponential backoff with jitter to fetch_url retries');
    expect(rec?.implementation).toContain('random(0, min(30000 ms, 1000 ms × 2^attempt))');
    expect(rec?.implementation).toContain('Stop after 5 attempts');
    expect(rec?.acceptanceCriteria).toEqual(['fetch_url retry gaps grow ≥ 1.5× per attempt over 15 m', 'median retry gap of fetch_url ≥ 1000 ms over 15 m']);
  });

  it('lists the non-retryable error classes seen and targets p95 from the baseline', () => {
    const [nonRetryable] = buildRecommendations([byKind('retry_non_retryable')]);
    expect(nonRetryable?.implementation).toContain('Stop retrying the classes seen here: invalid_request 11, authentication 3.');
    const [regression] = buildRecommendations([byKind('latency_regression')]);
    expect(regression?.acceptanceCriteria).toEqual(['p95 of gpt-4.1 below 3720 ms over 15 m']);
    expect(regression?.implementation).toContain('timeout of 6200 ms');
  });

  it('uses the percentile the latency detector judged, and its dominant error class', () => {
    const pp = byKind('latency_regression');
    const p99 = { ...pp, evidence: { ...pp.evidence, metrics: sampleMetrics('latency_regression', { percentile: 'p99', p99_ms: 20_000, baseline_p99_ms: 5_000, ratio: 4 }) } };
    const [rec] = buildRecommendations([p99]);
    expect(rec?.acceptanceCriteria).toEqual(['p99 of gpt-4.1 below 6000 ms over 15 m']);
    expect(rec?.description).toBe('p99 of gpt-4.1 rose from 5 s to 20 s (4×) in the 5m window.');
    const failure = byKind('failure_rate');
    const dominant = {
      ...failure,
      evidence: { ...failure.evidence, metrics: sampleMetrics('failure_rate', { calls: 100, failures: 40, failure_rate: 0.4, by_error_class: { authentication: 40 }, dominant_error_class: 'authentication' }) },
    };
    expect(buildRecommendations([dominant])[0]?.title).toBe('Fix web_search credentials and fail fast on authentication errors');
  });

  it('estimates the saving of running sequential tool calls concurrently', () => {
    const [rec] = buildRecommendations([byKind('sequential_fanout')]);
    expect(rec?.implementation).toContain('Promise.all');
    expect(rec?.implementation).toContain('Estimated saving: 4.2 s per parent.');
    expect(rec?.effort).toBe('S');
  });

  it('groups two pain points on the same subject (ignoring error_class) into one recommendation with both ids', () => {
    const failure = byKind('failure_rate'); // web_search with error_class rate_limit
    const backoff = record('retry_no_backoff', { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' }, 'medium', 'reliability', 'web_search retried every 1 s', {
      window: '5m',
      metrics: sampleMetrics('retry_no_backoff', { retries: 30, median_gap_ms: 1000 }),
      exemplar_trace_ids: [],
    });
    const recs = buildRecommendations([backoff, failure]);
    expect(recs).toHaveLength(1);
    expect(recs[0]?.pain_point_ids).toEqual([failure.id, backoff.id].sort());
    expect(recs[0]?.id).toBe(recommendationId([failure.id, backoff.id]));
    // The high-severity failure leads; the backoff steps follow in their own section.
    expect(recs[0]?.title).toBe('Rate-limit web_search calls client-side and honour Retry-After');
    expect(recs[0]?.priority).toBe('high');
    expect(recs[0]?.implementation).toContain(`retry_no_backoff on web_search (${backoff.id}):`);
    expect(recs[0]?.acceptanceCriteria).toContain('web_search retry gaps grow ≥ 1.5× per attempt over 15 m');
  });

  it('asks one criterion per measured quantity and subject, the lead\'s, so targets never contradict', () => {
    const failure = byKind('failure_rate');
    const spike = record('failure_spike', failure.subject, 'medium', 'reliability', 'web_search failures spiked', {
      window: '1m',
      metrics: sampleMetrics('failure_spike', { baseline_failure_rate: 0.257 }),
      exemplar_trace_ids: [],
    });
    const [rec] = buildRecommendations([spike, failure]);
    expect(rec?.pain_point_ids).toHaveLength(2);
    // the spike's "below 30.7 %" on the same failure rate is not asked again
    expect(rec?.acceptanceCriteria).toEqual(['failure rate of web_search below 5 % over 15 m', 'fewer than 1 % of web_search calls fail with rate_limit over 15 m']);
  });

  it('groups the same error_class across operations into one recommendation', () => {
    const mk = (toolName: string) =>
      record('failure_rate', { service: 'kc-orchestrator', operation: `execute_tool ${toolName}`, tool: toolName, error_class: 'timeout' }, 'medium', 'reliability', `${toolName} times out`, {
        window: '5m',
        metrics: sampleMetrics('failure_rate', { calls: 100, failures: 30, failure_rate: 0.3, wilson_lower: 0.2189, wilson_upper: 0.3958, by_error_class: { timeout: 30 }, dominant_error_class: 'timeout' }),
        exemplar_trace_ids: [],
      });
    const cluster = byKind('error_cluster'); // error_class timeout
    const recs = buildRecommendations([mk('fetch_url'), mk('read_file'), cluster]);
    expect(recs).toHaveLength(1);
    expect(recs[0]?.pain_point_ids).toHaveLength(3);
    // three distinct series: one effort step above the largest kind effort (L → XL)
    expect(recs[0]?.effort).toBe('XL');
  });

  it('merges near-identical titles (numbers and case ignored) into one recommendation', () => {
    expect(normalizeTitle('Add  Backoff to X (3 retries, 1.5 s)')).toBe(normalizeTitle('add backoff to x ( retries,  s)'));
    const a = byKind('retry_no_backoff');
    const b = { ...a, id: 'pp-00000000000000aa', subject: { ...a.subject, service: 'other-service' } };
    const recs = buildRecommendations([a, b]);
    expect(recs).toHaveLength(1);
    expect(recs[0]?.pain_point_ids).toEqual(['pp-00000000000000aa', a.id].sort());
  });

  it('orders high before medium, and equal severity by impact score', () => {
    const recs = buildRecommendations(painPointPerKind());
    const priorities = recs.map((r) => r.priority);
    expect(priorities.indexOf('medium')).toBeGreaterThan(priorities.lastIndexOf('high'));
    const big = byKind('slow_tail');
    const small = { ...big, id: 'pp-00000000000000bb', subject: { ...big.subject, tool: 'tiny' }, impact: { score: 1, affected_runs: 1, affected_traces: 0, wasted_ms: 0, wasted_tokens: 0 } };
    const large = { ...big, impact: { score: 30, affected_runs: 9, affected_traces: 900, wasted_ms: 9e6, wasted_tokens: 0 } };
    const ordered = buildRecommendations([small, large]);
    expect(ordered.map((r) => r.pain_point_ids[0])).toEqual([large.id, small.id]);
    expect(ordered[0]?.impact).toBe('critical');
    expect(ordered[1]?.impact).toBe('minor');
  });

  it('makes no recommendation for resolved pain points and counts a repeated pain point once', () => {
    const pp = byKind('slow_tail');
    expect(buildRecommendations([{ ...pp, state: 'resolved' }])).toEqual([]);
    expect(buildRecommendations([pp, pp])).toHaveLength(1);
    // the latest state wins: resolved after open means none
    expect(buildRecommendations([pp, { ...pp, state: 'resolved', last_seen: '2026-11-26T10:20:00.000Z' }])).toEqual([]);
  });

  it('changes the task content hash when the evidence numbers change', () => {
    const pp = byKind('retry_no_backoff');
    const [a] = buildRecommendations([pp]);
    const [b] = buildRecommendations([{ ...pp, evidence: { ...pp.evidence, metrics: { ...pp.evidence.metrics, median_gap_ms: 2000 } } }]);
    expect(a?.id).toBe(b?.id);
    expect(a?.task.contentHash).not.toBe(b?.task.contentHash);
  });
});
