/**
 * The running sidecar: receivers, one engine per pipeline behind a bounded ingest queue, and
 * exporters, built from a validated config (as the Collector's service builds its graph).
 * Shutdown order (SPEC §8): stop accepting, drain queues, complete the input so every buffered
 * trace completes and every open window closes, let the last pain points reach the exporters,
 * then flush the exporters.
 */
import { asyncScheduler, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { PainPointChange } from '../model/events.js';
import type { SidelightConfig } from '../config/load.js';
import type { ComponentContext, Exporter, Receiver, SpanSink } from './component.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { newClockState, type EventClockState } from '../windows/event-clock.js';
import { IngestQueue } from './ingest-queue.js';
import { buildEngineParts } from './engine-parts.js';
import { runEngine } from './engine.js';
import { parseListenAddress, startTelemetryServer, type TelemetryServer } from '../telemetry/http-endpoints.js';
import { BearerTokenCheck, exposureWarnings, loadTlsCredentials } from '../security/server-security.js';

export interface ServiceOptions {
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
  readonly metrics?: Registry;
  /** observe every change (tests, library users) */
  readonly onChange?: (change: PainPointChange) => void;
}

export interface RunningPipeline {
  readonly name: string;
  readonly queue: IngestQueue;
  readonly clock: EventClockState;
}

export interface Service {
  readonly endpoints: readonly string[];
  readonly metrics: Registry;
  readonly pipelines: readonly RunningPipeline[];
  /** true once started and until shutdown begins */
  ready(): boolean;
  shutdown(): Promise<void>;
}

export async function startService(config: SidelightConfig, options: ServiceOptions = {}): Promise<Service> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const logger = options.logger ?? createLogger(config.service.telemetry.logs.level);
  const metrics = options.metrics ?? new Registry();
  if (!options.metrics) collectDefaultMetrics({ register: metrics, prefix: 'sidelight_process_' });
  let isReady = false;

  const ctxFor = (id: string): ComponentContext => ({ scheduler, metrics, logger, settings: config.service, mode: 'live', id, ready: () => isReady });

  // Exporters are shared by every pipeline that names them, as in the Collector.
  const exporters = new Map<string, Exporter>();
  const used = new Set(Object.values(config.pipelines).flatMap((p) => p.exporters));
  for (const [id, c] of config.exporters) if (used.has(id)) exporters.set(id, c.factory.create(c.config, ctxFor(id)));

  const pipelines: RunningPipeline[] = [];
  const inputs: Subject<SpanRecord>[] = [];
  const subscriptions: Subscription[] = [];
  const finished: Promise<void>[] = [];
  const sinksByReceiver = new Map<string, IngestQueue[]>();

  for (const [index, [name, p]] of Object.entries(config.pipelines).entries()) {
    const ctx = ctxFor(name);
    const parts = buildEngineParts(config, p.processors, ctx);
    const input = new Subject<SpanRecord>();
    const clock = newClockState();
    const targets = p.exporters.map((id) => exporters.get(id) as Exporter);
    // Per-operation gauges come from the first pipeline only: two writers would fight over one label set.
    const changes$ = runEngine(input, parts, { settings: config.service, scheduler, metrics, logger, idleAdvance: true, clockState: clock, operationMetrics: index === 0 });
    finished.push(
      new Promise<void>((resolve) => {
        subscriptions.push(
          changes$.subscribe({
            next(change) {
              options.onChange?.(change);
              for (const e of targets) {
                try {
                  e.export(change);
                } catch (err) {
                  logger.error(`exporter failed on ${change.painpoint.id}: ${String(err)}`);
                }
              }
            },
            error(err) {
              logger.error(`pipeline ${name} failed: ${String(err)}`);
              resolve();
            },
            complete: () => resolve(),
          }),
        );
      }),
    );
    const queue = new IngestQueue(config.service.queue_size, (span) => input.next(span), metrics, name);
    pipelines.push({ name, queue, clock });
    inputs.push(input);
    for (const r of p.receivers) sinksByReceiver.set(r, [...(sinksByReceiver.get(r) ?? []), queue]);
  }

  const futureSpans =
    (metrics.getSingleMetric('sidelight_future_spans_dropped_total') as Counter | undefined) ??
    new Counter({ name: 'sidelight_future_spans_dropped_total', help: 'Spans dropped for ending too far ahead of the wall clock', registers: [metrics] });
  const receivers: Receiver[] = [];
  for (const [id, c] of config.receivers) {
    const queues = sinksByReceiver.get(id) ?? [];
    if (queues.length === 0) continue;
    // All or nothing across pipelines, so a refused batch is never half-delivered and then retried.
    const maxFuture = config.service.windows.max_future_skew;
    const sink: SpanSink = {
      push(received) {
        const limit = Date.now() + maxFuture;
        let spans = received;
        if (spans.some((s) => s.endMs > limit)) {
          spans = spans.filter((s) => s.endMs <= limit);
          futureSpans.inc(received.length - spans.length);
          logger.warn(`dropped ${received.length - spans.length} span(s) ending more than ${maxFuture} ms in the future (client clock skew?)`);
        }
        if (!queues.every((q) => q.canAccept(spans.length))) {
          for (const q of queues) q.refuse(spans.length);
          return false;
        }
        for (const q of queues) q.push(spans);
        return true;
      },
    };
    receivers.push(c.factory.create(c.config, ctxFor(id), sink));
  }

  const endpoints: string[] = [];
  let telemetry: TelemetryServer | undefined;
  try {
    for (const r of receivers) endpoints.push(...(await r.start()));
    const { endpoint: telemetryEndpoint, tls, auth } = config.service.telemetry;
    if (telemetryEndpoint) {
      for (const w of exposureWarnings(`telemetry: /metrics on ${telemetryEndpoint}`, parseListenAddress(telemetryEndpoint).host, { tls, auth })) logger.warn(w);
      let security;
      try {
        security = { tls: tls && loadTlsCredentials(tls), auth: auth && new BearerTokenCheck(auth.bearer_token) };
      } catch (err) {
        throw new Error(`service.telemetry: ${(err as Error).message}`, { cause: err });
      }
      telemetry = await startTelemetryServer(telemetryEndpoint, { metrics, ready: () => isReady }, security);
      endpoints.push(`telemetry ${telemetry.url}`);
    }
  } catch (err) {
    await Promise.allSettled(receivers.map((r) => r.shutdown()));
    for (const s of subscriptions) s.unsubscribe();
    await Promise.allSettled([...exporters.values()].map((e) => e.shutdown()));
    throw err;
  }
  isReady = true;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      isReady = false;
      await Promise.allSettled(receivers.map((r) => r.shutdown()));
      await Promise.all(pipelines.map((p) => p.queue.drained()));
      for (const input of inputs) input.complete();
      await Promise.all(finished);
      for (const s of subscriptions) s.unsubscribe();
      await Promise.allSettled([...exporters.values()].map((e) => e.shutdown()));
      await telemetry?.close();
    })());

  return { endpoints, metrics, pipelines, ready: () => isReady, shutdown };
}
