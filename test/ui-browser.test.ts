/**
 * The live page end to end in a real browser: the system's Chromium, headless, driven by
 * playwright-core, against a sidecar on an ephemeral loopback port; the workload (one failing
 * tool) is sent through the OpenTelemetry JS SDK while the page is open. Every wait is
 * Playwright's polling of the page, never a fixed sleep. Screenshots (light, dark, narrow) go to
 * test-artifacts/ui/ (git-ignored).
 *
 * Chromium: /usr/bin/chromium (Debian package `chromium`; .ci/run installs it), or CHROMIUM_PATH.
 * The flags keep it off the network, which this machine does not have.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { isProblemChange, type PainPointChange } from '../src/model/events.js';
import type { ProblemChange } from '../src/model/problem.js';
import { kcTaskSchema } from '../src/recommendations/schema.js';
import { createOtelClient } from './support/otel-client.js';
import { agentWorkload } from './support/agent-workload.js';
import { Registry } from 'prom-client';
import { createLivePage, type LivePage } from '../src/ui/live-page.js';
import { uiSchema } from '../src/config/ui-schema.js';
import { windowsSchema } from '../src/config/service-schema.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import { buildGroupRecommendation } from '../src/recommendations/build.js';
import { painPointPerKind } from './fixtures/report/painpoints.js';
import { problemChangeOf } from './fixtures/problems.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/ui/', import.meta.url));
const WEB_SEARCH_KEY = 'kc-orchestrator execute_tool web_search web_search';
const JAEGER = 'http://127.0.0.1:16686/trace/{trace_id}';
/** generous: the machine is shared, and a restart includes a drain */
const WAIT = { timeout: 20_000 };

let dir: string;
let context: BrowserContext | undefined;
let service: Service | undefined;
let port = 0;
const changes: PainPointChange[] = [];
const problemChanges: ProblemChange[] = [];

async function startSidecar(): Promise<string> {
  const config = parseConfigObject(
    {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
      exporters: { jsonl: { path: join(dir, 'painpoints.jsonl') }, sqlite: { path: join(dir, 'sidelight.db') } },
      service: { data_dir: join(dir, 'data'), ui: { trace_url: JAEGER } },
    },
    components,
    DEFAULT_CONFIG,
  );
  // the real clock: an idle sidecar's watermark follows the wall clock, as in production
  service = await startService(config, { logger: silentLogger, onChange: (c) => (isProblemChange(c) ? problemChanges.push(c) : changes.push(c)) });
  const http = service.endpoints.find((e) => e.startsWith('http://')) as string;
  port = Number(new URL(http).port);
  return http;
}

/** 200 agent tasks over the last five minutes, web_search failing in 40 % of them. */
async function sendFailingTool(http: string): Promise<void> {
  const client = createOtelClient(http, 'http/protobuf');
  client.sendTrees(agentWorkload({ start: Date.now() - 310_000, tasks: 200, every: 1_500, failEveryFive: 2 }));
  await client.flush();
  await client.shutdown();
}

/**
 * The browser globals the page functions below use: the project compiles without the DOM library,
 * and Playwright runs these functions in the page (the page's CSP forbids evaluating strings).
 */
interface PageElement {
  readonly id: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  getBoundingClientRect(): { top: number; left: number };
}
interface Web {
  readonly document: {
    readonly body: PageElement;
    readonly activeElement: PageElement | null;
    readonly documentElement: { readonly scrollWidth: number };
    querySelector(selector: string): PageElement | null;
    getElementById(id: string): PageElement | null;
  };
  readonly navigator: { readonly clipboard: { readText(): Promise<string>; writeText(text: string): Promise<void> } };
  readonly innerWidth: number;
  getComputedStyle(el: PageElement): { readonly backgroundColor: string };
}

const webSearchCard = (page: Page) => page.locator('#open-list .alert', { hasText: 'web_search fails' });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install the Debian package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  dir = mkdtempSync(join(tmpdir(), 'sidelight-browser-'));
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'sidelight-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

let bare: { server: Server; page: LivePage } | undefined;

afterAll(async () => {
  await context?.close();
  await service?.shutdown();
  bare?.page.close();
  bare?.server.closeAllConnections();
  bare?.server.close();
});

/**
 * The live page alone on a loopback port, fed changes by the test: problem changes from fixtures
 * built through the record's schema, so each lifecycle step (merged, root replaced) is shown on
 * cue.
 */
async function startBarePage(): Promise<{ url: string; page: LivePage }> {
  const page = createLivePage({
    settings: uiSchema.parse({ trace_url: JAEGER }),
    windows: ['1m', '5m', '15m'],
    windowSettings: windowsSchema.parse({}),
    metrics: new Registry(),
    logger: silentLogger,
  });
  const server = createServer((req, res) => {
    if (!page.route(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bare = { server, page };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, page };
}

describe('the live page in Chromium', () => {
  it('shows a failing tool without reload, charts it, copies its kc task, links its traces, and reconnects after a restart', async () => {
    const http = await startSidecar();
    const browser = context as BrowserContext;
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: http });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // refused connections and 503s while the sidecar restarts are expected; a CSP violation or a script error is not
      if (m.type() === 'error' && !/ERR_CONNECTION_REFUSED|status of 503|net::ERR_/.test(m.text())) problems.push(m.text());
    });

    await page.goto(`${http}/ui`);
    await page.locator('#status[data-state="live"]').waitFor(WAIT);
    await expect(page.locator('#open-list .empty').textContent()).resolves.toBe('Nothing is wrong right now.');

    // the workload arrives while the page is open: the pain point appears without reload
    await sendFailingTool(http);
    const card = webSearchCard(page);
    await card.waitFor(WAIT);
    const opened = changes.find((c) => c.painpoint.kind === 'failure_rate' && c.painpoint.subject.tool === 'web_search');
    expect(opened).toBeDefined();
    const pp = opened!.painpoint;
    // one card per problem: the one whose root is the failing tool
    const problem = problemChanges.find((c) => c.problem.root.id === pp.id)?.problem;
    expect(problem).toBeDefined();
    const cardId = problem!.id;
    expect(await card.getAttribute('id')).toBe(cardId);
    expect(await card.locator('.badge').first().textContent()).toMatch(/^(medium|high)$/);
    expect(await card.locator('.facts').textContent()).toContain('failure_rate on web_search');

    // its chart has points, drawn by uPlot
    const op = page.locator(`#ops .op[data-key="${WEB_SEARCH_KEY}"]`);
    await page.waitForFunction((key) => Number((globalThis as unknown as Web).document.querySelector(`#ops .op[data-key="${key}"]`)?.getAttribute('data-points') ?? 0) > 0, WEB_SEARCH_KEY, WAIT);
    expect(await op.locator('.chart[data-metric="failure_rate"] canvas').count()).toBeGreaterThan(0);
    expect(await op.locator('[data-field="failure_rate"]').textContent()).toMatch(/^\d+(\.\d)? %$/);
    // how long it has been seen counts in the data's time, up to the newest boundary
    await page.waitForFunction((id) => / min$/.test((globalThis as unknown as Web).document.getElementById(id)?.querySelector('.since')?.textContent ?? ''), cardId, WAIT);
    // the card links to it
    expect(await card.locator('a[href^="#op-"]').getAttribute('href')).toBe(`#${await op.getAttribute('id')}`);

    // the copy button puts the kc task on the clipboard
    await card.locator('button.copy-task').click();
    await card.locator('.copied', { hasText: 'Copied' }).waitFor(WAIT);
    const copied = await page.evaluate(() => (globalThis as unknown as Web).navigator.clipboard.readText());
    const task = kcTaskSchema.parse(JSON.parse(copied));
    expect(copied).toBe(await card.locator('pre.task-json').textContent());
    expect(task.metadata.recommendationId).toMatch(/^REC-[0-9a-f]{12}$/);

    // exemplar traces link through ui.trace_url
    const link = card.locator('a.trace').first();
    const traceId = (await link.getAttribute('data-trace-id')) as string;
    expect(problemChanges.filter((c) => c.problem.id === cardId).flatMap((c) => c.problem.exemplar_trace_ids)).toContain(traceId);
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:16686/trace/${traceId}`);

    // keyboard: j moves the focus to the first card, c copies its task
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    await page.keyboard.press('j');
    const focused = await page.evaluate(() => (globalThis as unknown as Web).document.activeElement?.closest('.alert')?.id);
    expect(focused).toBe(await page.locator('#open-list .alert').first().getAttribute('id'));
    await page.evaluate(() => (globalThis as unknown as Web).navigator.clipboard.writeText(''));
    await page.keyboard.press('c');
    await page.waitForFunction(async () => (await (globalThis as unknown as Web).navigator.clipboard.readText()).startsWith('{'), undefined, WAIT);

    await page.screenshot({ path: join(ARTIFACTS, 'light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => {
      const web = globalThis as unknown as Web;
      return web.getComputedStyle(web.document.body).backgroundColor === 'rgb(13, 17, 23)';
    }, undefined, WAIT);
    await page.screenshot({ path: join(ARTIFACTS, 'dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 420, height: 900 });
    // one column: the operations come below the pain points
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as Web).document;
      const open = doc.querySelector('#open')?.getBoundingClientRect();
      const ops = doc.querySelector('#operations')?.getBoundingClientRect();
      return open !== undefined && ops !== undefined && ops.top > open.top && Math.abs(ops.left - open.left) < 1;
    }, undefined, WAIT);
    // nothing wider than the window
    expect(await page.evaluate(() => (globalThis as unknown as Web).document.documentElement.scrollWidth <= (globalThis as unknown as Web).innerWidth + 1)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'narrow.png') });
    await page.setViewportSize({ width: 1280, height: 800 });

    // restart: the page notices, reconnects to the new instance and takes its state
    await service!.shutdown();
    service = undefined;
    await page.locator('#status[data-state="reconnecting"]').waitFor(WAIT);
    changes.length = 0;
    problemChanges.length = 0;
    await startSidecar();
    await page.locator('#status[data-state="live"]').waitFor(WAIT);
    // the new instance has nothing open yet: the old card is gone without a reload
    await page.locator('#open-list .empty').waitFor(WAIT);
    // and new findings arrive on the same page
    await sendFailingTool(http);
    await webSearchCard(page).waitFor(WAIT);

    expect(problems).toEqual([]);
  }, 180_000);

  it('switches an open page from pain points to problems: one card per cause with its members, a merged problem among the resolved', async () => {
    const { url, page: live } = await startBarePage();
    const kinds = painPointPerKind();
    const of = (kind: string) => kinds.find((pp) => pp.kind === kind) as PainPointRecord;
    const [failure, spike, cluster, noBackoff] = [of('failure_rate'), of('failure_spike'), of('error_cluster'), of('retry_no_backoff')];
    const page = await (context as BrowserContext).newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${url}/ui`);
    await page.locator('#status[data-state="live"]').waitFor(WAIT);

    live.onChange({ painpoint: failure, recommendations: [] });
    live.onChange({ painpoint: spike, recommendations: [] });
    await page.locator(`#open-list .alert[id="${spike.id}"]`).waitFor(WAIT);
    expect(await page.locator('#open-h').textContent()).toBe('Open pain points');

    const rec = buildGroupRecommendation([failure, spike, cluster]).recommendation;
    const problem = problemChangeOf({ root: failure, symptoms: [spike, cluster], contributing: [noBackoff] }, { title: 'web_search rate-limited: 52 % of calls fail; 2 symptoms', recommendation_ids: [rec.id] }, [rec]);
    live.onChange(problem);
    const card = page.locator(`#open-list .alert[id="${problem.problem.id}"]`);
    await card.waitFor(WAIT);
    await page.locator('#open-h', { hasText: 'Open problems' }).waitFor(WAIT);
    // one card per cause: the pain points are its members now
    expect(await page.locator('#open-list .alert').count()).toBe(1);
    expect(await card.locator('.alert-title').textContent()).toBe('web_search rate-limited: 52 % of calls fail; 2 symptoms');
    expect(await card.locator('.facts').textContent()).toContain('failure_rate on web_search');
    await card.locator('details.members summary').click();
    expect(await card.locator('details.members li').evaluateAll((lis) => lis.map((li) => (li as unknown as PageElement).getAttribute('data-role')))).toEqual(['root', 'symptom', 'symptom', 'contributing']);
    expect(await card.locator(`details.members li[data-member="${cluster.id}"]`).textContent()).toContain('error_cluster on error class timeout — timeout errors on 4 operations');
    expect(JSON.parse((await card.locator('pre.task-json').textContent()) as string)).toEqual(rec.task);

    // an update keeps the card (and its open details), a merged problem goes to the resolved list
    live.onChange(problemChangeOf({ root: noBackoff }));
    await page.locator('#open-list .alert').nth(1).waitFor(WAIT);
    live.onChange(problemChangeOf({ root: failure, symptoms: [spike, cluster, noBackoff] }, { state: 'updated', title: 'web_search rate-limited: 52 % of calls fail; 3 symptoms' }));
    await card.locator('.alert-title', { hasText: '3 symptoms' }).waitFor(WAIT);
    expect(await card.locator('details.members').getAttribute('open')).not.toBeNull();
    live.onChange(problemChangeOf({ root: noBackoff }, { state: 'merged', merged_into: problem.problem.id }));
    await page.locator('#resolved-list li', { hasText: `merged into ${problem.problem.id}` }).waitFor(WAIT);
    expect(await page.locator('#open-list .alert').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'problems.png') });
    expect(errors).toEqual([]);
  }, 60_000);
});
