/**
 * Exporters carrying problems (docs/outputs.md): a problem change through every exporter, and the
 * `emit` setting of each. The OTLP spans go to Sidelight's own OTLP receiver, which decodes them
 * as it decodes any client's spans: links and member events are checked there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOtlpTracesExporter, otlpTracesConfigSchema } from '../exporters/otlp-traces.js';
import { createJsonlExporter, jsonlConfigSchema } from '../exporters/jsonl.js';
import { createStdoutExporter, stdoutConfigSchema } from '../exporters/stdout.js';
import { createSqliteExporter, openPainPointStore, sqliteConfigSchema } from '../exporters/sqlite.js';
import { createWebhookExporter, webhookConfigSchema } from '../exporters/webhook.js';
import type { OutputChange } from '../src/model/events.js';
import type { ProblemChange } from '../src/model/problem.js';
import { problemRecordSchema } from '../src/model/problem.js';
import { SpanKind, StatusCode, type SpanRecord } from '../src/model/span.js';
import { startReceiver as startSidelightReceiver, type StartedReceiver } from './receiver-harness.js';
import { metricValue, painPoint, problemMembers, recommendation, SPAN_A, SPAN_C, startReceiver, testContext, TRACE_A, TRACE_B, TRACE_C, virtualClock, type TestReceiver } from './exporters-support.js';
import { problemChangeOf } from './fixtures/problems.js';
import { createHash } from 'node:crypto';

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-problems-'));
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const members = problemMembers();
const rec = recommendation({ pain_point_ids: [members.root.id, ...members.symptoms.map((s) => s.id)] });
const openProblem: ProblemChange = problemChangeOf(members, { title: 'web_search rate-limited (429): 42 % of calls fail; 2 symptoms' }, [rec]);
const mergedProblem: ProblemChange = problemChangeOf(
  { root: members.contributing[0] ?? painPoint() },
  { state: 'merged', merged_into: openProblem.problem.id, severity: 'medium' },
);
const painPointChange: OutputChange = { painpoint: members.root, recommendations: [] };
const synthetic = (traceId: string) => createHash('sha256').update(traceId).digest('hex').slice(0, 16);

async function sidelight(): Promise<StartedReceiver> {
  const r = await startSidelightReceiver({ http: { endpoint: '127.0.0.1:0' } });
  closers.push(() => r.receiver.shutdown());
  return r;
}

async function capturing(): Promise<TestReceiver> {
  const r = await startReceiver();
  closers.push(() => r.close());
  return r;
}

describe('otlp_traces: a problem change is a sidelight.problem span', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`names the root, links the exemplar traces of the root and its symptoms, and carries each member as an event (${protocol}, received by Sidelight's own receiver)`, async () => {
      const backend = await sidelight();
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: backend.httpUrl, protocol }), testContext('otlp_traces'), { env: {} });
      const resolved = problemChangeOf(members, { state: 'resolved', severity: 'high' });
      exporter.export(openProblem);
      exporter.export(painPointChange); // emit defaults to problems: not sent
      exporter.export(resolved);
      await exporter.delivery.idle();
      await exporter.shutdown();
      await backend.sink.waitFor(2);

      const spans = backend.sink.spans;
      expect(spans.map((s) => s.name)).toEqual(['sidelight.problem', 'sidelight.problem']);
      const [open, done] = spans as [SpanRecord, SpanRecord];
      expect(open.kind).toBe(SpanKind.INTERNAL);
      expect(open.resource['service.name']).toBe('sidelight');
      expect(open.attributes).toMatchObject({
        'sidelight.problem.id': openProblem.problem.id,
        'sidelight.problem.severity': 'high',
        'sidelight.problem.state': 'open',
        'sidelight.problem.title': 'web_search rate-limited (429): 42 % of calls fail; 2 symptoms',
        'sidelight.problem.root_kind': 'failure_rate',
        'sidelight.problem.root_id': members.root.id,
        'sidelight.problem.symptoms': 2,
        'sidelight.problem.contributing': 1,
        'sidelight.subject.service': 'kc-orchestrator',
        'sidelight.subject.operation': 'execute_tool web_search',
        'sidelight.subject.tool': 'web_search',
        'sidelight.impact.affected_runs': 1,
        'sidelight.recommendation.ids': [rec.id],
      });
      expect(open.startMs).toBe(Date.parse('2026-11-26T10:00:00.000Z'));
      expect(open.endMs).toBe(Date.parse('2026-11-26T10:05:00.000Z'));
      expect(open.statusCode).toBe(StatusCode.ERROR);
      expect(open.statusMessage).toBe(openProblem.problem.title);

      // links: the root's exemplars, then the symptoms' new ones; recorded span ids where a member has one
      expect(open.links.map((l) => [l.traceId, l.spanId, l.attributes['sidelight.link.span_id_synthetic']])).toEqual([
        [TRACE_A, SPAN_A, undefined],
        [TRACE_B, synthetic(TRACE_B), true],
        [TRACE_C, SPAN_C, undefined],
      ]);
      // one event per member, root first, then one per recommendation
      expect(open.events.map((e) => [e.name, e.attributes['sidelight.problem.role'], e.attributes['sidelight.painpoint.id'], e.attributes['sidelight.painpoint.kind']])).toEqual([
        ['sidelight.problem.member', 'root', members.root.id, 'failure_rate'],
        ['sidelight.problem.member', 'symptom', 'pp-00000000000000a1', 'failure_spike'],
        ['sidelight.problem.member', 'symptom', 'pp-00000000000000a2', 'error_cluster'],
        ['sidelight.problem.member', 'contributing', 'pp-00000000000000a3', 'retry_no_backoff'],
        ['sidelight.recommendation', undefined, undefined, undefined],
      ]);
      expect(open.events[2]?.attributes).toMatchObject({ 'sidelight.subject.error_class': 'rate_limit', 'sidelight.painpoint.severity': 'medium', 'sidelight.painpoint.title': 'rate_limit errors on 3 operations' });
      expect(open.events[1]?.timeMs).toBe(Date.parse('2026-11-26T10:04:00.000Z'));
      expect(open.events[4]?.attributes['sidelight.recommendation.id']).toBe(rec.id);

      // every change of one problem lands in one trace, a resolved problem is no error
      expect(done.attributes['sidelight.problem.state']).toBe('resolved');
      expect(done.traceId).toBe(open.traceId);
      expect(done.spanId).not.toBe(open.spanId);
      expect(done.statusCode).toBe(StatusCode.UNSET);
    });
  }

  it('sends a merged problem with the problem it joined, and falls back to the members\' exemplars when the record lists none', async () => {
    const backend = await sidelight();
    const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: backend.httpUrl }), testContext('otlp_traces'), { env: {} });
    exporter.export(mergedProblem);
    exporter.export(problemChangeOf(members, { exemplar_trace_ids: [] }));
    await exporter.delivery.idle();
    await exporter.shutdown();
    await backend.sink.waitFor(2);
    const [merged, noExemplars] = backend.sink.spans as [SpanRecord, SpanRecord];
    expect(merged.attributes).toMatchObject({ 'sidelight.problem.state': 'merged', 'sidelight.problem.merged_into': openProblem.problem.id, 'sidelight.problem.root_kind': 'retry_no_backoff' });
    expect(merged.events.map((e) => e.attributes['sidelight.problem.role'])).toEqual(['root']);
    // the root's and the symptoms' exemplars, never the contributing pain point's
    expect(noExemplars.links.map((l) => l.traceId)).toEqual([TRACE_A, TRACE_B, TRACE_C]);
  });

  it('emits pain-point spans beside problem spans with emit: both, and only them with emit: painpoints', async () => {
    for (const [emit, names] of [
      ['both', ['sidelight.problem', 'sidelight.painpoint']],
      ['painpoints', ['sidelight.painpoint']],
    ] as const) {
      const backend = await sidelight();
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: backend.httpUrl, emit }), testContext('otlp_traces'), { env: {} });
      exporter.export(openProblem);
      exporter.export(painPointChange);
      await exporter.delivery.idle();
      await exporter.shutdown();
      await backend.sink.waitFor(names.length);
      expect(backend.sink.spans.map((s) => s.name)).toEqual(names);
    }
  });
});

describe('otlp_traces: ids and span limits of problem spans', () => {
  it('sends the same ids for the same problem change on every run: one trace per problem, one span per change', async () => {
    const backend = await sidelight();
    for (let run = 0; run < 2; run++) {
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: backend.httpUrl }), testContext('otlp_traces'), { env: {} });
      exporter.export(openProblem);
      exporter.export(problemChangeOf(members, { state: 'updated', severity: 'medium' }));
      await exporter.delivery.idle();
      await exporter.shutdown();
    }
    await backend.sink.waitFor(4);
    const [a, b, again, againB] = backend.sink.spans as [SpanRecord, SpanRecord, SpanRecord, SpanRecord];
    expect([again.traceId, again.spanId, againB.traceId, againB.spanId]).toEqual([a.traceId, a.spanId, b.traceId, b.spanId]);
    expect(b.traceId).toBe(a.traceId);
    expect(b.spanId).not.toBe(a.spanId);
    // the trace id comes from the problem id alone
    expect(createHash('sha256').update(`sidelight.problem ${openProblem.problem.id}`).digest('hex').slice(0, 32)).toBe(a.traceId);
  });

  it('keeps at most 128 member events and 128 exemplar links on a span, and counts what it left out', async () => {
    const symptoms = Array.from({ length: 150 }, (_, i) =>
      painPoint({
        id: `pp-${(0xb000 + i).toString(16).padStart(16, '0')}`,
        kind: 'failure_rate',
        severity: 'medium',
        subject: { service: 'kc-orchestrator', operation: 'invoke_agent', agent: `agent-${i}` },
        title: `agent-${i} fails`,
        evidence: { window: '5m', metrics: {}, exemplar_trace_ids: [createHash('sha256').update(`t${i}`).digest('hex').slice(0, 32)] },
      }),
    );
    const wide = problemChangeOf({ root: members.root, symptoms }, {}, [rec]);
    const backend = await sidelight();
    const raw = await capturing();
    for (const [endpoint, protocol] of [
      [backend.httpUrl, 'http/protobuf'],
      [raw.url, 'http/json'],
    ] as const) {
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint, protocol }), testContext('otlp_traces'), { env: {} });
      exporter.export(wide);
      await exporter.delivery.idle();
      await exporter.shutdown();
    }
    await backend.sink.waitFor(1);
    const span = backend.sink.spans[0] as SpanRecord;
    expect(span.events).toHaveLength(128);
    expect(span.events[0]?.attributes['sidelight.problem.role']).toBe('root');
    expect(span.links).toHaveLength(128);
    expect(span.links[0]?.traceId).toBe(TRACE_A);
    // 151 members + 1 recommendation = 152 events, 2 + 150 exemplar traces = 152 links
    const sent = JSON.parse(raw.accepted()[0]?.body.toString('utf8') ?? '{}') as { resourceSpans: { scopeSpans: { spans: { droppedEventsCount: number; droppedLinksCount: number }[] }[] }[] };
    expect(sent.resourceSpans[0]?.scopeSpans[0]?.spans[0]).toMatchObject({ droppedEventsCount: 24, droppedLinksCount: 24 });
  });
});

describe('webhook: problem changes', () => {
  it('posts {problem, members, recommendations}, filters by severity and state (merged included), and skips pain points by default', async () => {
    const r = await capturing();
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url + '/alerts', min_severity: 'medium', states: ['open', 'merged'] }), testContext('webhook'), { clock: virtualClock() });
    exporter.export(painPointChange);
    exporter.export(openProblem);
    exporter.export(problemChangeOf(members, { state: 'resolved' }));
    exporter.export(problemChangeOf({ root: painPoint({ severity: 'low' }) }, { severity: 'low' }));
    exporter.export(mergedProblem);
    await exporter.delivery.idle();
    await exporter.shutdown();
    const bodies = r.accepted().map((q) => JSON.parse(q.body.toString('utf8')) as { problem: { id: string; state: string; root: { id: string } }; members: { id: string }[]; recommendations: { id: string }[] });
    expect(bodies.map((b) => [b.problem.id, b.problem.state])).toEqual([
      [openProblem.problem.id, 'open'],
      [mergedProblem.problem.id, 'merged'],
    ]);
    const [first] = bodies;
    expect(problemRecordSchema.parse(first?.problem)).toEqual(openProblem.problem);
    expect(first?.members.map((m) => m.id)).toEqual([members.root.id, 'pp-00000000000000a1', 'pp-00000000000000a2', 'pp-00000000000000a3']);
    expect(first?.members[0]).toEqual(members.root);
    expect(first?.recommendations.map((x) => x.id)).toEqual([rec.id]);
  });

  it('batches problem and pain-point changes as {changes: [...]} with emit: both', async () => {
    const r = await capturing();
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url, emit: 'both', max_batch_size: 10 }), testContext('webhook'), { clock: virtualClock() });
    exporter.export(painPointChange);
    exporter.export(openProblem);
    await exporter.delivery.idle();
    await exporter.shutdown();
    const changes = r.accepted().flatMap((q) => (JSON.parse(q.body.toString('utf8')) as { changes: Record<string, { id: string }>[] }).changes);
    expect(changes.map((c) => (c['problem'] ?? c['painpoint'])?.id)).toEqual([members.root.id, openProblem.problem.id]);
  });
});

describe('emit: painpoints and both on the alerting outputs, problems on the record outputs', () => {
  it('stdout with emit: painpoints prints the pain-point line and no problem', () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ emit: 'painpoints' }), testContext('stdout'), { write: (x: string) => out.push(x) });
    exporter.export(openProblem);
    exporter.export(painPointChange);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`^\\[OPEN\\] high failure_rate ${members.root.id} `));
  });

  it('webhook with emit: painpoints posts {painpoint, recommendations} and no problem', async () => {
    const r = await capturing();
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url, emit: 'painpoints' }), testContext('webhook'), { clock: virtualClock() });
    exporter.export(openProblem);
    exporter.export(painPointChange);
    await exporter.delivery.idle();
    await exporter.shutdown();
    const bodies = r.accepted().map((q) => JSON.parse(q.body.toString('utf8')) as Record<string, { id: string }>);
    expect(bodies.map((b) => [Object.keys(b).sort(), b['painpoint']?.id])).toEqual([[['painpoint', 'recommendations'], members.root.id]]);
  });

  it('sqlite with emit: problems stores the problems and no pain point', async () => {
    const file = path.join(dir, 'problems-only.db');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: file, emit: 'problems' }), testContext('sqlite'));
    exporter.export(painPointChange);
    exporter.export(openProblem);
    await exporter.shutdown();
    const store = openPainPointStore(file);
    expect([store.listProblems().map((p) => p.id), store.listPainPoints().length, store.listChanges().length]).toEqual([[openProblem.problem.id], 0, 0]);
    store.close();
  });
});

describe('jsonl: problems to problems_path', () => {
  it('writes problem records to problems_path and pain points to path (emit both), each file as its emit asks', async () => {
    const config = jsonlConfigSchema.parse({ path: path.join(dir, 'out', 'painpoints.jsonl'), problems_path: path.join(dir, 'out', 'problems.jsonl'), recommendations_path: path.join(dir, 'out', 'recs.jsonl') });
    const ctx = testContext('jsonl');
    const exporter = createJsonlExporter(config, ctx);
    exporter.export(painPointChange);
    exporter.export(openProblem);
    exporter.export(mergedProblem);
    await exporter.shutdown();
    const read = (f: string) => fs.readFileSync(path.join(dir, 'out', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(read('painpoints.jsonl')).toEqual([members.root]);
    const problems = read('problems.jsonl');
    expect(problems.map((p) => problemRecordSchema.parse(p))).toEqual([openProblem.problem, mergedProblem.problem]);
    // the record's fields in the record's order
    expect(Object.keys(problems[0] ?? {})).toEqual([
      'id', 'state', 'severity', 'category', 'title', 'description', 'root', 'symptoms', 'contributing', 'impact', 'first_seen', 'last_seen', 'exemplar_trace_ids', 'run_ids', 'recommendation_ids',
    ]);
    expect(Object.keys(problems[1] ?? {})).toContain('merged_into');
    expect(read('recs.jsonl').map((r) => r['id'])).toEqual([rec.id]);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_sent_total', { exporter: 'jsonl' })).toBe(3);
  });

  it('with emit: painpoints never creates the problems file; with emit: problems never writes pain points', async () => {
    for (const emit of ['painpoints', 'problems'] as const) {
      const sub = path.join(dir, emit);
      const exporter = createJsonlExporter(jsonlConfigSchema.parse({ path: path.join(sub, 'pp.jsonl'), problems_path: path.join(sub, 'pb.jsonl'), emit }), testContext('jsonl'));
      exporter.export(painPointChange);
      exporter.export(openProblem);
      await exporter.shutdown();
      expect(fs.readdirSync(sub)).toEqual([emit === 'painpoints' ? 'pp.jsonl' : 'pb.jsonl']);
    }
  });
});

describe('stdout: a problem line', () => {
  it('prints the root and the spread, the merge target of a merged problem, and no pain point by default', () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({}), testContext('stdout'), { write: (s: string) => out.push(s) });
    exporter.export(painPointChange);
    exporter.export(openProblem);
    exporter.export(mergedProblem);
    expect(out).toEqual([
      `[OPEN] high problem ${openProblem.problem.id} web_search rate-limited (429): 42 % of calls fail; 2 symptoms — root failure_rate on web_search; 2 symptoms: failure_spike on web_search, error_cluster on error class rate_limit; contributing: retry_no_backoff on web_search\n`,
      `[MERGED] medium problem ${mergedProblem.problem.id} ${mergedProblem.problem.title} — merged into ${openProblem.problem.id}\n`,
    ]);
  });

  it('prints the problem record as one JSON line with format json, and both kinds with emit: both', () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ format: 'json', emit: 'both' }), testContext('stdout'), { write: (s: string) => out.push(s) });
    exporter.export(painPointChange);
    exporter.export(openProblem);
    expect(out.map((l) => JSON.parse(l) as unknown)).toEqual([members.root, openProblem.problem]);
  });
});

describe('sqlite: problems stored beside pain points', () => {
  it('upserts problems, keeps their change history, and lists those resolved or merged since a time', async () => {
    const file = path.join(dir, 'store.db');
    let now = Date.parse('2026-11-27T00:00:00.000Z');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: file }), testContext('sqlite'), { now: () => now });
    exporter.export(painPointChange);
    exporter.export(openProblem);
    exporter.export(problemChangeOf({ root: painPoint({ id: 'pp-00000000000000b1', subject: { service: 'kc-orchestrator', operation: 'chat', model: 'gpt-4o' }, kind: 'latency_regression' }) }));
    await exporter.flush();
    now += 60_000;
    const resolved = problemChangeOf(members, { state: 'resolved', last_seen: '2026-11-26T10:20:00.000Z' });
    exporter.export(resolved);
    exporter.export(mergedProblem);
    await exporter.shutdown();

    const store = openPainPointStore(file);
    expect(store.listPainPoints().map((p) => p.id)).toEqual([members.root.id]);
    expect(store.listProblems().map((p) => p.state).sort()).toEqual(['merged', 'open', 'resolved']);
    expect(store.listProblems({ state: 'open' }).map((p) => p.root.kind)).toEqual(['latency_regression']);
    const since = store.listResolvedProblemsSince('2026-11-27T00:00:30.000Z', 10);
    expect(since.map((p) => [p.id, p.state])).toEqual([
      [openProblem.problem.id, 'resolved'],
      [mergedProblem.problem.id, 'merged'],
    ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)));
    expect(since[0]).toMatchObject({ updated_at: '2026-11-27T00:01:00.000Z' });
    const { updated_at: _at, ...record } = since.find((p) => p.state === 'resolved') ?? { updated_at: '' };
    expect(record).toEqual(resolved.problem);
    expect(store.listResolvedProblemsSince('2026-11-27T00:02:00.000Z', 10)).toEqual([]);
    expect(store.listProblemChanges(openProblem.problem.id).map((p) => p.state)).toEqual(['open', 'resolved']);
    expect(store.listRecommendations().map((r) => r.id)).toEqual([rec.id]);
    store.close();
  });

  it('caps the problem history on its own and stores no problems with emit: painpoints', async () => {
    const file = path.join(dir, 'cap.db');
    const ctx = testContext('sqlite');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: file, max_history_rows: 2 }), ctx);
    for (const state of ['open', 'updated', 'updated', 'resolved'] as const) exporter.export(problemChangeOf(members, { state }));
    exporter.export(painPointChange);
    await exporter.shutdown();
    let store = openPainPointStore(file);
    expect(store.listProblemChanges().map((p) => p.state)).toEqual(['updated', 'resolved']);
    expect(store.listChanges()).toHaveLength(1);
    store.close();
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_pruned_total', { exporter: 'sqlite' })).toBe(2);

    const other = path.join(dir, 'pp-only.db');
    const painOnly = createSqliteExporter(sqliteConfigSchema.parse({ path: other, emit: 'painpoints' }), testContext('sqlite'));
    painOnly.export(openProblem);
    painOnly.export(painPointChange);
    await painOnly.shutdown();
    store = openPainPointStore(other);
    expect([store.listProblems().length, store.listPainPoints().length]).toEqual([0, 1]);
    store.close();
  });
});
