/**
 * The live page over real HTTP, with real parts: the OpenTelemetry JS SDK sends a workload with
 * one failing tool to a running sidecar, and /ui answers with the page rendered on the server
 * (what a browser without JavaScript shows). The service runs on a virtual clock that is never
 * advanced, so only the data's own time moves the watermark.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { isProblemChange, type PainPointChange } from '../src/model/events.js';
import type { ProblemChange, ProblemRecord } from '../src/model/problem.js';
import { kcTaskSchema } from '../src/recommendations/schema.js';
import { PAGE_CSS } from '../src/report/style.js';
import { createOtelClient, type OtelClient } from './support/otel-client.js';
import { agentWorkload } from './support/agent-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const JAEGER = 'http://127.0.0.1:16686/trace/{trace_id}';
let services: Service[] = [];
let client: OtelClient | undefined;

afterEach(async () => {
  await client?.shutdown();
  for (const s of services) await s.shutdown();
  services = [];
  client = undefined;
});

interface Started {
  readonly service: Service;
  readonly http: string;
  readonly telemetry: string | undefined;
  readonly changes: PainPointChange[];
  readonly problems: ProblemChange[];
}

async function startSidecar(service: Record<string, unknown> = {}, exporters: Record<string, unknown> = {}, dir = mkdtempSync(join(tmpdir(), 'sidelight-ui-'))): Promise<Started> {
  const config = parseConfigObject(
    {
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
      exporters: { jsonl: { path: join(dir, 'painpoints.jsonl') }, ...exporters },
      service: { data_dir: join(dir, 'data'), ...service },
    },
    components,
    DEFAULT_CONFIG,
  );
  const changes: PainPointChange[] = [];
  const problems: ProblemChange[] = [];
  const s = await startService(config, { scheduler: new VirtualTimeScheduler(), logger: silentLogger, onChange: (c) => (isProblemChange(c) ? problems.push(c) : changes.push(c)) });
  services.push(s);
  const http = s.endpoints.find((e) => e.startsWith('http://')) as string;
  const telemetry = s.endpoints.find((e) => e.startsWith('telemetry '))?.slice('telemetry '.length);
  return { service: s, http, telemetry, changes, problems };
}

/** Sends 200 tasks (web_search failing 40 %) and waits until the failure_rate pain point opened. */
async function sendFailingTool(started: Started, start = T0): Promise<PainPointChange> {
  client ??= createOtelClient(started.http, 'http/protobuf');
  client.sendTrees(agentWorkload({ start, tasks: 200, every: 1_500, failEveryFive: 2 }));
  await client.flush();
  for (let i = 0; i < 5_000; i++) {
    const found = started.changes.find((c) => c.painpoint.kind === 'failure_rate' && c.painpoint.state === 'open');
    if (found) return found;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('no failure_rate pain point opened');
}

const unescape = (html: string) => html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The problem the pain point opened (as its root or a member), once the problems stage has emitted it. */
async function problemOf(started: Started, ppId: string): Promise<ProblemRecord> {
  for (let i = 0; i < 5_000; i++) {
    const found = started.problems.find((c) => c.problem.root.id === ppId || c.problem.symptoms.some((m) => m.id === ppId));
    if (found) return found.problem;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no problem holds ${ppId}`);
}

describe('GET /ui', () => {
  it('renders the open problem on the server: root, impact, fix with steps, copy button, kc task and trace links', async () => {
    const started = await startSidecar({ ui: { trace_url: JAEGER } });
    const change = await sendFailingTool(started);
    const pp = change.painpoint;
    // the page shows one card per problem; this one's root is the failing tool
    const problem = await problemOf(started, pp.id);
    expect(problem.root.id).toBe(pp.id);
    const res = await fetch(`${started.http}/ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const card = html.slice(html.indexOf(`<article class="alert" id="${problem.id}"`), html.indexOf('</article>', html.indexOf(`id="${problem.id}"`)));
    expect(card).toContain(`data-severity="${problem.severity}"`);
    expect(card).toContain('<h3 class="alert-title"');
    expect(card).toMatch(/web_search fails \d+ % of calls/);
    expect(card).toContain('<dt>Root</dt><dd><code>failure_rate</code> on <strong>web_search</strong>');
    expect(card).toMatch(/<dt>Impact<\/dt><dd>\d+ runs, \d+ traces, [\d.]+ (ms|s|min) wasted · score \d/);
    expect(card).toContain('<dt>First seen</dt><dd><time datetime="2026-11-20T10:');
    expect(card).toMatch(/<h4>Fix: [^<]+<\/h4>/);
    expect(card).toMatch(/<ol><li>[^<]+<\/li>/);
    expect(card).toContain('<button type="button" class="copy-task"');
    // the kc task as kc files it
    const json = /<pre id="task-[^"]+" class="task-json">([^<]+)<\/pre>/.exec(card)?.[1];
    const task = kcTaskSchema.parse(JSON.parse(unescape(json ?? '')));
    expect(task.metadata.recommendationId).toMatch(/^REC-/);
    // exemplar traces link through the template
    const exemplar = pp.evidence.exemplar_trace_ids[0] as string;
    expect(card).toContain(`href="http://127.0.0.1:16686/trace/${exemplar}"`);
    // the operation's card, with the points behind its charts, sorted first (it is the troubled one)
    const ops = html.slice(html.indexOf('<div class="ops" id="ops">'));
    expect(ops.indexOf('data-key="kc-orchestrator execute_tool web_search web_search"')).toBeGreaterThan(0);
    expect(/<article class="op" [^>]*data-key="([^"]+)"/.exec(ops)?.[1]).toBe('kc-orchestrator execute_tool web_search web_search');
    expect(Number(/data-key="kc-orchestrator execute_tool web_search web_search" data-points="(\d+)"/.exec(ops)?.[1])).toBeGreaterThan(5);
    expect(ops).toMatch(/aria-label="kc-orchestrator execute_tool web_search web_search: failure rate \d/);
    // the critical path list names the operations on it
    expect(html).toMatch(/<table class="cp">.*<code>kc-orchestrator (execute_tool|chat)/);
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="30"></noscript>');
  });

  it('shows the resolved pain points of the sqlite store after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-ui-store-'));
    const sqlite = { sqlite: { path: join(dir, 'sidelight.db') } };
    const first = await startSidecar({}, sqlite, dir);
    const opened = await sendFailingTool(first);
    // healthy traffic for 20 minutes of event time: the evidence leaves every window and the pain point resolves
    client!.sendTrees(agentWorkload({ start: T0 + 310_000, tasks: 250, every: 5_000, failEveryFive: 0 }));
    await client!.flush();
    await first.service.shutdown();
    expect(first.changes.map((c) => c.painpoint.state)).toContain('resolved');
    await client!.shutdown();
    client = undefined;

    const second = await startSidecar({}, sqlite, dir);
    const html = await (await fetch(`${second.http}/ui`)).text();
    const resolved = html.slice(html.indexOf('<ul class="resolved"'), html.indexOf('</ul>', html.indexOf('<ul class="resolved"')));
    expect(resolved).toContain(`<li data-id="${opened.painpoint.id}">`);
    expect(resolved).toMatch(/web_search fails \d+ % of calls/);
    expect(html).toContain('<p class="empty" data-empty>Nothing is wrong right now.</p>');
    // two sidecar starts and a store round trip: more than the default 30 s on a loaded machine
  }, 120_000);

  it('charts the first pipeline that lists operation_metrics, with its critical path', async () => {
    const started = await startSidecar({
      pipelines: {
        // first, but without operation_metrics (and without a trace detector): nothing to chart
        audit: { receivers: ['otlp'], processors: ['failure_rate', 'categorize', 'recommend'], exporters: ['jsonl'] },
        traces: { receivers: ['otlp'], processors: ['failure_rate', 'latency', 'operation_metrics', 'categorize', 'recommend'], exporters: ['jsonl'] },
      },
    });
    await sendFailingTool(started);
    const html = await (await fetch(`${started.http}/ui`)).text();
    const ops = html.slice(html.indexOf('<div class="ops" id="ops">'));
    expect(Number(/data-key="kc-orchestrator execute_tool web_search web_search" data-points="(\d+)"/.exec(ops)?.[1])).toBeGreaterThan(5);
    expect(html).toMatch(/<table class="cp">.*<code>kc-orchestrator (execute_tool|chat)/);
  });

  it('is served on the telemetry endpoint instead of the OTLP port when that is set', async () => {
    const started = await startSidecar({ telemetry: { endpoint: '127.0.0.1:0' } });
    expect((await fetch(`${started.telemetry}/ui`)).status).toBe(200);
    expect((await fetch(`${started.http}/ui`)).status).toBe(404);
  });

  it('is not served with ui.enabled false', async () => {
    const started = await startSidecar({ ui: { enabled: false } });
    expect((await fetch(`${started.http}/ui`)).status).toBe(404);
    expect((await fetch(`${started.http}/metrics`)).status).toBe(200);
  });

  it('answers 405 to other methods, 404 to unknown /ui paths, and redirects /ui/', async () => {
    const { http } = await startSidecar();
    const post = await fetch(`${http}/ui`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${http}/ui/nope`)).status).toBe(404);
    const slash = await fetch(`${http}/ui/`, { redirect: 'manual' });
    expect([slash.status, slash.headers.get('location')]).toEqual([308, '/ui']);
    const head = await fetch(`${http}/ui`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });
});

describe('GET /ui/assets', () => {
  it('serves uPlot from its installed package, the page script and the shared stylesheet, with ETags', async () => {
    const { http } = await startSidecar();
    const require = createRequire(import.meta.url);
    const expected: [string, Buffer | string, string][] = [
      ['/ui/assets/uPlot.iife.min.js', readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')), 'text/javascript; charset=utf-8'],
      ['/ui/assets/uPlot.min.css', readFileSync(require.resolve('uplot/dist/uPlot.min.css')), 'text/css; charset=utf-8'],
      ['/ui/assets/live-page.js', readFileSync(new URL('../src/ui/assets/live-page.js', import.meta.url)), 'text/javascript; charset=utf-8'],
      ['/ui/assets/sidelight.css', PAGE_CSS, 'text/css; charset=utf-8'],
    ];
    for (const [path, body, type] of expected) {
      const res = await fetch(`${http}${path}`);
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, type]);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
      const etag = res.headers.get('etag') as string;
      const again = await fetch(`${http}${path}`, { headers: { 'If-None-Match': etag } });
      expect(again.status).toBe(304);
    }
  });
});
