import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createWebhookExporter, webhookConfigSchema } from '../exporters/webhook.js';
import { createJsonlExporter, jsonlConfigSchema } from '../exporters/jsonl.js';
import { jitteredDelay, nextInterval, parseRetryAfter } from '../exporters/delivery/backoff.js';
import { retryOnFailureSchema } from '../exporters/delivery/settings.js';
import { JsonlSpool } from '../exporters/delivery/spool.js';
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
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url + '/hook' }), ctx, { clock });
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
    const config = webhookConfigSchema.parse({ url: r.url, timeout: '1s' });
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
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url }), testContext('webhook'), { clock });
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
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: r.url }), ctx, { clock: virtualClock() });
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
    const config = webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}`, retry_on_failure: { max_elapsed_time: '10s' }, spool: false });
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
    const config = webhookConfigSchema.parse({ url: r.url, retry_on_failure: { initial_interval: '1ms', max_interval: '2ms' } });
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
    const config = webhookConfigSchema.parse({ url: r.url, shutdown_timeout: '30ms', spool: false });
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
      webhookConfigSchema.parse({ url: `http://127.0.0.1:${port}`, queue_size: 100, shutdown_timeout: '50ms', spool: false }),
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

describe('the disk spool', () => {
  it('spools changes while the backend is down, delivers them all in order when it returns, and empties the spool', async () => {
    const r = await receiver();
    let down = true;
    r.respond = () => (down ? { status: 503 } : { status: 200 });
    const spoolDir = path.join(dir, 'spool');
    const clock = virtualClock();
    const ctx = testContext('webhook');
    const config = webhookConfigSchema.parse({
      url: r.url,
      queue_size: 3,
      spool_dir: spoolDir,
      spool_after_down: '5s',
      retry_on_failure: { max_elapsed_time: '20s' },
    });
    const exporter = createWebhookExporter(config, ctx, { clock });
    const changes = Array.from({ length: 10 }, (_, n) => nthChange(n));
    for (const c of changes) exporter.export(c);
    // queue_size 3: the 7 beyond the memory queue went to disk at once
    expect(exporter.delivery.stats().spooled).toBeGreaterThanOrEqual(7);
    // let retries run out on the virtual clock: everything ends up on disk, nothing dropped
    while (exporter.delivery.stats().spooled < 10) await new Promise((res) => setImmediate(res));
    const spoolFile = path.join(spoolDir, 'webhook.jsonl');
    expect(fs.readFileSync(spoolFile, 'utf8').trimEnd().split('\n')).toHaveLength(10);
    expect(exporter.delivery.stats().dropped).toEqual({});

    down = false;
    await r.waitForAccepted(10);
    await exporter.delivery.idle();
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual(changes.map((c) => c.painpoint.id));
    expect(exporter.delivery.stats()).toMatchObject({ spooled: 0, queued: 0, sent: 10, dropped: {} });
    expect(fs.readFileSync(spoolFile, 'utf8')).toBe('');
    await exporter.shutdown();
  });

  it('after a restart, a new exporter with the same spool_dir resends what was spooled', async () => {
    const port = await closedPort();
    const spoolDir = path.join(dir, 'spool');
    const base = { spool_dir: spoolDir, shutdown_timeout: '10ms' };
    const first = createWebhookExporter(webhookConfigSchema.parse({ ...base, url: `http://127.0.0.1:${port}` }), testContext('webhook'), {
      clock: virtualClock(),
    });
    const changes: PainPointChange[] = [1, 2, 3, 4].map((n) => nthChange(n));
    for (const c of changes) first.export(c);
    await first.shutdown();
    expect(first.delivery.stats()).toMatchObject({ queued: 0, spooled: 4, dropped: {} });

    const r = await receiver();
    const second = createWebhookExporter(webhookConfigSchema.parse({ ...base, url: r.url }), testContext('webhook'), { clock: virtualClock() });
    await r.waitForAccepted(4);
    await second.delivery.idle();
    expect(r.accepted().map((q) => bodyId(q.body))).toEqual(changes.map((c) => c.painpoint.id));
    expect(second.delivery.stats()).toMatchObject({ spooled: 0, sent: 4 });
    await second.shutdown();
  });

  it('caps the spool file in bytes and counts what does not fit', () => {
    const spool = new JsonlSpool<{ n: number; pad: string }>(dir, 'capped', 200);
    const items = Array.from({ length: 10 }, (_, n) => ({ n, pad: 'x'.repeat(30) }));
    const rejected = spool.append(items);
    expect(spool.pendingItems).toBe(4);
    expect(spool.pendingBytes).toBeLessThanOrEqual(200);
    expect(rejected.map((i) => i.n)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('reads from the head, commits delivered lines and survives a torn last line', () => {
    const file = path.join(dir, 'torn.jsonl');
    fs.writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":3}\n{"n":');
    const spool = new JsonlSpool<{ n: number }>(dir, 'torn', 1_000_000);
    expect(spool.pendingItems).toBe(3);
    const batch = spool.peek(2);
    expect(batch.items).toEqual([{ n: 1 }, { n: 2 }]);
    spool.commit(batch);
    spool.append([{ n: 4 }]);
    const reopened = new JsonlSpool<{ n: number }>(dir, 'torn', 1_000_000);
    expect(reopened.peek(10).items).toEqual([{ n: 3 }, { n: 4 }]);
    reopened.prepend([{ n: 0 }]);
    expect(reopened.peek(10).items).toEqual([{ n: 0 }, { n: 3 }, { n: 4 }]);
  });
});
