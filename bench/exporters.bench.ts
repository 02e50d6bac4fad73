/**
 * Exporter costs: what export() costs the pipeline (it must never block), the sustained rate of
 * each sink against real local targets (files in a temp dir, a node:http receiver), and what the
 * write-ahead log costs: throughput and export → backend latency with it off, on with an fsync per
 * commit (the default), and on without fsync.
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-bench-'));
// live mode: the network exporters write ahead to <data_dir>/spool unless `spool: false`
const ctx = (id: string): ComponentContext => ({
  scheduler: asyncScheduler,
  metrics: new Registry(),
  logger: silentLogger,
  settings: serviceSchema.parse({ data_dir: path.join(dir, `data-${id}-${Math.random().toString(36).slice(2)}`) }),
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
        metrics: { calls: 100, failures: 42, wilson_lower: 0.31, by_error_class: { timeout: 30, rate_limit: 12 } },
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

/** webhook bodies carry the ids: the arrival time of each id, for latency */
const arrivals = new Map<string, number>();
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/hook') {
      const now = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { changes: { painpoint: { id: string } }[] };
      for (const c of body.changes) arrivals.set(c.painpoint.id, now);
    }
    res.end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dead = http.createServer();
await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', () => resolve()));
const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
await new Promise<void>((resolve) => dead.close(() => resolve()));

try {
  {
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: deadUrl, queue_size: 1_000, shutdown_timeout: '10ms', spool: false }), ctx('webhook'));
    const t0 = performance.now();
    for (const c of changes) exporter.export(c);
    report('webhook export() to a dead endpoint, memory only (call cost)', N, performance.now() - t0);
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
  // The write-ahead log: off (memory only), on with an fsync per commit (the default), on without fsync.
  const walModes = [
    { name: 'memory only', config: { spool: false } },
    { name: 'write-ahead, fsync per commit', config: {} },
    { name: 'write-ahead, no fsync', config: { spool_fsync: false } },
  ] as const;
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    for (const mode of walModes) {
      const traces = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ endpoint: url, protocol, queue_size: N, ...mode.config }), ctx('otlp_traces'), { env: {} });
      const t0 = performance.now();
      for (const c of changes) traces.export(c);
      await traces.delivery.idle();
      report(`otlp_traces ${protocol}, ${mode.name}`, N, performance.now() - t0);
      process.stdout.write(`    (${traces.delivery.stats().commits} commits)\n`);
      await traces.shutdown();
    }
    const logs = createOtlpLogsExporter(otlpLogsConfigSchema.parse({ endpoint: url, protocol, queue_size: N }), ctx('otlp_logs'), { env: {} });
    const t0 = performance.now();
    for (const c of changes) logs.export(c);
    await logs.delivery.idle();
    report(`otlp_logs ${protocol}, write-ahead, fsync per commit`, N, performance.now() - t0);
    await logs.shutdown();
  }
  // Latency from export() to the backend, paced: a burst of 10 changes every 5 ms (one watermark step's worth).
  for (const mode of walModes) {
    arrivals.clear();
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: `${url}/hook`, max_batch_size: 100, ...mode.config }), ctx('webhook'));
    const exported = new Map<string, number>();
    const bursts = Math.min(200, Math.floor(N / 10));
    const t0 = performance.now();
    for (let b = 0; b < bursts; b++) {
      for (const c of changes.slice(b * 10, b * 10 + 10)) {
        exported.set(c.painpoint.id, performance.now());
        exporter.export(c);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await exporter.delivery.idle();
    const elapsed = performance.now() - t0;
    const latencies = [...exported].map(([id, at]) => (arrivals.get(id) ?? NaN) - at).sort((a, b) => a - b);
    const q = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number).toFixed(2);
    process.stdout.write(
      `${`webhook paced 10 changes / 5 ms, ${mode.name}`.padEnd(52)} ${String(latencies.length).padStart(6)} changes  latency p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  max ${q(1)} ms  (${exporter.delivery.stats().commits} commits in ${elapsed.toFixed(0)} ms)\n`,
    );
    await exporter.shutdown();
  }
  {
    const exporter = createWebhookExporter(webhookConfigSchema.parse({ url: deadUrl, queue_size: 10, shutdown_timeout: '10ms' }), ctx('webhook'));
    const t0 = performance.now();
    const spooled = Math.min(N, 5_000);
    for (const c of changes.slice(0, spooled)) exporter.export(c);
    report('webhook export() writing ahead, backend down (call cost)', spooled, performance.now() - t0);
    await exporter.shutdown();
  }
} finally {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
