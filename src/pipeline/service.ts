/**
 * The running sidecar: receivers, one engine per pipeline behind a bounded ingest queue, and
 * exporters, built from a validated config (as the Collector's service builds its graph).
 * Shutdown order (docs/architecture.md, Bad input and overload): stop accepting, drain queues, complete the input so every buffered
 * trace completes and every open window closes, let the last pain points reach the exporters,
 * then flush the exporters.
 */
import { asyncScheduler, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import { isProblemChange, type PainPointChange } from '../model/events.js';
import type { ProblemChange } from '../model/problem.js';
import type { SidelightConfig } from '../config-file/load.js';
import type { ComponentContext, Exporter, Receiver, SpanSink } from '../component/contracts.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { newClockState, type EventClockState } from '../windows/event-clock.js';
import { IngestQueue } from './ingest-queue.js';
import { buildEngineParts } from './engine-parts.js';
import { runEngine } from './engine.js';
import { parseListenAddress, startTelemetryServer, type TelemetryServer } from '../telemetry/http-endpoints.js';
import { BearerTokenCheck, exposureWarnings, loadTlsCredentials } from '../security/server-security.js';
import { createLivePage, type LivePage } from '../ui/live-page.js';
import { windowSpecs } from '../windows/window-spec.js';
import type { SqliteConfig } from '../../exporters/sqlite.js';

export interface ServiceOptions {
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
  readonly metrics?: Registry;
  /** observe every change (tests, library users) */
  readonly onChange?: (change: PainPointChange) => void;
  /** observe every problem change (tests, library users) */
  readonly onProblemChange?: (change: ProblemChange) => void;
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

  // The live page reads the first sqlite store a pipeline writes to, for resolved items across restarts.
  const used = new Set(Object.values(config.pipelines).flatMap((p) => p.exporters));
  const store = [...config.exporters.values()].find((c) => c.type === 'sqlite' && used.has(c.id))?.config as SqliteConfig | undefined;
  const ui: LivePage | undefined = config.service.ui.enabled
    ? createLivePage({
        settings: config.service.ui,
        windows: windowSpecs({ ...config.service.windows, coarse_sizes: [] }).map((w) => w.name),
        windowSettings: config.service.windows,
        metrics,
        logger,
        ...(store ? { storePath: store.path } : {}),
      })
    : undefined;

  const ctxFor = (id: string): ComponentContext => ({
    scheduler,
    metrics,
    logger,
    settings: config.service,
    mode: 'live',
    id,
    ready: () => isReady,
    ...(ui ? { ui: ui.route } : {}),
  });

  // export() must not throw (an exporter queues or drops, counted); one that does is a bug: count it per exporter.
  const exporterFailures =
    (metrics.getSingleMetric('sidelight_exporter_failures_total') as Counter<'exporter'> | undefined) ??
    new Counter({
      name: 'sidelight_exporter_failures_total',
      help: 'Exceptions an exporter threw from export() or shutdown(); the change is lost for that exporter',
      labelNames: ['exporter'],
      registers: [metrics],
    });
  /** Waits for every part's shutdown; a failure is logged (and counted for exporters), never thrown. */
  const shutDownAll = async (what: 'receiver' | 'exporter', parts: ReadonlyArray<readonly [string, { shutdown(): Promise<void> }]>) => {
    const results = await Promise.allSettled(parts.map(([, part]) => part.shutdown()));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const id = (parts[i] as readonly [string, unknown])[0];
      logger.error(`${what} ${id} failed to shut down: ${String(r.reason)}`);
      if (what === 'exporter') exporterFailures.inc({ exporter: id });
    });
  };

  // Exporters are shared by every pipeline that names them, as in the Collector.
  const exporters = new Map<string, Exporter>();
  for (const [id, c] of config.exporters) if (used.has(id)) exporters.set(id, c.factory.create(c.config, ctxFor(id)));

  const pipelines: RunningPipeline[] = [];
  const inputs: Subject<SpanRecord>[] = [];
  const subscriptions: Subscription[] = [];
  const finished: Promise<void>[] = [];
  const sinksByReceiver = new Map<string, IngestQueue[]>();

  // The page observes one pipeline: the first that lists operation_metrics (its charts), else the first.
  const observed = ui
    ? (Object.entries(config.pipelines).find(([, p]) => p.processors.some((id) => config.processors.get(id)?.type === 'operation_metrics'))?.[0] ?? Object.keys(config.pipelines)[0])
    : undefined;

  for (const [name, p] of Object.entries(config.pipelines)) {
    const observer = name === observed ? ui : undefined;
    const ctx: ComponentContext = { ...ctxFor(name), pipeline: name, ...(observer ? { operationFigures: observer.operations } : {}) };
    let parts = buildEngineParts(config, p.processors, ctx);
    // Critical-path shares read the trace stream beside the trace detectors and judge nothing; no
    // trace detector, no assembler, no shares.
    if (observer && parts.traceAssembler) parts = { ...parts, detectors: [...parts.detectors, { id: 'ui/critical_path', detector: { input: 'traces', operator: observer.criticalPath } }] };
    const input = new Subject<SpanRecord>();
    const clock = newClockState();
    const targets = p.exporters.map((id) => [id, exporters.get(id) as Exporter] as const);
    const changes$ = runEngine(input, parts, { settings: config.service, scheduler, metrics, logger, idleAdvance: true, clockState: clock });
    finished.push(
      new Promise<void>((resolve) => {
        subscriptions.push(
          changes$.subscribe({
            next(output) {
              // the exporters and the live page take pain-point changes; problem changes reach them
              // once they carry problems (docs/outputs.md)
              if (isProblemChange(output)) {
                options.onProblemChange?.(output);
                return;
              }
              const change = output;
              options.onChange?.(change);
              try {
                ui?.onChange(change);
              } catch (err) {
                logger.error(`live page failed on ${change.painpoint.id}: ${String(err)}`);
              }
              for (const [id, e] of targets) {
                try {
                  e.export(change);
                } catch (err) {
                  exporterFailures.inc({ exporter: id });
                  logger.error(`exporter ${id} failed on ${change.painpoint.id}: ${String(err)}`);
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
  const receivers: [string, Receiver][] = [];
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
    receivers.push([id, c.factory.create(c.config, ctxFor(id), sink)]);
  }

  const endpoints: string[] = [];
  let telemetry: TelemetryServer | undefined;
  try {
    for (const [, r] of receivers) endpoints.push(...(await r.start()));
    const { endpoint: telemetryEndpoint, tls, auth } = config.service.telemetry;
    if (telemetryEndpoint) {
      const what = `telemetry: /metrics${ui ? ' and /ui' : ''} on ${telemetryEndpoint}`;
      for (const w of exposureWarnings(what, parseListenAddress(telemetryEndpoint).host, { tls, auth })) logger.warn(w);
      let security;
      try {
        security = { tls: tls && loadTlsCredentials(tls), auth: auth && new BearerTokenCheck(auth.bearer_token) };
      } catch (err) {
        throw new Error(`service.telemetry: ${(err as Error).message}`, { cause: err });
      }
      telemetry = await startTelemetryServer(telemetryEndpoint, { metrics, ready: () => isReady, ...(ui ? { ui: ui.route } : {}) }, security);
      endpoints.push(`telemetry ${telemetry.url}`);
    }
  } catch (err) {
    await shutDownAll('receiver', receivers);
    for (const s of subscriptions) s.unsubscribe();
    await shutDownAll('exporter', [...exporters]);
    ui?.close();
    throw err;
  }
  isReady = true;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      isReady = false;
      // open event streams would hold the HTTP servers' close; pages reconnect to the next instance
      ui?.close();
      await shutDownAll('receiver', receivers);
      await Promise.all(pipelines.map((p) => p.queue.drained()));
      for (const input of inputs) input.complete();
      await Promise.all(finished);
      for (const s of subscriptions) s.unsubscribe();
      await shutDownAll('exporter', [...exporters]);
      await telemetry?.close();
    })());

  return { endpoints, metrics, pipelines, ready: () => isReady, shutdown };
}
