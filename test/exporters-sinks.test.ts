import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJsonlExporter, jsonlConfigSchema, jsonlExporterFactory } from '../exporters/jsonl.js';
import { createStdoutExporter, formatPainPointLine, stdoutConfigSchema } from '../exporters/stdout.js';
import { createSqliteExporter, openPainPointStore, sqliteConfigSchema } from '../exporters/sqlite.js';
import { createWebhookExporter, webhookConfigSchema } from '../exporters/webhook.js';
import { exporterFactories } from '../exporters/index.js';
import { painPointJson } from '../exporters/painpoint-json.js';
import type { PainPointChange } from '../src/model/events.js';
import { captureLog, metricValue, nthChange, painPoint, recommendation, startReceiver, testContext, virtualClock, type TestReceiver } from './exporters-support.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-sinks-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const rec1 = recommendation();
const rec2 = recommendation({ id: 'REC-00000000000000b2', title: 'Add backoff with jitter' });

describe('the exporter registry list', () => {
  it('has one factory per type, each with a config schema whose defaults parse from {}', () => {
    expect(exporterFactories.map((f) => f.type)).toEqual(['jsonl', 'stdout', 'otlp_traces', 'otlp_logs', 'webhook', 'sqlite']);
    for (const f of exporterFactories.filter((x) => x.type !== 'webhook')) expect(f.configSchema.safeParse({}).success).toBe(true);
  });
});

describe('jsonl', () => {
  it('creates folders and appends one docs/painpoints.md record per change, flushed on shutdown', async () => {
    const file = path.join(dir, 'a', 'b', 'painpoints.jsonl');
    const ctx = testContext('jsonl');
    const exporter = jsonlExporterFactory.create(jsonlConfigSchema.parse({ path: file }), ctx);
    const changes: PainPointChange[] = [
      { painpoint: painPoint(), recommendations: [rec1] },
      { painpoint: painPoint({ state: 'updated', severity: 'medium', impact: { score: 3, affected_runs: 1, affected_traces: 2, wasted_ms: 10, wasted_tokens: 0 } }), recommendations: [] },
      { painpoint: painPoint({ state: 'resolved' }), recommendations: [] },
    ];
    for (const c of changes) exporter.export(c);
    await exporter.shutdown();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(changes.map((c) => c.painpoint));
    // snake_case record fields in the record's order (docs/painpoints.md), nothing else (no recommendations by default)
    expect(Object.keys(JSON.parse(lines[0] as string) as object)).toEqual([
      'id', 'kind', 'severity', 'category', 'state', 'subject', 'title', 'description', 'evidence', 'first_seen', 'last_seen', 'run_ids',
    ]);
    expect(Object.keys(JSON.parse(lines[1] as string) as object)).toContain('impact');
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_sent_total', { exporter: 'jsonl' })).toBe(3);
  });

  it('adds recommendations when include_recommendations is true, and writes each recommendation id once to recommendations_path', async () => {
    const file = path.join(dir, 'out', 'pp.jsonl');
    const recsFile = path.join(dir, 'out', 'recs.jsonl');
    const config = jsonlConfigSchema.parse({ path: file, include_recommendations: true, recommendations_path: recsFile });
    const first = createJsonlExporter(config, testContext('jsonl'));
    first.export({ painpoint: painPoint(), recommendations: [rec1] });
    first.export({ painpoint: painPoint({ state: 'updated' }), recommendations: [rec1, rec2] });
    await first.flush();
    expect(fs.readFileSync(recsFile, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([rec1.id, rec2.id]);
    await first.shutdown();
    // a restart remembers what the file already holds
    const second = createJsonlExporter(config, testContext('jsonl'));
    second.export({ painpoint: painPoint({ state: 'resolved' }), recommendations: [rec2] });
    await second.shutdown();
    expect(fs.readFileSync(recsFile, 'utf8').trimEnd().split('\n')).toHaveLength(2);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { recommendations: { id: string }[] });
    expect(lines.map((l) => l.recommendations.map((r) => r.id))).toEqual([[rec1.id], [rec1.id, rec2.id], [rec2.id]]);
    expect(lines[0]?.recommendations[0]).toEqual(rec1);
  });

  it('starts with no remembered recommendation ids when recommendations_path does not exist yet, silently', async () => {
    const log = captureLog();
    const ctx = testContext('jsonl', log.logger);
    const config = jsonlConfigSchema.parse({ path: path.join(dir, 'fresh', 'pp.jsonl'), recommendations_path: path.join(dir, 'fresh', 'recs.jsonl') });
    const exporter = createJsonlExporter(config, ctx);
    exporter.export({ painpoint: painPoint(), recommendations: [rec1] });
    await exporter.shutdown();
    expect(log.lines).toEqual([]);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_errors_total', { exporter: 'jsonl' })).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'fresh', 'recs.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(1);
  });

  it('logs and counts a recommendations_path it cannot read, instead of taking it for empty', async () => {
    const log = captureLog();
    const ctx = testContext('jsonl', log.logger);
    const unreadable = path.join(dir, 'a-folder');
    fs.mkdirSync(unreadable);
    createJsonlExporter(jsonlConfigSchema.parse({ path: path.join(dir, 'pp.jsonl'), recommendations_path: unreadable }), ctx);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_errors_total', { exporter: 'jsonl' })).toBe(1);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^error exporter jsonl: cannot read .*a-folder to skip recommendations already written, some may repeat: .*EISDIR/);
  });

  it('after a kill cut its last line, starts the next record on a line of its own (warned), and leaves a whole file as it was', async () => {
    const file = path.join(dir, 'pp.jsonl');
    const whole = JSON.stringify({ id: 'pp-whole' });
    fs.writeFileSync(file, `${whole}\n{"id":"pp-cut","sta`);
    const log = captureLog();
    const first = createJsonlExporter(jsonlConfigSchema.parse({ path: file }), testContext('jsonl', log.logger));
    first.export(nthChange(1));
    await first.shutdown();
    const second = createJsonlExporter(jsonlConfigSchema.parse({ path: file }), testContext('jsonl', log.logger));
    second.export(nthChange(2));
    await second.shutdown();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines).toEqual([whole, '{"id":"pp-cut","sta', JSON.stringify(painPointJson(nthChange(1).painpoint)), JSON.stringify(painPointJson(nthChange(2).painpoint)), '']);
    // warned once: the second start found the file whole
    expect(log.lines).toEqual([expect.stringMatching(/^warn exporter jsonl: .*pp\.jsonl ended in a cut line \(a crash mid-write\); new lines start after it$/)]);
  });

  it('counts a write error instead of throwing', async () => {
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    const ctx = testContext('jsonl');
    const exporter = createJsonlExporter(jsonlConfigSchema.parse({ path: path.join(blocker, 'x.jsonl') }), ctx);
    expect(() => exporter.export(nthChange(1))).not.toThrow();
    await exporter.shutdown();
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'jsonl', reason: 'write_error' })).toBe(1);
  });
});

describe('stdout', () => {
  it('writes one readable line per state change', async () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ emit: 'painpoints' }), testContext('stdout'), { write: (s: string) => out.push(s) });
    exporter.export({ painpoint: painPoint(), recommendations: [] });
    exporter.export({ painpoint: painPoint({ state: 'resolved', severity: 'medium', evidence: { window: 'all', metrics: {}, exemplar_trace_ids: [] } }), recommendations: [] });
    await exporter.shutdown();
    expect(out).toEqual([
      '[OPEN] high failure_rate pp-3f9c0a1b2c3d4e5f web_search fails 42 % of calls (Wilson 95 % lower bound 31 %) — 5m window\n',
      '[RESOLVED] medium failure_rate pp-3f9c0a1b2c3d4e5f web_search fails 42 % of calls (Wilson 95 % lower bound 31 %) — whole input\n',
    ]);
  });

  it('does not repeat the window when the title already names it', async () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ emit: 'painpoints' }), testContext('stdout'), { write: (s: string) => out.push(s) });
    exporter.export({ painpoint: painPoint({ title: 'web_search fails 42 % of calls over the last 5m' }), recommendations: [] });
    await exporter.shutdown();
    expect(out).toEqual(['[OPEN] high failure_rate pp-3f9c0a1b2c3d4e5f web_search fails 42 % of calls over the last 5m\n']);
  });

  it('writes the record as one JSON line with format json', () => {
    const out: string[] = [];
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ emit: 'painpoints', format: 'json' }), testContext('stdout'), { write: (s: string) => out.push(s) });
    exporter.export({ painpoint: painPoint(), recommendations: [rec1] });
    expect(JSON.parse(out[0] as string)).toEqual(painPoint());
    expect(formatPainPointLine(painPoint({ state: 'updated', severity: 'low' }))).toMatch(/^\[UPDATED\] low failure_rate /);
  });

  it('drops (counted) instead of buffering without bound when the stream is backed up', async () => {
    const ctx = testContext('stdout');
    const exporter = createStdoutExporter(stdoutConfigSchema.parse({ emit: 'painpoints', max_buffered_bytes: 10 }), ctx, { write: () => true, writableLength: 11 });
    exporter.export(nthChange(1));
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'stdout', reason: 'buffer_full' })).toBe(1);
  });
});

describe('webhook', () => {
  let r: TestReceiver;
  beforeEach(async () => {
    r = await startReceiver();
  });
  afterEach(async () => {
    await r.close();
  });

  it('POSTs {painpoint, recommendations} per change with the configured headers', async () => {
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url + '/alerts', headers: { authorization: 'Bearer t' } });
    const exporter = createWebhookExporter(config, testContext('webhook'), { clock: virtualClock() });
    exporter.export({ painpoint: painPoint(), recommendations: [rec1] });
    await r.waitForAccepted(1);
    await exporter.shutdown();
    const req = r.accepted()[0];
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/alerts');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.authorization).toBe('Bearer t');
    expect(JSON.parse(req?.body.toString('utf8') ?? '')).toEqual({ painpoint: painPoint(), recommendations: [rec1] });
  });

  it('filters by min_severity and states, and batches as {changes: […]} when max_batch_size > 1', async () => {
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, min_severity: 'medium', states: ['open', 'resolved'], max_batch_size: 10 });
    const exporter = createWebhookExporter(config, testContext('webhook'), { clock: virtualClock() });
    const keep1 = { painpoint: painPoint({ id: 'pp-000000000000000a' }), recommendations: [] };
    const lowSeverity = { painpoint: painPoint({ id: 'pp-000000000000000b', severity: 'low' }), recommendations: [] };
    const updated = { painpoint: painPoint({ id: 'pp-000000000000000c', state: 'updated' }), recommendations: [] };
    const keep2 = { painpoint: painPoint({ id: 'pp-000000000000000d', severity: 'medium', state: 'resolved' }), recommendations: [] };
    for (const c of [keep1, lowSeverity, updated, keep2]) exporter.export(c as PainPointChange);
    await exporter.delivery.idle();
    await exporter.shutdown();
    const ids = r.accepted().flatMap((q) => (JSON.parse(q.body.toString('utf8')) as { changes: { painpoint: { id: string } }[] }).changes.map((c) => c.painpoint.id));
    expect(ids).toEqual(['pp-000000000000000a', 'pp-000000000000000d']);
  });

  it('requires a url and validates the filters', () => {
    expect(webhookConfigSchema.safeParse({}).error?.issues[0]?.path).toEqual(['url']);
    expect(webhookConfigSchema.safeParse({ url: 'http://x', min_severity: 'critical' }).success).toBe(false);
  });
});

describe('sqlite', () => {
  it('upserts pain points and recommendations and keeps the change history', async () => {
    const file = path.join(dir, 'data', 'sidelight.db');
    let now = Date.parse('2026-11-27T00:00:00.000Z');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: file }), testContext('sqlite'), { now: () => now });
    exporter.export({ painpoint: painPoint(), recommendations: [rec1] });
    await exporter.flush();
    now += 1_000;
    const updated = painPoint({ state: 'updated', severity: 'medium', last_seen: '2026-11-26T10:10:00.000Z' });
    exporter.export({ painpoint: updated, recommendations: [rec1, rec2] });
    exporter.export({ painpoint: painPoint({ id: 'pp-00000000000000ff', state: 'resolved' }), recommendations: [] });
    await exporter.flush();

    const store = openPainPointStore(file);
    expect(store.listPainPoints().map((p) => [p.id, p.state])).toEqual([
      ['pp-00000000000000ff', 'resolved'],
      ['pp-3f9c0a1b2c3d4e5f', 'updated'],
    ]);
    const [stored] = store.listPainPoints({ state: 'updated' });
    expect(stored).toEqual({ ...updated, updated_at: '2026-11-27T00:00:01.000Z' });
    expect(store.listRecommendations()).toEqual([rec2, rec1].sort((a, b) => a.id.localeCompare(b.id)));
    expect(store.listChanges('pp-3f9c0a1b2c3d4e5f').map((c) => c.state)).toEqual(['open', 'updated']);
    store.close();
    await exporter.shutdown();
    // WAL journal mode: file format read / write version bytes are 2
    expect([...fs.readFileSync(file).subarray(18, 20)]).toEqual([2, 2]);
  });

  it('prunes the oldest history rows beyond max_history_rows and counts them', async () => {
    const file = path.join(dir, 'prune.db');
    const ctx = testContext('sqlite');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: file, max_history_rows: 5 }), ctx);
    for (let n = 0; n < 8; n++) exporter.export(nthChange(n));
    await exporter.shutdown();
    const store = openPainPointStore(file);
    expect(store.listChanges().map((c) => c.id)).toEqual([3, 4, 5, 6, 7].map((n) => nthChange(n).painpoint.id));
    expect(store.listPainPoints()).toHaveLength(8);
    store.close();
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_pruned_total', { exporter: 'sqlite' })).toBe(3);
  });

  it('never throws when the store cannot be opened: changes are dropped and counted', async () => {
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    const ctx = testContext('sqlite');
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: path.join(blocker, 'x.db') }), ctx);
    expect(() => exporter.export(nthChange(1))).not.toThrow();
    await exporter.shutdown();
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_errors_total', { exporter: 'sqlite' })).toBe(1);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'sqlite', reason: 'write_error' })).toBe(1);
  });
});
