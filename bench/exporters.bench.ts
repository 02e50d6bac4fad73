/**
 * Exporter costs: what export() costs the pipeline (it must never block), and the sustained rate of
 * each sink against real local targets (files in a temp dir, a node:http OTLP receiver).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { asyncScheduler } from 'rxjs';
import { Registry } from 'prom-client';
import { serviceSchema } from '../src/config/service-schema.js';
import { silentLogger } from '../src/telemetry/logger.js';
import type { ComponentContext } from '../src/component/contracts.js';
import type { PainPointChange } from '../src/model/events.js';
import { createJsonlExporter, jsonlConfigSchema } from '../exporters/jsonl.js';
import { createSqliteExporter, sqliteConfigSchema } from '../exporters/sqlite.js';
import { createOtlpTracesExporter, otlpTracesConfigSchema } from '../exporters/otlp-traces.js';
import { createOtlpLogsExporter, otlpLogsConfigSchema } from '../exporters/otlp-logs.js';
import { createWebhookExporter, webhookConfigSchema } from '../exporters/webhook.js';
import { scaled } from './support/measure.js';

/** changes per sink (BENCH_SCALE scales them) */
const N = scaled(20_000, 100);
const ctx = (id: string): ComponentContext => ({
  scheduler: asyncScheduler,
  metrics: new Registry(),
  logger: silentLogger,
  settings: serviceSchema.parse({}),
  mode: 'live',
  id,
});

function change(n: number): PainPointChange {
  return {
    painpoint: {
      id: `pp-${n.toString(16).padStart(16, '0')}`,
      kind: 'failure_rate',
      severity: n % 3 === 0 ? 'high' : 'medium',
      category: 'reliability',
      state: n % 5 === 0 ? 'resolved' : 'open',
      subject: { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' },
      title: `web_search fails 42 % of calls (${n})`,
      description: 'web_search failed 42 of 100 calls in the 5m window.',
      evidence: {
        window: '5m',
        metrics: { calls: 100, failures: 42, wilson_lower: 0.31, errors_by_class: { timeout: 30, rate_limit: 12 } },
        exemplar_trace_ids: ['0af7651916cd43dd8448eb211c80319c', '4bf92f3577b34da6a3ce929d0e0e4736'],
        exemplar_span_ids: ['b7ad6b7169203331'],
      },
      first_seen: '2026-11-26T10:00:00.000Z',
      last_seen: '2026-11-26T10:05:00.000Z',
      run_ids: ['run-1'],
    },
    recommendations: [],
  };
}
const changes = Array.from({ length: N }, (_, n) => change(n));

function report(name: string, count: number, ms: number): void {
  process.stdout.write(`${name.padEnd(52)} ${String(count).padStart(6)} changes  ${ms.toFixed(1).padStart(8)} ms  ${Math.round((count / ms) * 1000).toLocaleString('en').padStart(10)} /s\n`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-bench-'));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dead = http.createServer();
await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', () => resolve()));
const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
await new Promise<void>((resolve) => dead.close(() => resolve()));

try {
  {
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: deadUrl, queue_size: 1_000, shutdown_timeout: '10ms' }), ctx('webhook'));
    const t0 = performance.now();
    for (const c of changes) exporter.export(c);
    report('webhook export() to a dead endpoint (call cost)', N, performance.now() - t0);
    await exporter.shutdown();
  }
  {
    const exporter = createJsonlExporter(jsonlConfigSchema.parse({ path: path.join(dir, 'pp.jsonl') }), ctx('jsonl'));
    const t0 = performance.now();
    for (const c of changes) exporter.export(c);
    await exporter.shutdown();
    report('jsonl export + flush to disk', N, performance.now() - t0);
  }
  {
    const exporter = createSqliteExporter(sqliteConfigSchema.parse({ path: path.join(dir, 'pp.db') }), ctx('sqlite'));
    const t0 = performance.now();
    // bursts of 100 changes (a watermark step's worth), each written as one transaction
    for (let i = 0; i < N; i += 100) {
      for (const c of changes.slice(i, i + 100)) exporter.export(c);
      await exporter.flush();
    }
    await exporter.shutdown();
    report('sqlite upsert + history, bursts of 100', N, performance.now() - t0);
  }
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    const traces = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: url, protocol, queue_size: N }), ctx('otlp_traces'), { env: {} });
    let t0 = performance.now();
    for (const c of changes) traces.export(c);
    await traces.delivery.idle();
    report(`otlp_traces ${protocol} gzip to a local receiver`, N, performance.now() - t0);
    await traces.shutdown();
    const logs = createOtlpLogsExporter(otlpLogsConfigSchema.parse({ endpoint: url, protocol, queue_size: N }), ctx('otlp_logs'), { env: {} });
    t0 = performance.now();
    for (const c of changes) logs.export(c);
    await logs.delivery.idle();
    report(`otlp_logs ${protocol} gzip to a local receiver`, N, performance.now() - t0);
    await logs.shutdown();
  }
  {
    const spoolDir = path.join(dir, 'spool');
    const exporter = createWebhookExporter(
      webhookConfigSchema.parse({ url: deadUrl, queue_size: 10, spool_dir: spoolDir, shutdown_timeout: '10ms' }),
      ctx('webhook'),
    );
    const t0 = performance.now();
    const spooled = Math.min(N, 5_000);
    for (const c of changes.slice(0, spooled)) exporter.export(c);
    report('webhook export() spooling to disk (call cost)', spooled, performance.now() - t0);
    await exporter.shutdown();
  }
} finally {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
