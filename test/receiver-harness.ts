/** Shared set-up of the receiver end-to-end tests: a component context and a capturing span sink. */
import { asyncScheduler } from 'rxjs';
import { Registry } from 'prom-client';
import { serviceSchema } from '../src/config/service-schema.js';
import type { ComponentContext, Receiver, SpanSink } from '../src/component/contracts.js';
import type { SpanRecord } from '../src/model/span.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { createOtlpReceiver, otlpReceiverConfigSchema, type OtlpReceiverOptions } from '../src/receivers/otlp.js';

export class CapturingSink implements SpanSink {
  readonly spans: SpanRecord[] = [];
  batches = 0;
  /** set to false to simulate a full ingest queue */
  accepting = true;
  private waiters: { count: number; resolve: () => void }[] = [];

  push(spans: readonly SpanRecord[]): boolean {
    if (!this.accepting) return false;
    this.batches++;
    this.spans.push(...spans);
    this.waiters = this.waiters.filter((w) => (this.spans.length >= w.count ? (w.resolve(), false) : true));
    return true;
  }

  /** Resolves once at least `count` spans arrived. */
  waitFor(count: number): Promise<void> {
    if (this.spans.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  sorted(): SpanRecord[] {
    return [...this.spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
  }
}

export function testContext(telemetryEndpoint?: string): ComponentContext {
  return {
    scheduler: asyncScheduler,
    metrics: new Registry(),
    logger: silentLogger,
    settings: serviceSchema.parse(telemetryEndpoint === undefined ? {} : { telemetry: { endpoint: telemetryEndpoint } }),
    mode: 'live',
    id: 'otlp',
  };
}

export interface StartedReceiver {
  readonly receiver: Receiver;
  readonly sink: CapturingSink;
  readonly ctx: ComponentContext;
  readonly httpUrl: string;
  readonly grpcUrl: string;
}

/** Starts an otlp receiver on ephemeral loopback ports with the given protocol settings. */
export async function startReceiver(protocols: Record<string, unknown>, opts: OtlpReceiverOptions = {}): Promise<StartedReceiver> {
  const ctx = testContext();
  const sink = new CapturingSink();
  const config = otlpReceiverConfigSchema.parse({ protocols });
  const receiver = createOtlpReceiver(config, ctx, sink, opts);
  const endpoints = await receiver.start();
  return {
    receiver,
    sink,
    ctx,
    httpUrl: endpoints.find((e) => e.startsWith('http://')) ?? '',
    grpcUrl: endpoints.find((e) => e.startsWith('grpc://')) ?? '',
  };
}

/** The value of a counter (summed over label sets matching `labels`). */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
