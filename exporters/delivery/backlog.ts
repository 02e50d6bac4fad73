/**
 * What a delivery queue holds before sending: in memory only (offline runs, `spool: false`), or
 * written ahead to disk (the sidecar's default). Both hand out batches in the order items came;
 * the delivery worker sends one batch at a time and calls done() once it is delivered or dropped.
 */
import type { WalBatch, WriteAheadLog } from './write-ahead-log.js';

/** How an exporter's items become the opaque records of the write-ahead log, and back. */
export interface RecordCodec<T> {
  /** names an item in log lines and beside its record on disk (a pain-point or problem id) */
  id(item: T): string;
  encode(item: T): Buffer;
  /** throws on a body it cannot read */
  decode(body: Buffer): T;
}

export interface BacklogBatch<T> {
  readonly items: T[];
  /** set when the batch was read from the write-ahead log (acknowledged by done()) */
  readonly wal?: WalBatch;
}

export interface Backlog<T> {
  /** true when items survive a restart (what is left at shutdown stays on disk) */
  readonly durable: boolean;
  /** 'ok', or the reason the item was dropped */
  push(item: T): 'ok' | 'queue_full' | 'spool_full';
  /** the next batch ready to send, or undefined when none is */
  take(max: number): BacklogBatch<T> | undefined;
  /** the batch was delivered, or dropped for good */
  done(batch: BacklogBatch<T>): void;
  /** items not yet done, in flight included */
  readonly pending: number;
  /** items held decoded in memory */
  readonly inMemory: number;
  readonly pendingBytes: number;
  /** what is left when the queue stops for good: memory items (to count as dropped) */
  close(): Promise<T[]>;
}

export class MemoryBacklog<T> implements Backlog<T> {
  readonly durable = false;
  private readonly items: T[] = [];
  private taken = 0;

  constructor(private readonly capacity: number) {}

  get pending(): number {
    return this.items.length + this.taken;
  }

  get inMemory(): number {
    return this.items.length;
  }

  readonly pendingBytes = 0;

  push(item: T): 'ok' | 'queue_full' {
    if (this.items.length >= this.capacity) return 'queue_full';
    this.items.push(item);
    return 'ok';
  }

  take(max: number): BacklogBatch<T> | undefined {
    if (this.items.length === 0) return undefined;
    const items = this.items.splice(0, max);
    this.taken += items.length;
    return { items };
  }

  done(batch: BacklogBatch<T>): void {
    this.taken = Math.max(0, this.taken - batch.items.length);
  }

  close(): Promise<T[]> {
    this.taken = 0;
    return Promise.resolve(this.items.splice(0));
  }
}

/**
 * Every item is appended to the write-ahead log before it can be sent; the first `cacheSize`
 * waiting items are also kept decoded, so the usual path never decodes what it just encoded.
 * Items beyond the cache wait on disk only and are decoded when their turn comes.
 */
export class DurableBacklog<T> implements Backlog<T> {
  readonly durable = true;
  private readonly cache = new Map<number, T>();

  constructor(
    readonly wal: WriteAheadLog,
    private readonly codec: RecordCodec<T>,
    private readonly cacheSize: number,
    /** a record whose body cannot be decoded (counted and logged by the caller) */
    private readonly onUnreadable: (id: string, err: unknown) => void,
  ) {}

  get pending(): number {
    return this.wal.pendingRecords;
  }

  get inMemory(): number {
    return this.cache.size;
  }

  get pendingBytes(): number {
    return this.wal.pendingBytes;
  }

  push(item: T): 'ok' | 'spool_full' {
    const seq = this.wal.append(this.codec.id(item), this.codec.encode(item));
    if (seq === undefined) return 'spool_full';
    if (this.cache.size < this.cacheSize) this.cache.set(seq, item);
    return 'ok';
  }

  take(max: number): BacklogBatch<T> | undefined {
    for (;;) {
      const batch = this.wal.read(max);
      if (batch === undefined) return undefined;
      const items: T[] = [];
      for (const record of batch.records) {
        const cached = this.cache.get(record.seq);
        if (cached !== undefined) {
          this.cache.delete(record.seq);
          items.push(cached);
          continue;
        }
        try {
          items.push(this.codec.decode(record.body));
        } catch (err) {
          this.onUnreadable(record.id, err);
        }
      }
      if (items.length > 0) return { items, wal: batch };
      this.wal.ack(batch); // only unreadable records: nothing to send
    }
  }

  done(batch: BacklogBatch<T>): void {
    if (batch.wal !== undefined) this.wal.ack(batch.wal);
  }

  /** Forgets cached items whose commit failed (they are not in the log). */
  forget(seqs: readonly number[]): void {
    for (const seq of seqs) this.cache.delete(seq);
  }

  async close(): Promise<T[]> {
    await this.wal.close();
    this.cache.clear();
    return [];
  }
}
