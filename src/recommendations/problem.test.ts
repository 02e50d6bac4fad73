import { describe, expect, it } from 'vitest';
import type { PainPointRecord, Subject } from '../model/painpoint.js';
import { problemRecordSchema, type ProblemRecord } from '../model/problem.js';
import { painPointId } from '../painpoints/ids.js';
import { record } from '../../test/fixtures/report/painpoints.js';
import { sampleMetrics } from '../../test/fixtures/evidence.js';
import { buildProblemRecommendation } from './problem.js';
import { buildRecommendations } from './build.js';
import { recommendationId, taskId } from './ids.js';
import { kcTaskSchema, recommendationSchema } from './schema.js';

const SERVICE = 'kc-orchestrator';
const webSearch: Subject = { service: SERVICE, operation: 'execute_tool web_search', tool: 'web_search' };

/** One fault seen five ways: web_search rate-limited (the root), and what it causes and what aggravates it. */
function members() {
  const root = record('failure_rate', webSearch, 'high', 'reliability', 'web_search fails 52 % of calls', { window: '5m', metrics: sampleMetrics('failure_rate'), exemplar_trace_ids: ['1'.repeat(32)] });
  // the same spans seen per agent: another view, same kind
  const byAgent = record('failure_rate', { service: SERVICE, operation: 'execute_tool web_search', agent: 'researcher' }, 'high', 'reliability', 'researcher fails 52 % of calls', {
    window: '5m',
    metrics: sampleMetrics('failure_rate'),
    exemplar_trace_ids: ['2'.repeat(32)],
  });
  // its spike, against a baseline of 25.7 %: alone it would ask the rate below 30.7 %
  const spike = record('failure_spike', webSearch, 'high', 'reliability', 'web_search failures spiked', {
    window: '1m',
    metrics: sampleMetrics('failure_spike', { baseline_failure_rate: 0.257, by_error_class: { rate_limit: 18 }, dominant_error_class: 'rate_limit', by_provider: {} }),
    exemplar_trace_ids: ['3'.repeat(32)],
  });
  const storm = record('retry_storm', webSearch, 'high', 'reliability', 'web_search retry storm', { window: '1m', metrics: sampleMetrics('retry_storm', { by_error_class: { rate_limit: 90 } }), exemplar_trace_ids: ['4'.repeat(32)] });
  const cluster = record('error_cluster', { service: SERVICE, error_class: 'rate_limit' }, 'medium', 'reliability', 'rate_limit on 3 operations', {
    window: '15m',
    metrics: sampleMetrics('error_cluster', { error_class: 'rate_limit', template: 'rate_limit', operations: 3, by_operation: { 'execute_tool web_search': 30, chat: 5, 'execute_tool fetch_url': 2 } }),
    exemplar_trace_ids: ['5'.repeat(32)],
  });
  const noBackoff = record('retry_no_backoff', webSearch, 'medium', 'reliability', 'web_search is retried every ~1 s without backoff', {
    window: '5m',
    metrics: sampleMetrics('retry_no_backoff', { by_error_class: { rate_limit: 44 } }),
    exemplar_trace_ids: ['6'.repeat(32)],
  });
  return { root, byAgent, spike, storm, cluster, noBackoff };
}

const member = (pp: PainPointRecord) => ({ id: pp.id, kind: pp.kind, subject: pp.subject });

/** A problem record through its schema: root, symptoms and contributing as the problems stage names them. */
function problem(root: PainPointRecord, symptoms: readonly PainPointRecord[], contributing: readonly PainPointRecord[], extra: Partial<ProblemRecord> = {}): ProblemRecord {
  return problemRecordSchema.parse({
    // docs/painpoints.md, Problems: pb- + 16 hex of sha256(root kind + root subject), the same hash as the root's pp- id
    id: `pb-${painPointId(root.kind, root.subject).slice(3)}`,
    state: 'open',
    severity: 'high',
    category: 'reliability',
    title: 'web_search rate-limited (rate_limit): 52 % of calls fail; 1 agent affected',
    description: 'web_search answers 429 to half of its calls.',
    root: { id: root.id, kind: root.kind, subject: root.subject, title: root.title },
    symptoms: symptoms.map(member),
    contributing: contributing.map(member),
    impact: { score: 14.2, affected_runs: 2, affected_traces: 40, wasted_ms: 74_400, wasted_tokens: 0 },
    first_seen: root.first_seen,
    last_seen: root.last_seen,
    exemplar_trace_ids: root.evidence.exemplar_trace_ids,
    run_ids: root.run_ids,
    recommendation_ids: [],
    ...extra,
  });
}

function rateLimitedProblem() {
  const m = members();
  const pb = problem(m.root, [m.byAgent, m.spike, m.storm, m.cluster], [m.noBackoff]);
  return { m, pb, all: [m.root, m.byAgent, m.spike, m.storm, m.cluster, m.noBackoff] };
}

describe('buildProblemRecommendation', () => {
  it("gives the root's fix first, then what other kinds of symptom add, then the contributing behaviour's fix", () => {
    const { m, pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    const headings = rec.implementation.split('\n').filter((line) => /^[A-Z].*: \w+ on /.test(line));
    expect(headings).toEqual([
      `Fix the root: failure_rate on web_search (${m.root.id})`,
      `Then what it causes: retry_storm on web_search (${m.storm.id})`,
      `Then what it causes: failure_spike on web_search (${m.spike.id})`,
      `Then what it causes: error_cluster on rate_limit (${m.cluster.id})`,
      `What makes it worse (a cause of its own): retry_no_backoff on web_search (${m.noBackoff.id})`,
    ]);
    expect(rec.implementation.startsWith('Fix the root: failure_rate on web_search')).toBe(true);
    expect(rec.implementation).toContain('1. Put a token bucket in front of every web_search call');
    expect(rec.implementation).toContain('Wait delay = random(0, min(30000 ms, 1000 ms × 2^attempt))');
    // the per-agent view of the same spans adds no section: the root's fix is its fix
    expect(rec.implementation).not.toContain(m.byAgent.id);
    expect(rec.title).toBe('Rate-limit web_search calls client-side and honour Retry-After');
  });

  it("asks one criterion per measured quantity and subject, the root's first, never contradicting it", () => {
    const { pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    expect(rec.acceptanceCriteria).toEqual([
      'failure rate of web_search below 5 % over 15 m',
      'fewer than 1 % of web_search calls fail with rate_limit over 15 m',
      'retries per minute of web_search below 10 over 15 m',
      'fewer than 10 rate_limit failures across all operations over 15 m',
      'web_search retry gaps grow ≥ 1.5× per attempt over 15 m',
      'median retry gap of web_search ≥ 1000 ms over 15 m',
    ]);
    expect(rec.acceptanceCriteria.filter((c) => c.startsWith('failure rate of web_search'))).toHaveLength(1);
    expect(rec.task.acceptanceCriteria).toEqual(rec.acceptanceCriteria);
  });

  it('describes the root with its numbers, then the spread, most severe first', () => {
    const { pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    const [summary, symptoms, worse] = rec.description.split('\n\n');
    expect(summary).toBe('web_search: 62 of 120 calls failed, failure rate 52 %, Wilson lower bound 43 %, by error class: rate_limit 58, timeout 4 in the 5m window.');
    expect(symptoms?.split('\n')).toHaveLength(5);
    expect(symptoms?.split('\n')[0]).toBe('It also shows as:');
    expect(symptoms).toContain('- failure_rate on researcher (high)');
    expect(symptoms?.split('\n').at(-1)).toBe('- error_cluster on rate_limit (medium)');
    expect(worse).toBe('Made worse by:\n- retry_no_backoff on web_search (medium)');
    expect(rec.task.description.startsWith(`## Problem\n\n${pb.title}\n\n${summary}`)).toBe(true);
  });

  it('takes its id from the root pain point alone: the same as symptoms join, new when the root is replaced', () => {
    const { m, pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    expect(rec.id).toBe(recommendationId([m.root.id]));
    expect(rec.task.id).toBe(taskId([m.root.id]));
    const fewer = buildProblemRecommendation(problem(m.root, [m.spike], []), [m.root, m.spike]);
    expect(fewer.id).toBe(rec.id);
    expect(fewer.task.contentHash).not.toBe(rec.task.contentHash);
    // the problem keeps its id when a deeper root is found; the recommendation does not
    const server = record('failure_rate', { service: 'search-api', operation: 'GET /v2/search' }, 'high', 'reliability', 'GET /v2/search fails', {
      window: '5m',
      metrics: sampleMetrics('failure_rate'),
      exemplar_trace_ids: [],
    });
    const replaced = problem(server, [m.root], [], { id: pb.id });
    expect(buildProblemRecommendation(replaced, [server, m.root]).id).toBe(recommendationId([server.id]));
  });

  it('lists the root first, then every other member in id order', () => {
    const { m, pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    const others = [m.byAgent, m.spike, m.storm, m.cluster, m.noBackoff].map((pp) => pp.id).sort();
    expect(rec.pain_point_ids).toEqual([m.root.id, ...others]);
  });

  it('validates with the recommendation and kc task schemas, the task naming its problem and root', () => {
    const { m, pb, all } = rateLimitedProblem();
    const rec = buildProblemRecommendation(pb, all);
    expect(recommendationSchema.parse(rec)).toEqual(rec);
    expect(kcTaskSchema.parse(rec.task)).toEqual(rec.task);
    expect(rec.task.metadata).toEqual({ recommendationId: rec.id, category: 'reliability', priority: 'high', problemId: pb.id, rootPainPointId: m.root.id });
    expect(rec.task.checkSteps.at(-1)).toBe(`Run sidelight analyze on a new run and confirm problem ${pb.id} (root ${m.root.id}) is no longer reported`);
  });

  it("takes priority and category from the problem, impact from its score, effort from the advice that gave steps", () => {
    const { m, all } = rateLimitedProblem();
    const pb = problem(m.root, [m.byAgent, m.spike, m.storm, m.cluster], [m.noBackoff], { severity: 'medium', impact: { score: 30, affected_runs: 9, affected_traces: 400, wasted_ms: 9e6, wasted_tokens: 0 } });
    const rec = buildProblemRecommendation(pb, all);
    expect(rec.priority).toBe('medium');
    expect(rec.task.metadata.priority).toBe('medium');
    expect(rec.impact).toBe('critical');
    // the error cluster's shared-cause fix is the largest (L); spread over symptoms adds nothing
    expect(rec.effort).toBe('L');
    const alone = buildProblemRecommendation(problem(m.root, [m.byAgent], []), [m.root, m.byAgent]);
    expect(alone.effort).toBe('M');
  });

  it('gives the same recommendation as the pain point alone when the problem is only its root', () => {
    const { m } = rateLimitedProblem();
    const rec = buildProblemRecommendation(problem(m.root, [], []), [m.root]);
    const [single] = buildRecommendations([m.root]);
    expect(rec.id).toBe(single?.id);
    expect(rec.implementation).toBe(single?.implementation);
    expect(rec.acceptanceCriteria).toEqual(single?.acceptanceCriteria);
    expect(rec.description).toBe(single?.description);
  });

  it('is byte-identical for any order of the members, and takes the latest record of a member given twice', () => {
    const { m, pb, all } = rateLimitedProblem();
    const a = JSON.stringify(buildProblemRecommendation(pb, all));
    const b = JSON.stringify(buildProblemRecommendation(pb, [...all].reverse()));
    expect(b).toBe(a);
    const older = { ...m.noBackoff, last_seen: '2026-11-26T09:00:00.000Z', evidence: { ...m.noBackoff.evidence, metrics: sampleMetrics('retry_no_backoff', { median_gap_ms: 400 }) } };
    expect(JSON.stringify(buildProblemRecommendation(pb, [...all, older]))).toBe(a);
  });

  it('ignores records of pain points outside the problem and lists members it has no record of', () => {
    const { m, pb } = rateLimitedProblem();
    const stranger = record('slow_tail', { service: SERVICE, operation: 'execute_tool read_file', tool: 'read_file' }, 'low', 'performance', 'read_file tail', {
      window: '15m',
      metrics: sampleMetrics('slow_tail'),
      exemplar_trace_ids: [],
    });
    const rec = buildProblemRecommendation(pb, [m.root, m.noBackoff, stranger]);
    expect(rec.pain_point_ids).not.toContain(stranger.id);
    expect(rec.implementation).not.toContain('read_file');
    // no record of the storm: named in the spread, no steps from it
    expect(rec.description).toContain('- retry_storm on web_search\n');
    expect(rec.implementation).not.toContain('retry_storm');
    expect(rec.task.description).toContain(`- also: \`${[m.byAgent.id, m.spike.id, m.storm.id, m.cluster.id].sort()[0]}\``);
  });

  it('lists at most 10 symptoms by name and counts the rest', () => {
    const { m } = rateLimitedProblem();
    const views = Array.from({ length: 14 }, (_, i) =>
      record('failure_rate', { service: SERVICE, operation: 'execute_tool web_search', agent: `agent-${String(i).padStart(2, '0')}` }, 'medium', 'reliability', `agent ${i} fails`, {
        window: '5m',
        metrics: sampleMetrics('failure_rate'),
        exemplar_trace_ids: [],
      }),
    );
    const rec = buildProblemRecommendation(problem(m.root, views, []), [m.root, ...views]);
    const lines = rec.description.split('\n').filter((l) => l.startsWith('- '));
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toBe('- … and 4 more');
  });

  it('throws a clear error when the root record is missing', () => {
    const { m, pb } = rateLimitedProblem();
    expect(() => buildProblemRecommendation(pb, [m.spike])).toThrow(`the record of root ${m.root.id} of problem ${pb.id} is not among the 1 members given`);
  });
});
