/**
 * The delivery machinery every network exporter shares (Vector-style, under the sinks): a backlog
 * (in memory, or written ahead to disk), one worker sending batches with retry (exponential
 * backoff with jitter, Retry-After), in the order items were exported.
 *
 * - push() never blocks and never throws: the item is queued, or dropped (counted, logged by id);
 * - retryable failures (429, 502, 503, 504, connection errors, timeouts) back off and retry;
 *   others are dropped at once (counted);
 * - with the write-ahead log (`spool`, the sidecar's default): an item is on disk before it is
 *   sent and acknowledged once the backend accepted it; a batch whose retries run out stays at the
 *   head and is tried again every `max_interval`, so nothing is lost while the backend is down; a
 *   restart sends what was not acknowledged, first, in order (at least once: a batch the backend
 *   accepted just before a crash, before its acknowledgement was recorded, is sent again);
 * - without it: a full queue drops the newest, a batch whose retries run out is dropped;
 * - shutdown() keeps sending for `shutdown_timeout`; then what is left stays in the log (or is
 *   dropped, counted, without one).
 */
import type { Logger } from '../../src/telemetry/logger.js';
import { jitteredDelay, nextInterval } from './backoff.js';
import { DurableBacklog, MemoryBacklog, type Backlog, type BacklogBatch, type RecordCodec } from './backlog.js';
import { systemClock, type DeliveryClock } from './clock.js';
import type { DropReason, ExporterMetrics } from './metrics.js';
import type { DeliverySettings } from './settings.js';
import { WriteAheadLog } from './write-ahead-log.js';

export type SendOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryable: boolean; readonly retryAfterMs?: number; readonly reason: string };

/** Sends one batch; should resolve (not reject) and stop early when `signal` aborts. */
export type BatchSender<T> = (batch: readonly T[], signal: AbortSignal) => Promise<SendOutcome>;

export interface DeliveryQueueOptions<T> {
  readonly exporterId: string;
  readonly settings: DeliverySettings;
  readonly send: BatchSender<T>;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** item ↔ write-ahead log record, and the id that names an item in log lines */
  readonly codec: RecordCodec<T>;
  readonly clock?: DeliveryClock;
}

export interface DeliveryStats {
  /** waiting, not in flight (in memory or on disk) */
  readonly queued: number;
  readonly inFlight: number;
  /** in the write-ahead log, not yet acknowledged (in flight included) */
  readonly spooled: number;
  readonly sent: number;
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  /** write-ahead log commits (one write, and one fsync when enabled, each) */
  readonly commits: number;
}

type DeliverResult = 'sent' | 'rejected' | 'expired' | 'stopped';

const MAX_IDS_PER_LOG_LINE = 20;
/** segment files of the write-ahead log: small enough that a delivered one is deleted soon */
const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 64 * 1024;

export class DeliveryQueue<T> {
  private readonly backlog: Backlog<T>;
  private readonly wal: WriteAheadLog | undefined;
  private inFlight: BacklogBatch<T> | undefined;
  private readonly clock: DeliveryClock;
  private readonly labels: { exporter: string };
  private closing = false;
  private stopped = false;
  private readonly stop = new AbortController();
  private wake: (() => void) | undefined;
  private readonly worker: Promise<void>;
  private shutdownPromise: Promise<void> | undefined;
  private shutDown = false;
  private idleWaiters: (() => void)[] = [];
  private sentCount = 0;
  private readonly droppedCount: Partial<Record<DropReason, number>> = {};
  private pendingDropLog = new Map<DropReason, { ids: string[]; count: number }>();

  constructor(private readonly opts: DeliveryQueueOptions<T>) {
    this.clock = opts.clock ?? systemClock;
    this.labels = { exporter: opts.exporterId };
    this.wal = this.openWal();
    this.backlog =
      this.wal !== undefined
        ? new DurableBacklog<T>(this.wal, opts.codec, opts.settings.queue_size, (id, err) => {
            opts.metrics.spoolCorrupt.inc(this.labels);
            opts.logger.warn(`exporter ${opts.exporterId}: skipped an unreadable record ${id} in the write-ahead log: ${String(err)}`);
          })
        : new MemoryBacklog<T>(opts.settings.queue_size);
    if (this.wal !== undefined && this.wal.pendingRecords > 0) {
      opts.logger.info(`exporter ${opts.exporterId}: ${this.wal.pendingRecords} changes in ${this.wal.dir} to send first`);
    }
    this.updateGauges();
    // started after construction so a sender never runs before its exporter is fully built
    this.worker = Promise.resolve()
      .then(() => this.run())
      .catch((err: unknown) => {
        // a bug in the worker must not crash the process; what it held is accounted at shutdown
        opts.metrics.errors.inc(this.labels);
        opts.logger.error(`exporter ${opts.exporterId}: delivery worker stopped: ${String(err)}`);
      });
  }

  /** Never blocks, never throws. */
  push(item: T): void {
    try {
      if (this.closing) {
        this.drop([item], 'closed');
        return;
      }
      const result = this.backlog.push(item);
      if (result !== 'ok') this.drop([item], result);
      this.updateGauges();
      this.wake?.();
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: export failed: ${String(err)}`);
    }
  }

  stats(): DeliveryStats {
    const inFlight = this.inFlight?.items.length ?? 0;
    return {
      queued: Math.max(0, this.backlog.pending - inFlight),
      inFlight,
      spooled: this.wal?.pendingRecords ?? 0,
      sent: this.sentCount,
      dropped: { ...this.droppedCount },
      commits: this.wal?.commits ?? 0,
    };
  }

  /** Resolves once nothing is queued, in flight or unacknowledged (for tests and drains). */
  idle(): Promise<void> {
    if (this.isEmpty()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private openWal(): WriteAheadLog | undefined {
    const { settings, exporterId, metrics, logger } = this.opts;
    const dir = settings.spool_dir;
    if (dir === undefined) return undefined;
    try {
      return WriteAheadLog.open(
        dir,
        {
          maxBytes: settings.spool_max_bytes,
          segmentBytes: Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(settings.spool_max_bytes / 8))),
          fsync: settings.spool_fsync,
          commitInterval: settings.spool_commit_interval,
        },
        {
          corrupt: (message) => {
            metrics.spoolCorrupt.inc(this.labels);
            logger.warn(`exporter ${exporterId}: write-ahead log: ${message}`);
          },
          error: (message) => {
            metrics.errors.inc(this.labels);
            logger.error(`exporter ${exporterId}: write-ahead log: ${message}`);
          },
          committed: (count) => {
            if (count > 0) metrics.spooled.inc(this.labels, count);
            this.updateGauges();
            this.wake?.();
          },
          writeFailed: (records, err) => {
            metrics.errors.inc(this.labels);
            logger.error(`exporter ${exporterId}: cannot write the write-ahead log in ${dir}: ${String(err)}`);
            if (this.backlog instanceof DurableBacklog) this.backlog.forget(records.map((r) => r.seq));
            this.dropIds(records.map((r) => r.id), 'write_error');
          },
        },
      );
    } catch (err) {
      metrics.errors.inc(this.labels);
      logger.error(`exporter ${exporterId}: write-ahead log ${dir} unusable, delivering from memory only: ${String(err)}`);
      return undefined;
    }
  }

  private async doShutdown(): Promise<void> {
    this.closing = true;
    this.wake?.();
    const deadline = new AbortController();
    const finished = await Promise.race([
      this.worker.then(() => true),
      this.clock.sleep(this.opts.settings.shutdown_timeout, deadline.signal).then(() => false),
    ]);
    deadline.abort();
    if (!finished) {
      this.stopped = true;
      this.stop.abort();
      this.wake?.();
      await this.worker;
    }
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    const left = this.backlog.pending;
    const leftover = await this.backlog.close();
    if (this.backlog.durable) {
      if (left > 0) this.opts.logger.info(`exporter ${this.opts.exporterId}: ${left} changes stay in the write-ahead log for the next start`);
    } else {
      this.drop([...(inFlight?.items ?? []), ...leftover], 'shutdown');
    }
    this.updateGauges();
    this.flushDropLog();
    this.shutDown = true;
    this.notifyIdle();
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const batch = this.takeBatch();
      if (!batch) {
        this.notifyIdle();
        if (this.closing && this.backlog.pending === 0) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.inFlight = batch;
      this.updateGauges();
      let result = await this.deliver(batch);
      while (result === 'expired' && this.backlog.durable && !this.stopped) {
        // the backend is still down: the batch stays at the head of the log; probe again later
        await this.clock.sleep(this.opts.settings.retry_on_failure.max_interval, this.stop.signal);
        result = this.stopped ? 'stopped' : await this.deliver(batch);
      }
      if (result === 'stopped') return; // shutdown accounts for the in-flight batch
      this.inFlight = undefined;
      if (result === 'sent') {
        this.sentCount += batch.items.length;
        this.opts.metrics.sent.inc(this.labels, batch.items.length);
      } else {
        this.drop(batch.items, result === 'rejected' ? 'rejected' : 'retries_exhausted');
      }
      this.finish(batch);
      this.updateGauges();
    }
  }

  private takeBatch(): BacklogBatch<T> | undefined {
    try {
      return this.backlog.take(this.opts.settings.max_batch_size);
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot read the write-ahead log: ${String(err)}`);
      return undefined;
    }
  }

  private finish(batch: BacklogBatch<T>): void {
    try {
      this.backlog.done(batch);
    } catch (err) {
      // not acknowledged on disk: sent again after a restart (at least once), never lost
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot acknowledge in the write-ahead log: ${String(err)}`);
    }
  }

  private async deliver(batch: BacklogBatch<T>): Promise<DeliverResult> {
    const retry = this.opts.settings.retry_on_failure;
    const start = this.clock.now();
    let interval = retry.initial_interval;
    for (;;) {
      if (this.stopped) return 'stopped';
      let outcome: SendOutcome;
      try {
        outcome = await this.opts.send(batch.items, this.stop.signal);
      } catch (err) {
        outcome = { ok: false, retryable: false, reason: String(err) };
      }
      if (outcome.ok) return 'sent';
      if (this.stopped) return 'stopped';
      if (!outcome.retryable) {
        this.opts.logger.warn(`exporter ${this.opts.exporterId}: backend rejected ${batch.items.length} changes: ${outcome.reason}`);
        return 'rejected';
      }
      if (!retry.enabled) return 'expired';
      const now = this.clock.now();
      const delay = outcome.retryAfterMs ?? jitteredDelay(interval, retry, this.clock.random);
      interval = nextInterval(interval, retry);
      if (now + delay - start > retry.max_elapsed_time) {
        this.opts.logger.warn(
          `exporter ${this.opts.exporterId}: giving up on ${batch.items.length} changes after ${now - start} ms: ${outcome.reason}` +
            (this.backlog.durable ? '; they stay in the write-ahead log and are tried again' : ''),
        );
        return 'expired';
      }
      this.opts.metrics.retries.inc(this.labels);
      this.opts.logger.debug(`exporter ${this.opts.exporterId}: ${outcome.reason}; retrying in ${Math.round(delay)} ms`);
      await this.clock.sleep(delay, this.stop.signal);
    }
  }

  private drop(items: readonly T[], reason: DropReason): void {
    this.dropIds(
      items.map((i) => this.opts.codec.id(i)),
      reason,
    );
  }

  private dropIds(ids: readonly string[], reason: DropReason): void {
    if (ids.length === 0) return;
    this.opts.metrics.dropped.inc({ exporter: this.opts.exporterId, reason }, ids.length);
    this.droppedCount[reason] = (this.droppedCount[reason] ?? 0) + ids.length;
    // one log line per reason per tick, listing ids, so a flood of drops is not a flood of lines
    let entry = this.pendingDropLog.get(reason);
    if (!entry) {
      entry = { ids: [], count: 0 };
      this.pendingDropLog.set(reason, entry);
      if (this.pendingDropLog.size === 1) queueMicrotask(() => this.flushDropLog());
    }
    for (const id of ids) {
      entry.count += 1;
      if (entry.ids.length < MAX_IDS_PER_LOG_LINE) entry.ids.push(id);
    }
  }

  private flushDropLog(): void {
    for (const [reason, { ids, count }] of this.pendingDropLog) {
      const more = count > ids.length ? ` (+${count - ids.length} more)` : '';
      this.opts.logger.warn(`exporter ${this.opts.exporterId}: dropped ${count} changes (${reason}): ${ids.join(', ')}${more}`);
    }
    this.pendingDropLog.clear();
  }

  private isEmpty(): boolean {
    return this.inFlight === undefined && this.backlog.pending === 0;
  }

  private notifyIdle(): void {
    if (!this.isEmpty() && !this.shutDown) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private updateGauges(): void {
    this.opts.metrics.queueDepth.set(this.labels, this.backlog.inMemory);
    this.opts.metrics.spoolItems.set(this.labels, this.wal?.pendingRecords ?? 0);
    this.opts.metrics.spoolBytes.set(this.labels, this.backlog.pendingBytes);
  }
}
