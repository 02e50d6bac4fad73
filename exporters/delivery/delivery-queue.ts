/**
 * The delivery machinery every network exporter shares (Vector-style, under the sinks):
 * a bounded in-memory queue, one worker sending batches with retry (exponential backoff with
 * jitter, Retry-After), and an optional disk spool. The logical order of pending items is always
 * in-flight batch ++ memory queue ++ spool, so a backend receives changes in the order exported.
 *
 * - export() never blocks and never throws: queue, spool, or drop (counted, logged with ids);
 * - retryable failures (429, 502, 503, 504, connection errors, timeouts) back off and retry;
 *   others are dropped at once (counted);
 * - with a spool: once the backend has been down `spool_after_down`, the memory queue moves to the
 *   spool and new items go there; a batch whose retries expire goes back to the spool's head and is
 *   retried when the backend returns, so nothing is lost; a restart resends what was spooled;
 * - shutdown() keeps sending for `shutdown_timeout`, then spools (or drops, counted) what is left.
 */
import type { Logger } from '../../src/telemetry/logger.js';
import { jitteredDelay, nextInterval } from './backoff.js';
import { systemClock, type DeliveryClock } from './clock.js';
import type { DropReason, ExporterMetrics } from './metrics.js';
import type { DeliverySettings } from './settings.js';
import { JsonlSpool, type SpoolBatch } from './spool.js';

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
  /** names an item in log lines (the pain-point id) */
  readonly describe: (item: T) => string;
  readonly clock?: DeliveryClock;
}

export interface DeliveryStats {
  readonly queued: number;
  readonly inFlight: number;
  readonly spooled: number;
  readonly sent: number;
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
}

interface Batch<T> {
  readonly items: T[];
  /** set when the batch was read from the spool (commit it once delivered) */
  readonly fromSpool?: SpoolBatch<T>;
}

type DeliverResult = 'sent' | 'rejected' | 'expired' | 'stopped';

const MAX_IDS_PER_LOG_LINE = 20;

export class DeliveryQueue<T> {
  private readonly memory: T[] = [];
  private inFlight: Batch<T> | undefined;
  private readonly spool: JsonlSpool<T> | undefined;
  private readonly clock: DeliveryClock;
  private readonly labels: { exporter: string };
  /** when the current run of retryable failures began; undefined while the backend answers */
  private downSince: number | undefined;
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
    const dir = opts.settings.spool_dir;
    if (dir !== undefined) {
      try {
        this.spool = new JsonlSpool<T>(dir, opts.exporterId, opts.settings.spool_max_bytes, () => {
          opts.metrics.errors.inc(this.labels);
          opts.logger.warn(`exporter ${opts.exporterId}: skipped a corrupt spool line`);
        });
        if (this.spool.pendingItems > 0) {
          opts.logger.info(`exporter ${opts.exporterId}: ${this.spool.pendingItems} spooled changes to resend from ${this.spool.file}`);
        }
      } catch (err) {
        opts.metrics.errors.inc(this.labels);
        opts.logger.error(`exporter ${opts.exporterId}: spool ${dir} unusable, memory only: ${String(err)}`);
      }
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
      // once anything is spooled, new items queue behind it on disk so order is kept
      if (this.spool && (this.spool.pendingItems > 0 || this.isDownLong())) {
        this.spoolAppend([item]);
      } else if (this.memory.length < this.opts.settings.queue_size) {
        this.memory.push(item);
      } else if (this.spool) {
        this.spoolAppend([item]);
      } else {
        this.drop([item], 'queue_full');
      }
      this.updateGauges();
      this.wake?.();
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: export failed: ${String(err)}`);
    }
  }

  stats(): DeliveryStats {
    return {
      queued: this.memory.length,
      inFlight: this.inFlight?.items.length ?? 0,
      spooled: this.spool?.pendingItems ?? 0,
      sent: this.sentCount,
      dropped: { ...this.droppedCount },
    };
  }

  /** Resolves once nothing is queued, in flight or spooled (for tests and drains). */
  idle(): Promise<void> {
    if (this.isEmpty()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
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
    const leftover = [...(this.inFlight && !this.inFlight.fromSpool ? this.inFlight.items : []), ...this.memory.splice(0)];
    this.inFlight = undefined;
    if (leftover.length > 0) {
      if (this.spool) this.spoolPrepend(leftover);
      else this.drop(leftover, 'shutdown');
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
        if (this.closing) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.inFlight = batch;
      this.updateGauges();
      const result = await this.deliver(batch);
      if (result === 'stopped') return; // shutdown accounts for the in-flight batch
      this.inFlight = undefined;
      if (result === 'sent') {
        this.sentCount += batch.items.length;
        this.opts.metrics.sent.inc(this.labels, batch.items.length);
        if (batch.fromSpool) await this.commitOrPause(batch.fromSpool);
      } else if (result === 'rejected') {
        this.drop(batch.items, 'rejected');
        if (batch.fromSpool) await this.commitOrPause(batch.fromSpool);
      } else if (this.spool) {
        // retries expired while the backend is down: keep everything on disk, probe again later
        if (!batch.fromSpool) this.spoolPrepend([...batch.items, ...this.memory.splice(0)]);
        await this.clock.sleep(this.opts.settings.retry_on_failure.max_interval, this.stop.signal);
      } else {
        this.drop(batch.items, 'retries_exhausted');
      }
      this.updateGauges();
    }
  }

  private takeBatch(): Batch<T> | undefined {
    const max = this.opts.settings.max_batch_size;
    if (this.memory.length > 0) return { items: this.memory.splice(0, max) };
    if (!this.spool || this.spool.pendingItems === 0) return undefined;
    try {
      for (;;) {
        const peeked = this.spool.peek(max);
        if (peeked.items.length > 0) return { items: peeked.items, fromSpool: peeked };
        if (peeked.lines === 0) return undefined;
        if (!this.commitSpool(peeked)) return undefined; // only corrupt lines: skip them
      }
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot read spool: ${String(err)}`);
      return undefined;
    }
  }

  private async deliver(batch: Batch<T>): Promise<DeliverResult> {
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
      if (outcome.ok) {
        this.downSince = undefined;
        return 'sent';
      }
      if (this.stopped) return 'stopped';
      if (!outcome.retryable) {
        this.opts.logger.warn(`exporter ${this.opts.exporterId}: backend rejected ${batch.items.length} changes: ${outcome.reason}`);
        return 'rejected';
      }
      const now = this.clock.now();
      this.downSince ??= now;
      if (!retry.enabled) return 'expired';
      if (this.spool && !batch.fromSpool && this.isDownLong() && this.memory.length > 0) {
        this.spoolPrepend(this.memory.splice(0));
        this.updateGauges();
      }
      const delay = outcome.retryAfterMs ?? jitteredDelay(interval, retry, this.clock.random);
      interval = nextInterval(interval, retry);
      if (now + delay - start > retry.max_elapsed_time) {
        this.opts.logger.warn(
          `exporter ${this.opts.exporterId}: giving up on ${batch.items.length} changes after ${now - start} ms: ${outcome.reason}`,
        );
        return 'expired';
      }
      this.opts.metrics.retries.inc(this.labels);
      this.opts.logger.debug(`exporter ${this.opts.exporterId}: ${outcome.reason}; retrying in ${Math.round(delay)} ms`);
      await this.clock.sleep(delay, this.stop.signal);
    }
  }

  private commitSpool(batch: SpoolBatch<T>): boolean {
    try {
      this.spool?.commit(batch);
      return true;
    } catch (err) {
      // the batch stays at the spool's head and is sent again: at least once, never lost
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot commit the spool: ${String(err)}`);
      return false;
    }
  }

  /** A spool that cannot be committed would resend its head at once, again and again: pace it. */
  private async commitOrPause(batch: SpoolBatch<T>): Promise<void> {
    if (!this.commitSpool(batch)) await this.clock.sleep(this.opts.settings.retry_on_failure.max_interval, this.stop.signal);
  }

  private isDownLong(): boolean {
    return this.downSince !== undefined && this.clock.now() - this.downSince >= this.opts.settings.spool_after_down;
  }

  private spoolAppend(items: readonly T[]): void {
    const spool = this.spool as JsonlSpool<T>;
    try {
      const rejected = spool.append(items);
      this.opts.metrics.spooled.inc(this.labels, items.length - rejected.length);
      if (rejected.length > 0) this.drop(rejected, 'spool_full');
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot write spool: ${String(err)}`);
      this.drop([...items], 'spool_full');
    }
  }

  private spoolPrepend(items: readonly T[]): void {
    if (items.length === 0) return;
    const spool = this.spool as JsonlSpool<T>;
    try {
      const cut = spool.prepend(items);
      this.opts.metrics.spooled.inc(this.labels, Math.max(0, items.length - cut.length));
      if (cut.length > 0) this.drop(cut, 'spool_full');
    } catch (err) {
      this.opts.metrics.errors.inc(this.labels);
      this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot write spool: ${String(err)}`);
      this.drop([...items], 'spool_full');
    }
  }

  private drop(items: readonly T[], reason: DropReason): void {
    if (items.length === 0) return;
    this.opts.metrics.dropped.inc({ exporter: this.opts.exporterId, reason }, items.length);
    this.droppedCount[reason] = (this.droppedCount[reason] ?? 0) + items.length;
    // one log line per reason per tick, listing ids, so a flood of drops is not a flood of lines
    let entry = this.pendingDropLog.get(reason);
    if (!entry) {
      entry = { ids: [], count: 0 };
      this.pendingDropLog.set(reason, entry);
      if (this.pendingDropLog.size === 1) queueMicrotask(() => this.flushDropLog());
    }
    for (const item of items) {
      entry.count += 1;
      if (entry.ids.length < MAX_IDS_PER_LOG_LINE) entry.ids.push(this.opts.describe(item));
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
    return this.memory.length === 0 && this.inFlight === undefined && (this.spool?.pendingItems ?? 0) === 0;
  }

  private notifyIdle(): void {
    if (!this.isEmpty() && !this.shutDown) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private updateGauges(): void {
    this.opts.metrics.queueDepth.set(this.labels, this.memory.length);
    this.opts.metrics.spoolItems.set(this.labels, this.spool?.pendingItems ?? 0);
    this.opts.metrics.spoolBytes.set(this.labels, this.spool?.pendingBytes ?? 0);
  }
}
