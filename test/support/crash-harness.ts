/**
 * Parts of the crash tests: a backend (Sidelight's own OTLP/HTTP receiver and decoder) that can go
 * down and come back on the same port, a seeded workload of failing tool calls sent as OTLP/JSON,
 * and the comparison of the JSONL file with what the backend received.
 */
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { OtlpHttpReceiver } from '../../src/receivers/otlp-http.js';
import { receiverMetrics } from '../../src/telemetry/receiver-metrics.js';
import { serviceSchema } from '../../src/config/service-schema.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import type { SpanRecord } from '../../src/model/span.js';

/** mulberry32: a small seeded generator, so each round's timing and workload can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What identifies one pain-point change, on either side. */
export interface ChangeKey {
  readonly id: string;
  readonly key: string;
}

const keyOf = (id: unknown, state: unknown, severity: unknown, lastSeen: unknown, title: unknown): ChangeKey => ({
  id: String(id),
  key: [id, state, severity, lastSeen, title].map(String).join('|'),
});

/** The backend: `sidelight.painpoint` spans decoded by Sidelight's OTLP/HTTP receiver. */
export class PainPointBackend {
  readonly received: ChangeKey[] = [];
  requests = 0;
  /** called on every export request accepted (kill timing hooks) */
  onRequest: (() => void) | undefined;
  private receiver: OtlpHttpReceiver | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.receiver !== undefined;
  }

  async up(): Promise<void> {
    if (this.receiver) return;
    const sink = {
      push: (spans: readonly SpanRecord[]) => {
        this.requests += 1;
        for (const s of spans) {
          const a = s.attributes;
          this.received.push(keyOf(a['sidelight.painpoint.id'], a['sidelight.painpoint.state'], a['sidelight.painpoint.severity'], a['sidelight.painpoint.last_seen'], a['sidelight.painpoint.title']));
        }
        this.onRequest?.();
        return true;
      },
    };
    this.receiver = new OtlpHttpReceiver({
      endpoint: `127.0.0.1:${this.port}`,
      maxRequestBodySize: 64 * 1024 * 1024,
      mapping: serviceSchema.parse({}).attributes,
      sink,
      metrics: receiverMetrics(new Registry()),
      logger: silentLogger,
    });
    const url = await this.receiver.start();
    this.port = Number(new URL(url).port);
  }

  async down(): Promise<void> {
    const r = this.receiver;
    this.receiver = undefined;
    await r?.shutdown();
  }
}

/** The JSONL records as change keys, in file order; a line torn by a kill is counted, not read. */
export function jsonlChanges(path: string): { changes: ChangeKey[]; torn: number } {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], torn: 0 };
    throw err;
  }
  const changes: ChangeKey[] = [];
  let torn = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      changes.push(keyOf(r.id, r.state, r.severity, r.last_seen, r.title));
    } catch {
      torn += 1;
    }
  }
  return { changes, torn };
}

export interface DeliveryReport {
  /** JSONL changes the backend never received */
  readonly missing: string[];
  /** pain points whose changes arrived (first arrivals) in another order than the JSONL file's */
  readonly outOfOrder: string[];
  /** arrivals beyond the first of the same change */
  readonly duplicates: number;
}

export function compareDelivery(expected: readonly ChangeKey[], received: readonly ChangeKey[]): DeliveryReport {
  const arrivals = new Map<string, number>();
  const firstOrder = new Map<string, string[]>();
  for (const r of received) {
    const n = (arrivals.get(r.key) ?? 0) + 1;
    arrivals.set(r.key, n);
    if (n === 1) firstOrder.set(r.id, [...(firstOrder.get(r.id) ?? []), r.key]);
  }
  const wanted = new Set(expected.map((e) => e.key));
  const missing = [...wanted].filter((k) => !arrivals.has(k));
  const expectedOrder = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const e of expected) {
    if (seen.has(e.key)) continue;
    seen.add(e.key);
    expectedOrder.set(e.id, [...(expectedOrder.get(e.id) ?? []), e.key]);
  }
  const outOfOrder = [...expectedOrder].filter(([id, keys]) => {
    const got = (firstOrder.get(id) ?? []).filter((k) => wanted.has(k));
    return got.join('\n') !== keys.join('\n');
  });
  let duplicates = 0;
  for (const n of arrivals.values()) duplicates += n - 1;
  return { missing, outOfOrder: outOfOrder.map(([id]) => id), duplicates };
}

/**
 * Tool calls as OTLP/JSON: `tools` tools called `callsPerSecond` times per second of event time;
 * tool i fails 60 % of its calls in alternating phases of (4 + i) seconds, else 3 %, so pain
 * points keep opening, updating and resolving.
 */
export class ToolWorkload {
  private spanNo = 0;

  constructor(
    private readonly random: () => number,
    private eventSecond: number,
    /** resource service.name: part of every pain-point id, so two workloads never share one */
    private readonly service: string,
    private readonly tools = 6,
    private readonly callsPerSecond = 8,
  ) {}

  /** spans generated so far */
  get spans(): number {
    return this.spanNo;
  }

  /** the OTLP/JSON body covering the next `seconds` seconds of event time */
  next(seconds = 1): string {
    const spans: unknown[] = [];
    for (let s = 0; s < seconds; s++, this.eventSecond++) {
      for (let t = 0; t < this.tools; t++) {
        const failing = Math.floor(this.eventSecond / (4 + t)) % 2 === 1;
        for (let c = 0; c < this.callsPerSecond; c++) {
          this.spanNo += 1;
          const endMs = this.eventSecond * 1_000 + Math.floor(((c + 0.5) / this.callsPerSecond) * 1_000);
          const failed = this.random() < (failing ? 0.6 : 0.03);
          spans.push({
            traceId: this.spanNo.toString(16).padStart(32, '0'),
            spanId: this.spanNo.toString(16).padStart(16, '0'),
            name: 'execute_tool',
            kind: 3,
            startTimeUnixNano: `${(endMs - 40) * 1_000_000}`,
            endTimeUnixNano: `${endMs * 1_000_000}`,
            attributes: [
              { key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } },
              { key: 'gen_ai.tool.name', value: { stringValue: `tool_${t}` } },
            ],
            status: failed ? { code: 2, message: 'upstream timed out' } : {},
          });
        }
      }
    }
    return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: this.service } }] }, scopeSpans: [{ spans }] }] });
  }
}

/** POSTs one OTLP/JSON body; false when the sidecar is gone (killed) or refused it. */
export async function sendSpans(httpUrl: string, body: string): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Waits (polling) until `condition` holds; false after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
