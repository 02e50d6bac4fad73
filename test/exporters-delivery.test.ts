import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createWebhookExporter, webhookConfigSchema } from '../exporters/webhook.js';
import { createJsonlExporter, jsonlConfigSchema } from '../exporters/jsonl.js';
import { jitteredDelay, nextInterval, parseRetryAfter } from '../exporters/delivery/backoff.js';
import { retryOnFailureSchema } from '../exporters/delivery/settings.js';
import { classifyError } from '../exporters/delivery/http-sender.js';
import type { PainPointChange } from '../src/model/events.js';
import {
  captureLog,
  closedPort,
  metricValue,
  nthChange,
  startReceiver,
  testContext,
  virtualClock,
  type TestReceiver,
} from './exporters-support.js';

let dir: string;
const receivers: TestReceiver[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-delivery-'));
});
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function receiver(): Promise<TestReceiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** Yields to I/O until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((res) => setImmediate(res));
}

function bodyId(body: Buffer): string {
  return (JSON.parse(body.toString('utf8')) as { painpoint: { id: string } }).painpoint.id;
}

describe('backoff arithmetic', () => {
  const retry = retryOnFailureSchema.parse({});

  it('uses the Collector defaults: 1 s initial, 30 s max, 5 m elapsed, ×1.5, ±50 %', () => {
    expect(retry).toEqual({
      enabled: true,
      initial_interval: 1_000,
      max_interval: 30_000,
      max_elapsed_time: 300_000,
      multiplier: 1.5,
      randomization_factor: 0.5,
    });
  });

  it('draws each delay within interval × [0.5, 1.5] and caps it at max_interval', () => {
    expect(jitteredDelay(1_000, retry, () => 0)).toBe(500);
    expect(jitteredDelay(1_000, retry, () => 0.999999)).toBeCloseTo(1_500, 0);
    expect(jitteredDelay(40_000, retry, () => 0.5)).toBe(30_000);
    expect(nextInterval(1_000, retry)).toBe(1_500);
    expect(nextInterval(25_000, retry)).toBe(30_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-26T10:00:00.000Z');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('retries connection errors and timeouts, not other errors', () => {
    expect(classifyError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), false)).toMatchObject({ retryable: true });
    expect(classifyError(Object.assign(new Error('x'), { cause: { code: 'ECONNRESET' } }), false)).toMatchObject({ retryable: true });
    expect(classifyError(new Error('slow'), true)).toMatchObject({ retryable: true, reason: 'request timed out' });
    expect(classifyError(new TypeError('bad url'), false)).toMatchObject({ retryable: false });
  });
});

describe('delivery with retries', () => {
  it('delivers every change exactly once and in order through three 503 answers with Retry-After: 0', async () => {
    const r = await receiver();
    r.respond = (_req, i) => (i < 3 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 });
    const clock = virtualClock();
    const ctx = testContext('webhook');
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url + '/hook' }), ctx, { clock });
    const changes = [1, 2, 3, 4, 5].map((n) => nthChange(n));
    for (const c of changes) exporter.export(c);
    await r.waitForAccepted(5);
    await exporter.delivery.idle();
    await exporter.shutdown();

    expect(r.requests.slice(0, 3).map((q) => bodyId(q.body))).toEqual([changes[0]?.painpoint.id, changes[0]?.painpoint.id, changes[0]?.painpoint.id]);
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual(changes.map((c) => c.painpoint.id));
    // Retry-After: 0 is honoured instead of the 1 s backoff
    expect(clock.sleeps.slice(0, 3)).toEqual([0, 0, 0]);
    expect(exporter.delivery.stats()).toMatchObject({ sent: 5, dropped: {} });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_sent_total', { exporter: 'webhook' })).toBe(5);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_retries_total', { exporter: 'webhook' })).toBe(3);
  });

  it('retries a request that timed out and a connection that was reset', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i === 0 ? { status: 'hang' } : i === 1 ? { status: 'reset' } : { status: 200 });
    const log = captureLog();
    // The timeout is real time (undici), and the reset must reach the client before it: 1 s, not
    // 50 ms, so a loaded machine does not turn the reset into a second timeout.
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, timeout: '1s' });
    const exporter = createWebhookExporter(config, testContext('webhook', log.logger), { clock: virtualClock() });
    exporter.export(nthChange(1));
    await exporter.delivery.idle();
    await exporter.shutdown();
    expect(r.requests).toHaveLength(3);
    expect(log.lines.filter((l) => l.includes('retrying')).map((l) => l.split(': ')[1])).toEqual(['request timed out; retrying in 1000 ms', 'UND_ERR_SOCKET']);
    expect(exporter.delivery.stats()).toMatchObject({ sent: 1, dropped: {} });
  });

  it('backs off exponentially when the backend gives no Retry-After', async () => {
    const r = await receiver();
    r.respond = (_req, i) => (i < 4 ? { status: 502 } : { status: 200 });
    const clock = virtualClock();
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url }), testContext('webhook'), { clock });
    exporter.export(nthChange(1));
    await r.waitForAccepted(1);
    await exporter.shutdown();
    // random() = 0.5 gives the interval itself: 1 s, 1.5 s, 2.25 s, 3.375 s
    expect(clock.sleeps.slice(0, 4)).toEqual([1_000, 1_500, 2_250, 3_375]);
  });

  it('drops a change the backend rejects with 400 at once, counted, without retrying', async () => {
    const r = await receiver();
    r.respond = () => ({ status: 400, body: 'bad payload' });
    const log = captureLog();
    const ctx = testContext('webhook', log.logger);
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url }), ctx, { clock: virtualClock() });
    exporter.export(nthChange(7));
    await exporter.delivery.idle();
    await exporter.shutdown();
    expect(r.requests).toHaveLength(1);
    expect(exporter.delivery.stats().dropped).toEqual({ rejected: 1 });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'webhook', reason: 'rejected' })).toBe(1);
    expect(log.lines.some((l) => l.includes('dropped 1 changes (rejected): pp-0000000000000007/open'))).toBe(true);
  });

  it('gives up after max_elapsed_time without a spool and counts the drop with the pain-point id', async () => {
    const port = await closedPort();
    const log = captureLog();
    const ctx = testContext('webhook', log.logger);
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: `http://127.0.0.1:${port}`, retry_on_failure: { max_elapsed_time: '10s' }, spool: false });
    const exporter = createWebhookExporter(config, ctx, { clock: virtualClock() });
    exporter.export(nthChange(9));
    await exporter.delivery.idle();
    await exporter.shutdown();
    expect(exporter.delivery.stats().dropped).toEqual({ retries_exhausted: 1 });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'webhook', reason: 'retries_exhausted' })).toBe(1);
    expect(log.lines.some((l) => l.includes('pp-0000000000000009/open'))).toBe(true);
  });
});

describe('shutdown', () => {
  it('flushes what is queued before it resolves (real timers, tiny backoff)', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i % 2 === 0 ? { status: 503 } : { status: 200 });
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, retry_on_failure: { initial_interval: '1ms', max_interval: '2ms' } });
    const exporter = createWebhookExporter(config, testContext('webhook'));
    for (let n = 0; n < 5; n++) exporter.export(nthChange(n));
    await exporter.shutdown();
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual([0, 1, 2, 3, 4].map((n) => nthChange(n).painpoint.id));
    expect(exporter.delivery.stats()).toMatchObject({ queued: 0, inFlight: 0, sent: 5, dropped: {} });
  });

  it('stops at shutdown_timeout, then drops what is left (no spool), counted', async () => {
    const r = await receiver();
    r.respond = () => ({ status: 503, headers: { 'retry-after': '0' } });
    const ctx = testContext('webhook');
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, shutdown_timeout: '30ms', spool: false });
    const exporter = createWebhookExporter(config, ctx);
    for (let n = 0; n < 3; n++) exporter.export(nthChange(n));
    await exporter.shutdown();
    expect(exporter.delivery.stats()).toMatchObject({ queued: 0, inFlight: 0, sent: 0, dropped: { shutdown: 3 } });
    exporter.export(nthChange(4));
    expect(exporter.delivery.stats().dropped).toEqual({ shutdown: 3, closed: 1 });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'webhook' })).toBe(4);
  });
});

describe('a dead endpoint', () => {
  it('never blocks: 1000 exports return at once, the queue caps at queue_size, drops are counted and jsonl still writes every record', async () => {
    const port = await closedPort();
    const registry = new Registry();
    const webhook = createWebhookExporter(
      webhookConfigSchema.parse({ emit: 'painpoints', url: `http://127.0.0.1:${port}`, queue_size: 100, shutdown_timeout: '50ms', spool: false }),
      testContext('webhook', captureLog().logger, registry),
      { clock: virtualClock() },
    );
    const jsonlPath = path.join(dir, 'out', 'painpoints.jsonl');
    const jsonl = createJsonlExporter(jsonlConfigSchema.parse({ path: jsonlPath }), testContext('jsonl', captureLog().logger, registry));

    for (let n = 0; n < 1000; n++) {
      const change = nthChange(n);
      webhook.export(change);
      jsonl.export(change);
    }
    // all 1000 export() calls returned synchronously: the queue holds at most queue_size
    const stats = webhook.delivery.stats();
    expect(stats.queued).toBe(100);
    expect(stats.dropped).toEqual({ queue_full: 900 });
    expect(await metricValue(registry, 'sidelight_exporter_queue_depth', { exporter: 'webhook' })).toBe(100);
    expect(await metricValue(registry, 'sidelight_exporter_dropped_total', { exporter: 'webhook', reason: 'queue_full' })).toBe(900);

    await jsonl.shutdown();
    const lines = fs.readFileSync(jsonlPath, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    expect((JSON.parse(lines[999] as string) as { id: string }).id).toBe(nthChange(999).painpoint.id);

    await webhook.shutdown();
    // what was still queued at shutdown is dropped (no spool) and counted
    const after = webhook.delivery.stats();
    expect(after.queued).toBe(0);
    expect((after.dropped.queue_full ?? 0) + (after.dropped.shutdown ?? 0) + (after.dropped.retries_exhausted ?? 0)).toBe(1000);
  });
});

describe('write-ahead delivery', () => {
  /** Ids of the records in the segment files of a write-ahead log folder (raw bytes, as a crash leaves them). */
  function idsOnDisk(spoolDir: string): string {
    if (!fs.existsSync(spoolDir)) return '';
    return fs
      .readdirSync(spoolDir)
      .filter((f) => f.endsWith('.wal'))
      .map((f) => fs.readFileSync(path.join(spoolDir, f)).toString('latin1'))
      .join('');
  }

  it('writes every change to disk before the backend sees it', async () => {
    const spoolDir = path.join(dir, 'spool');
    const r = await receiver();
    const onDiskWhenSent: boolean[] = [];
    r.respond = (req) => {
      onDiskWhenSent.push(idsOnDisk(spoolDir).includes(`${bodyId(req.body)}/open`));
      return { status: 200 };
    };
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, spool_dir: spoolDir }), testContext('webhook'), { clock: virtualClock() });
    for (let n = 0; n < 5; n++) exporter.export(nthChange(n));
    await r.waitForAccepted(5);
    await exporter.delivery.idle();
    expect(onDiskWhenSent).toEqual([true, true, true, true, true]);
    expect(exporter.delivery.stats()).toMatchObject({ spooled: 0, sent: 5, dropped: {} });
    await exporter.shutdown();
  });

  it('keeps changes on disk while the backend is down past max_elapsed_time, drops none, and delivers them in order when it returns', async () => {
    const r = await receiver();
    let down = true;
    r.respond = () => (down ? { status: 503 } : { status: 200 });
    const spoolDir = path.join(dir, 'spool');
    const clock = virtualClock();
    const ctx = testContext('webhook');
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, queue_size: 3, spool_dir: spoolDir, retry_on_failure: { max_elapsed_time: '20s' } });
    const exporter = createWebhookExporter(config, ctx, { clock });
    const changes = Array.from({ length: 10 }, (_, n) => nthChange(n));
    for (const c of changes) exporter.export(c);
    // retries run out on the virtual clock, again and again; the changes stay in the log
    while (clock.sleeps.filter((ms) => ms === 30_000).length < 3) await new Promise((res) => setImmediate(res));
    expect(exporter.delivery.stats()).toMatchObject({ spooled: 10, sent: 0, dropped: {} });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_spool_items', { exporter: 'webhook' })).toBe(10);
    // only queue_size changes are held decoded in memory; the rest wait on disk only
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_queue_depth', { exporter: 'webhook' })).toBeLessThanOrEqual(3);

    down = false;
    await r.waitForAccepted(10);
    await exporter.delivery.idle();
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual(changes.map((c) => c.painpoint.id));
    expect(exporter.delivery.stats()).toMatchObject({ spooled: 0, queued: 0, sent: 10, dropped: {} });
    await exporter.shutdown();
  });

  it('after a restart, sends what was not acknowledged first, in order, then new changes, and nothing delivered before', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i < 2 ? { status: 200 } : { status: 503 });
    const spoolDir = path.join(dir, 'spool');
    const base = { spool_dir: spoolDir, shutdown_timeout: '10ms' };
    const first = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', ...base, url: r.url }), testContext('webhook'), { clock: virtualClock() });
    const changes: PainPointChange[] = [1, 2, 3, 4, 5].map((n) => nthChange(n));
    for (const c of changes) first.export(c);
    await until(() => first.delivery.stats().sent === 2);
    await first.shutdown();
    expect(first.delivery.stats()).toMatchObject({ sent: 2, spooled: 3, dropped: {} });

    r.respond = () => ({ status: 200 });
    const second = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', ...base, url: r.url }), testContext('webhook'), { clock: virtualClock() });
    second.export(nthChange(6));
    await r.waitForAccepted(6);
    await second.delivery.idle();
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual([1, 2, 3, 4, 5, 6].map((n) => nthChange(n).painpoint.id));
    expect(second.delivery.stats()).toMatchObject({ spooled: 0, sent: 4, dropped: {} });
    await second.shutdown();
  });

  it('past spool_max_bytes drops the newest change, counted and logged with its id, and keeps the older ones', async () => {
    const port = await closedPort();
    const log = captureLog();
    const ctx = testContext('webhook', log.logger);
    // a record on disk: 18 bytes of frame header, the id `pp-…/open` (24 bytes), the change as JSON
    const oneRecord = 18 + 24 + Buffer.byteLength(JSON.stringify(nthChange(0)));
    const config = webhookConfigSchema.parse({ emit: 'painpoints', url: `http://127.0.0.1:${port}`, spool_dir: path.join(dir, 'spool'), spool_max_bytes: oneRecord * 3, shutdown_timeout: '10ms' });
    const exporter = createWebhookExporter(config, ctx, { clock: virtualClock() });
    for (let n = 0; n < 5; n++) exporter.export(nthChange(n));
    expect(exporter.delivery.stats()).toMatchObject({ spooled: 3, dropped: { spool_full: 2 } });
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_dropped_total', { exporter: 'webhook', reason: 'spool_full' })).toBe(2);
    await exporter.shutdown();
    expect(log.lines).toContain(`warn exporter webhook: dropped 2 changes (spool_full): ${nthChange(3).painpoint.id}/open, ${nthChange(4).painpoint.id}/open`);
  });

  it('spool: false keeps memory only and writes no file', async () => {
    const r = await receiver();
    const ctx = testContext('webhook');
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, spool: false }), ctx, { clock: virtualClock() });
    exporter.export(nthChange(1));
    await exporter.delivery.idle();
    await exporter.shutdown();
    expect(fs.existsSync(path.join(ctx.settings.data_dir, 'spool'))).toBe(false);
    expect(exporter.delivery.stats()).toMatchObject({ sent: 1, commits: 0 });
  });

  it('an unusable spool folder is logged and counted, and delivery goes on from memory', async () => {
    const r = await receiver();
    const log = captureLog();
    const ctx = testContext('webhook', log.logger);
    const notADir = path.join(dir, 'file');
    fs.writeFileSync(notADir, '');
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ emit: 'painpoints', url: r.url, spool_dir: notADir }), ctx, { clock: virtualClock() });
    exporter.export(nthChange(1));
    await r.waitForAccepted(1);
    await exporter.shutdown();
    expect(log.lines.some((l) => l.startsWith(`error exporter webhook: write-ahead log ${notADir} unusable, delivering from memory only`))).toBe(true);
    expect(await metricValue(ctx.metrics, 'sidelight_exporter_errors_total', { exporter: 'webhook' })).toBe(1);
  });
});
