/**
 * The live page fed problem changes, over real HTTP on loopback: the first problem replaces the
 * pain-point items on every connected page (a `snapshot` event), later changes are `alert` events
 * with the problem's card, and the server-rendered page leads with the open problems, each with
 * its members as detail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { uiSchema } from '../config/ui-schema.js';
import { windowsSchema } from '../config/service-schema.js';
import type { PainPointRecord } from '../model/painpoint.js';
import { buildGroupRecommendation } from '../recommendations/build.js';
import { silentLogger } from '../telemetry/logger.js';
import { painPointPerKind } from '../../test/fixtures/report/painpoints.js';
import { problemChangeOf } from '../../test/fixtures/problems.js';
import { createSqliteExporter, sqliteConfigSchema } from '../../exporters/sqlite.js';
import { testContext } from '../../test/exporters-support.js';
import { createLivePage, type LivePage } from './live-page.js';

interface ReceivedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

let server: Server | undefined;
let page: LivePage | undefined;

afterEach(async () => {
  page?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = page = undefined;
});

const NOW = Date.parse('2026-11-26T10:10:00.000Z');

async function serve(storePath?: string): Promise<{ url: string; page: LivePage }> {
  const p = createLivePage({
    ...(storePath !== undefined ? { storePath } : {}),
    settings: uiSchema.parse({ trace_url: 'http://127.0.0.1:16686/trace/{trace_id}' }),
    windows: ['1m', '5m', '15m'],
    windowSettings: windowsSchema.parse({}),
    metrics: new Registry(),
    logger: silentLogger,
    now: () => NOW,
    instance: 'test',
    heartbeatMs: 0,
    defer: (fn) => fn(),
  });
  page = p;
  server = createServer((req, res) => {
    if (!p.route(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, page: p };
}

/** An open event stream, collecting the snapshot and alert events as they arrive (chart updates are not this test's subject). */
async function listen(url: string): Promise<{ events: ReceivedEvent[]; until(n: number): Promise<void>; close(): void }> {
  const ctl = new AbortController();
  const res = await fetch(`${url}/ui/events`, { signal: ctl.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: ReceivedEvent[] = [];
  let text = '';
  const until = async (n: number) => {
    while (events.length < n) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended after ${events.length} events`);
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const fields = Object.fromEntries(
          text
            .slice(0, end)
            .split('\n')
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
        );
        text = text.slice(end + 2);
        if (fields.event === 'snapshot' || fields.event === 'alert') events.push({ type: fields.event, data: JSON.parse(fields.data as string) as Record<string, unknown> });
      }
    }
  };
  return { events, until, close: () => ctl.abort() };
}

const kinds = painPointPerKind();
const of = (kind: string) => kinds.find((pp) => pp.kind === kind) as PainPointRecord;
const [failure, spike, cluster, noBackoff] = [of('failure_rate'), of('failure_spike'), of('error_cluster'), of('retry_no_backoff')];

describe('the live page fed problems', () => {
  it('replaces the pain-point cards on a connected page with the first problem, then updates it by alert events', async () => {
    const { url, page } = await serve();
    const stream = await listen(url);
    await stream.until(1);
    expect(stream.events[0]?.type).toBe('snapshot');
    expect(stream.events[0]?.data['open_heading']).toBe('Open pain points');

    page.onChange({ painpoint: failure, recommendations: [] });
    await stream.until(2);
    expect(stream.events[1]).toMatchObject({ type: 'alert', data: { id: failure.id, state: 'open' } });

    const rec = buildGroupRecommendation([failure, spike, cluster]).recommendation;
    const opened = problemChangeOf({ root: failure, symptoms: [spike, cluster], contributing: [noBackoff] }, { title: 'web_search rate-limited: 52 % of calls fail; 2 symptoms', recommendation_ids: [rec.id] }, [rec]);
    page.onChange(opened);
    await stream.until(3);
    const switched = stream.events[2] as ReceivedEvent;
    expect(switched.type).toBe('snapshot');
    expect(switched.data['open_heading']).toBe('Open problems');
    const openHtml = switched.data['open_html'] as string;
    expect(openHtml).toContain(`id="${opened.problem.id}"`);
    // the pain point is a member of the problem now, never a card of its own
    expect(openHtml).not.toContain(`<article class="alert" id="${failure.id}"`);
    expect(openHtml).toContain(`<li data-member="${failure.id}" data-role="root">`);
    expect(openHtml).toContain(`<li data-member="${cluster.id}" data-role="symptom"><span class="badge sev-medium">medium</span> <span class="role">symptom</span> <code>error_cluster</code> on error class timeout — timeout errors on 4 operations`);
    expect(openHtml).toContain(`data-role="contributing"`);
    expect(openHtml).toContain('<summary>Pain points (4)</summary>');
    expect(openHtml).toContain(`Fix: ${rec.title.replace(/&/g, '&amp;')}`);
    expect(switched.data['counts_html']).toContain('1 high');

    // a later pain-point change shows nothing on its own; the problem's next change is an alert
    page.onChange({ painpoint: { ...spike, state: 'updated' }, recommendations: [] });
    page.onChange(problemChangeOf({ root: failure, symptoms: [spike] }, { state: 'updated', severity: 'medium', title: 'web_search rate-limited: 30 % of calls fail; 1 symptom' }));
    await stream.until(4);
    expect(stream.events[3]).toMatchObject({ type: 'alert', data: { id: opened.problem.id, state: 'updated', severity: 'medium', order: [opened.problem.id] } });
    expect(stream.events[3]?.data['html']).toContain('web_search rate-limited: 30 % of calls fail; 1 symptom');
    // the fix arrived once and stays on the card
    expect(stream.events[3]?.data['html']).toContain(`kc task <code>${rec.task.id}</code>`);

    // merged: it leaves the open list for the resolved one, naming the problem it joined
    const other = problemChangeOf({ root: noBackoff });
    page.onChange(other);
    page.onChange(problemChangeOf({ root: noBackoff }, { state: 'merged', merged_into: opened.problem.id }));
    await stream.until(6);
    expect(stream.events[5]?.data['resolved_html']).toContain(`merged into <code>${opened.problem.id}</code>`);
    stream.close();

    const html = await (await fetch(`${url}/ui`)).text();
    expect(html).toContain('<h2 id="open-h">Open problems</h2>');
    expect(html).toContain('Skip to open problems');
    expect(html.match(/<article class="alert"/g)).toHaveLength(1);
    expect(html).toContain(`<dt>Root</dt><dd><code>failure_rate</code> on <strong>web_search</strong>`);
    expect(html).toContain(`<li data-id="${other.problem.id}">`);
  });

  it('lists the resolved and merged problems of the sqlite store once it shows problems (a restarted sidecar)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-live-store-'));
    try {
      const file = join(dir, 'sidelight.db');
      // the previous instance: its sqlite exporter stored a resolved and a merged problem an hour ago
      const previous = createSqliteExporter(sqliteConfigSchema.parse({ path: file }), testContext('sqlite'), { now: () => NOW - 3_600_000 });
      const resolved = problemChangeOf({ root: failure, symptoms: [spike] }, { state: 'resolved' });
      const merged = problemChangeOf({ root: noBackoff }, { state: 'merged', merged_into: resolved.problem.id });
      previous.export({ painpoint: { ...cluster, state: 'resolved' }, recommendations: [] });
      previous.export(resolved);
      previous.export(merged);
      await previous.shutdown();

      const { url, page } = await serve(file);
      const resolvedIds = async () => [...(await (await fetch(`${url}/ui`)).text()).matchAll(/<li data-id="([^"]+)">/g)].map((m) => m[1]);
      // pain points until the first problem arrives: the stored pain point
      expect(await resolvedIds()).toEqual([cluster.id]);
      page.onChange(problemChangeOf({ root: of('latency_regression') }));
      expect((await resolvedIds()).sort()).toEqual([resolved.problem.id, merged.problem.id].sort());
      const html = await (await fetch(`${url}/ui`)).text();
      expect(html).toContain(`merged into <code>${resolved.problem.id}</code>`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
