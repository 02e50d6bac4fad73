import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/** Fixtures and real test servers shared by the exporter tests. */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { Registry } from 'prom-client';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { PainPointChange } from '../src/model/events.js';
import type { ComponentContext } from '../src/component/contracts.js';
import { serviceSchema } from '../src/config/service-schema.js';
import type { Logger } from '../src/telemetry/logger.js';
import type { DeliveryClock } from '../exporters/delivery/clock.js';
import { sampleMetrics } from './fixtures/evidence.js';

export const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
export const SPAN_A = 'b7ad6b7169203331';
export const TRACE_B = '4bf92f3577b34da6a3ce929d0e0e4736';

export function painPoint(overrides: Partial<PainPointRecord> = {}): PainPointRecord {
  return {
    id: 'pp-3f9c0a1b2c3d4e5f',
    kind: 'failure_rate',
    severity: 'high',
    category: 'reliability',
    state: 'open',
    subject: { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' },
    title: 'web_search fails 42 % of calls (Wilson 95 % lower bound 31 %)',
    description: 'web_search failed 42 of 100 calls in the 5m window.',
    evidence: {
      window: '5m',
      metrics: sampleMetrics('failure_rate', { calls: 100, failures: 42, failure_rate: 0.42, wilson_lower: 0.31, by_error_class: { timeout: 30, rate_limit: 12 }, dominant_error_class: 'timeout' }),
      exemplar_trace_ids: [TRACE_A, TRACE_B],
      exemplar_span_ids: [SPAN_A],
    },
    first_seen: '2026-11-26T10:00:00.000Z',
    last_seen: '2026-11-26T10:05:00.000Z',
    run_ids: ['run-1'],
    ...overrides,
  };
}

export function recommendation(overrides: Partial<Recommendation> = {}): Recommendation {
  const id = overrides.id ?? 'REC-1a2b3c4d5e6f7a8b';
  return {
    id,
    pain_point_ids: ['pp-3f9c0a1b2c3d4e5f'],
    title: 'Add a circuit breaker to web_search',
    priority: 'high',
    category: 'reliability',
    impact: 'major',
    effort: 'M',
    description: 'web_search fails 42 % of calls.',
    implementation: 'Wrap web_search calls in a circuit breaker.',
    acceptanceCriteria: ['web_search failure rate below 10 % over 15 m'],
    task: {
      id: 'FIX-1a2b3c4d5e6f7a8b',
      title: 'Add a circuit breaker to web_search',
      description: '## Why\nweb_search fails.',
      acceptanceCriteria: ['web_search failure rate below 10 % over 15 m'],
      constraints: { do: ['keep the API'], dont: ['retry 4xx'] },
      outputs: ['src/tools/web-search.ts'],
      checkSteps: ['npm test'],
      status: 'todo',
      effort: 'M',
      dependencies: [],
      contentHash: 'abc123',
      source: 'sidelight',
      metadata: { recommendationId: id, category: 'reliability', priority: 'high' },
    },
    ...overrides,
  };
}

/** The n-th of a sequence of distinct changes (distinct ids: pp- + 16 hex). */
export function nthChange(n: number, recs: readonly Recommendation[] = []): PainPointChange {
  return { painpoint: painPoint({ id: `pp-${n.toString(16).padStart(16, '0')}`, title: `problem ${n}` }), recommendations: recs };
}

export interface CapturedLog {
  readonly lines: string[];
  readonly logger: Logger;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

export function testContext(id: string, logger: Logger = captureLog().logger, metrics = new Registry()): ComponentContext {
  // A data directory of its own, so the default spool of one test never leaks into another.
  const data_dir = mkdtempSync(join(tmpdir(), 'sidelight-exporter-data-'));
  return { scheduler: asyncScheduler, metrics, logger, settings: serviceSchema.parse({ data_dir }), mode: 'live', id };
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let sum = 0;
  for (const v of data.values) {
    if (Object.entries(labels).every(([k, want]) => v.labels[k] === want)) sum += v.value;
  }
  return sum;
}

export interface CapturedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** the body, gunzipped when it was sent with content-encoding gzip */
  readonly body: Buffer;
}

export interface Answer {
  /** an HTTP status; 'hang' never answers, 'reset' destroys the connection */
  readonly status: number | 'hang' | 'reset';
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

export interface TestReceiver {
  readonly url: string;
  readonly port: number;
  readonly requests: CapturedRequest[];
  /** decides each answer; requests answered with a non-2xx are still captured */
  respond: (req: CapturedRequest, index: number) => Answer;
  /** resolves once `n` requests were answered 2xx */
  waitForAccepted(n: number): Promise<void>;
  accepted(): CapturedRequest[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (ephemeral port) capturing request bodies. */
export async function startReceiver(port = 0): Promise<TestReceiver> {
  const requests: CapturedRequest[] = [];
  const acceptedList: CapturedRequest[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const receiver: TestReceiver = {
    url: '',
    port: 0,
    requests,
    respond: () => ({ status: 200 }),
    waitForAccepted(n) {
      if (acceptedList.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    accepted: () => acceptedList,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const captured: CapturedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(captured);
      const answer = receiver.respond(captured, requests.length - 1);
      if (answer.status === 'hang') return;
      if (answer.status === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
      if (answer.status >= 200 && answer.status < 300) {
        acceptedList.push(captured);
        const ready = waiters.filter((w) => acceptedList.length >= w.n);
        waiters = waiters.filter((w) => acceptedList.length < w.n);
        for (const w of ready) w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const actualPort = (server.address() as AddressInfo).port;
  return Object.assign(receiver, { url: `http://127.0.0.1:${actualPort}`, port: actualPort });
}

/** A port nothing listens on (bound then closed). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Virtual time for the delivery worker: sleeping advances the clock at once (after one macrotask,
 * so sockets make progress), so backoff and max_elapsed_time are exercised without real waiting.
 */
export function virtualClock(start = 1_800_000_000_000): DeliveryClock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => 0.5,
    sleep(ms) {
      sleeps.push(ms);
      return new Promise((resolve) =>
        setImmediate(() => {
          now += ms;
          resolve();
        }),
      );
    },
  };
}

export const TRACE_C = '5b8efff798038103d269b633813fc60c';
export const SPAN_C = 'eee19b7ec3c1b174';

/**
 * One cause seen four ways: web_search fails (the root, exemplars A and B), its failure spike
 * (a symptom, exemplar C with its span id), a rate-limit error cluster (a symptom) and retries
 * without backoff (contributing).
 */
export function problemMembers(): { root: PainPointRecord; symptoms: PainPointRecord[]; contributing: PainPointRecord[] } {
  const root = painPoint();
  const spike = painPoint({
    id: 'pp-00000000000000a1',
    kind: 'failure_spike',
    severity: 'high',
    title: 'web_search failures spiked from 2 % to 42 %',
    evidence: { window: '1m', metrics: { calls: 40, failures: 17 }, exemplar_trace_ids: [TRACE_C, TRACE_A], exemplar_span_ids: [SPAN_C] },
    first_seen: '2026-11-26T10:01:00.000Z',
    last_seen: '2026-11-26T10:04:00.000Z',
  });
  const cluster = painPoint({
    id: 'pp-00000000000000a2',
    kind: 'error_cluster',
    severity: 'medium',
    subject: { service: 'kc-orchestrator', error_class: 'rate_limit' },
    title: 'rate_limit errors on 3 operations',
    evidence: { window: '5m', metrics: { failures: 30, operations: 3 }, exemplar_trace_ids: [TRACE_B] },
  });
  const noBackoff = painPoint({
    id: 'pp-00000000000000a3',
    kind: 'retry_no_backoff',
    severity: 'medium',
    title: 'web_search is retried every ~1.0 s without backoff',
    evidence: { window: '5m', metrics: { retries: 42, median_gap_ms: 1003 }, exemplar_trace_ids: ['9'.repeat(32)] },
  });
  return { root, symptoms: [spike, cluster], contributing: [noBackoff] };
}
