/**
 * The write-ahead log of a network exporter (docs/outputs.md, Exporters: none lost), as the Collector's persistent
 * sending queue: a record is appended before it is sent and acknowledged once the backend
 * accepted it; after a crash, what was not acknowledged is read again, in order.
 *
 * Layout of the folder: segment files `<base>.wal` (base = the log position of their first byte,
 * 16 digits, so names sort in log order) holding frames (wal-frame.ts), and `ack`, the position
 * up to which records are acknowledged. Fully acknowledged segments are deleted.
 *
 * - Group commit: the appends of one event-loop turn (a burst of changes) are one write, made at
 *   the end of that turn, before any other I/O callback runs; one fsync (per write, or per
 *   `commitInterval`) then makes them durable. Only durable records are read for sending, so a
 *   record is on disk before any backend sees it. The caller never waits on the disk.
 * - Recovery: every segment is scanned; a torn or damaged frame ends its segment (the rest is cut,
 *   counted and logged through `hooks.corrupt`), never the start.
 * - Bounded: appends that would take the unacknowledged bytes past `maxBytes` are refused (the
 *   caller drops the newest and counts it).
 * - Errors other than a missing file are reported through the hooks, never swallowed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ACK_FILE, decodeFrame, encodeAck, encodeFrame, FRAME_HEADER_BYTES, segmentName, type WalRecord } from './wal-frame.js';
import { recoverLog } from './wal-recovery.js';

export interface WalOptions {
  /** cap on bytes not yet acknowledged (committed or waiting for the commit) */
  readonly maxBytes: number;
  /** a new segment file starts once the current one holds this many bytes */
  readonly segmentBytes: number;
  /** fsync every commit (false: a process crash loses nothing, an OS crash or power loss may) */
  readonly fsync: boolean;
  /**
   * appends are written at the end of each event-loop turn; this long (ms) after a write, one
   * fsync makes everything written since durable and sendable; 0 = right after each write
   */
  readonly commitInterval: number;
}

export interface WalHooks {
  /** torn or damaged bytes were skipped (a warning, counted by the caller) */
  corrupt(message: string): void;
  /** an I/O error that lost nothing yet (an ack not persisted, a segment not deleted) */
  error(message: string): void;
  /** a commit ended: `count` records are now durable and readable (0 when it failed) */
  committed(count: number): void;
  /** a commit failed: these records never reached the disk */
  writeFailed(records: readonly { readonly seq: number; readonly id: string }[], err: unknown): void;
}

export interface WalBatch {
  readonly records: WalRecord[];
  /** log position after the last record read: acknowledging the batch acknowledges all before it */
  readonly end: number;
  /** records consumed (those returned, plus any unreadable ones skipped) */
  readonly count: number;
}

interface Segment {
  readonly base: number;
  readonly file: string;
  /** durable (synced) bytes: what may be read for sending */
  size: number;
  /** bytes written (synced or not) */
  written: number;
}

/** One write, waiting for its fsync. */
interface Written {
  readonly no: number;
  readonly seg: Segment;
  readonly end: number;
  readonly records: number;
  readonly bytes: number;
}

interface Pending {
  readonly seq: number;
  readonly id: string;
  readonly frame: Buffer;
}

const READ_CHUNK_BYTES = 256 * 1024;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class WriteAheadLog {
  private readonly segments: Segment[] = [];
  private ackPos = 0;
  private readPos = 0;
  /** committed records after ackPos / after readPos */
  private unacked = 0;
  private unread = 0;
  private nextSeq = 0;
  private group: Pending[] = [];
  private groupBytes = 0;
  private writeScheduled = false;
  private written: Written[] = [];
  private writeNo = 0;
  private unsyncedRecords = 0;
  private unsyncedBytes = 0;
  private syncing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private writer: { base: number; fd: number } | undefined;
  private reader: { base: number; fd: number } | undefined;
  private ackFd: number | undefined;
  private closed = false;
  private commitCount = 0;

  private constructor(
    readonly dir: string,
    private readonly opts: WalOptions,
    private readonly hooks: WalHooks,
  ) {}

  /** Opens (creating) the log in `dir` and recovers what it holds. Throws only when the folder is unusable. */
  static open(dir: string, opts: WalOptions, hooks: WalHooks): WriteAheadLog {
    const wal = new WriteAheadLog(dir, opts, hooks);
    fs.mkdirSync(dir, { recursive: true });
    const recovered = recoverLog(dir, hooks);
    for (const seg of recovered.segments) wal.segments.push({ ...seg, written: seg.size });
    wal.ackPos = recovered.ackPos;
    wal.readPos = recovered.ackPos;
    wal.unacked = recovered.pending;
    wal.unread = recovered.pending;
    wal.nextSeq = recovered.nextSeq;
    wal.deleteAckedSegments();
    return wal;
  }

  /** records not yet acknowledged (committed or waiting for their commit) */
  get pendingRecords(): number {
    return this.unacked + this.unsyncedRecords + this.group.length;
  }

  /** bytes not yet acknowledged */
  get pendingBytes(): number {
    return Math.max(0, this.committedEnd - this.ackPos) + this.unsyncedBytes + this.groupBytes;
  }

  /** committed records not yet read */
  get unreadRecords(): number {
    return this.unread;
  }

  /** commits so far: each made a run of writes durable with one fsync (or, without fsync, one write) */
  get commits(): number {
    return this.commitCount;
  }

  /** Buffers a record for the next commit; returns its seq, or undefined when over maxBytes. */
  append(id: string, body: Buffer): number | undefined {
    if (this.closed) return undefined;
    const seq = this.nextSeq;
    const frame = encodeFrame(seq, id, body);
    if (this.pendingBytes + frame.length > this.opts.maxBytes) return undefined;
    this.nextSeq += 1;
    this.group.push({ seq, id, frame });
    this.groupBytes += frame.length;
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      // the end of this turn: the whole burst of changes becomes one write
      queueMicrotask(() => this.writeGroup());
    }
    return seq;
  }

  /** Reads up to `max` committed records after the previous read, in order; undefined when none. */
  read(max: number): WalBatch | undefined {
    const records: WalRecord[] = [];
    let count = 0;
    let recounted = false;
    while (records.length < max && this.readPos < this.committedEnd) {
      const seg = this.segments.find((s) => s.base <= this.readPos && this.readPos < s.base + s.size);
      if (seg === undefined) {
        // the rest of a damaged segment was cut: go on at the next one
        const next = this.segments.find((s) => s.base > this.readPos);
        if (next === undefined) break;
        this.readPos = next.base;
        continue;
      }
      const offset = this.readPos - seg.base;
      let buf = this.readAt(seg, offset, Math.min(READ_CHUNK_BYTES, seg.size - offset));
      let pos = 0;
      while (records.length < max && pos < buf.length) {
        const frame = decodeFrame(buf, pos);
        if (frame.kind === 'record') {
          records.push(frame.record);
          count += 1;
          pos += frame.bytes;
        } else if (frame.kind === 'incomplete' && pos === 0 && offset + frame.needed <= seg.size) {
          buf = this.readAt(seg, offset, frame.needed); // one frame bigger than a chunk
        } else if (frame.kind === 'incomplete' && pos > 0) {
          break;
        } else {
          const reason = frame.kind === 'corrupt' ? frame.reason : 'record runs past the segment end';
          this.hooks.corrupt(`${seg.file}: ${reason} at byte ${offset + pos}; skipped the rest of the segment (${seg.size - offset - pos} bytes)`);
          pos = seg.size - offset;
          this.recount(seg.base + seg.size);
          recounted = true;
          break;
        }
      }
      this.readPos = seg.base + offset + pos;
    }
    if (!recounted) this.unread = Math.max(0, this.unread - count);
    if (count === 0 && records.length === 0 && this.readPos === this.ackPos) return undefined;
    return { records, end: this.readPos, count };
  }

  /** Acknowledges everything up to the end of `batch` (delivered, or dropped for good). */
  ack(batch: WalBatch): void {
    if (batch.end <= this.ackPos) return;
    this.ackPos = batch.end;
    this.unacked = Math.max(0, this.unacked - batch.count);
    this.writeAck();
    this.deleteAckedSegments();
  }

  /** Resolves once everything appended so far is written and synced (or reported as failed). */
  async flush(): Promise<void> {
    if (this.group.length > 0) this.writeGroup();
    while (this.written.length > 0 || this.syncing !== undefined) {
      if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      this.syncing ??= this.syncNow().finally(() => (this.syncing = undefined));
      await this.syncing;
    }
  }

  /** Writes and syncs what is buffered and closes the files; later appends are refused. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.writer !== undefined) this.closeFd(this.writer.fd);
    this.writer = undefined;
    this.closeReader();
    if (this.ackFd !== undefined) this.closeFd(this.ackFd);
    this.ackFd = undefined;
  }

  /** end of what is durable and readable */
  private get committedEnd(): number {
    const last = this.segments[this.segments.length - 1];
    return last === undefined ? this.ackPos : last.base + last.size;
  }

  /**
   * Writes the appends of this turn, synchronously, before the event loop runs any other callback:
   * so no other exporter (a JSONL file, say) can have written a change out that the log has not.
   */
  private writeGroup(): void {
    this.writeScheduled = false;
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    const bytes = this.groupBytes;
    this.groupBytes = 0;
    const data = group.length === 1 ? (group[0] as Pending).frame : Buffer.concat(group.map((p) => p.frame));
    let seg: Segment | undefined;
    try {
      seg = this.writableSegment();
      for (let done = 0; done < data.length; ) {
        done += fs.writeSync((this.writer as { fd: number }).fd, data, done, data.length - done, seg.written + done);
      }
      seg.written += data.length;
      this.writeNo += 1;
      this.written.push({ no: this.writeNo, seg, end: seg.written, records: group.length, bytes });
      this.unsyncedRecords += group.length;
      this.unsyncedBytes += bytes;
    } catch (err) {
      // cut what may have reached the file, so the log stays a clean sequence of frames
      if (seg !== undefined && this.writer !== undefined) {
        try {
          fs.ftruncateSync(this.writer.fd, seg.written);
        } catch {
          // the next recovery cuts a torn tail anyway
        }
      }
      this.hooks.writeFailed(group, err);
      this.hooks.committed(0);
      return;
    }
    if (this.opts.fsync) this.scheduleSync();
    else this.makeDurable(this.writeNo);
  }

  /** One fsync for everything written so far: at once, or once `commitInterval` has passed. */
  private scheduleSync(): void {
    if (this.syncing !== undefined || this.syncTimer !== undefined) return;
    const start = () => {
      this.syncTimer = undefined;
      this.syncing = this.syncNow().finally(() => {
        this.syncing = undefined;
        if (this.written.length > 0) this.scheduleSync();
      });
    };
    if (this.opts.commitInterval > 0) this.syncTimer = setTimeout(start, this.opts.commitInterval);
    else start();
  }

  private async syncNow(): Promise<void> {
    const upTo = this.writeNo;
    const writer = this.writer;
    if (writer !== undefined && this.written.length > 0) {
      await new Promise<void>((resolve) =>
        fs.fdatasync(writer.fd, (err) => {
          // the bytes are in the page cache: a process crash still loses nothing
          if (err) this.hooks.error(`fsync of ${this.dir} failed: ${err.message}`);
          resolve();
        }),
      );
    }
    this.makeDurable(upTo);
  }

  /** Written batches up to write `upTo` are durable: readable for sending. */
  private makeDurable(upTo: number): void {
    let records = 0;
    while (this.written.length > 0 && (this.written[0] as Written).no <= upTo) {
      const w = this.written.shift() as Written;
      w.seg.size = Math.max(w.seg.size, w.end);
      records += w.records;
      this.unsyncedRecords -= w.records;
      this.unsyncedBytes -= w.bytes;
    }
    if (records === 0) return;
    this.unacked += records;
    this.unread += records;
    this.commitCount += 1;
    this.hooks.committed(records);
  }

  /** The segment to append to: the last one, or a new one once it is full. */
  private writableSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.written < this.opts.segmentBytes) {
      if (this.writer?.base !== last.base) this.writer = { base: last.base, fd: fs.openSync(last.file, 'r+') };
      return last;
    }
    if (this.writer !== undefined) {
      // the full segment must be durable before the log goes on in the next one
      if (this.opts.fsync && this.written.length > 0) fs.fdatasyncSync(this.writer.fd);
      this.makeDurable(this.writeNo);
      const old = this.writer.fd;
      // an fsync in flight still uses the old descriptor: close it after that
      if (this.syncing !== undefined) void this.syncing.finally(() => this.closeFd(old));
      else this.closeFd(old);
      this.writer = undefined;
    }
    const base = last === undefined ? this.ackPos : last.base + last.written;
    const seg: Segment = { base, file: path.join(this.dir, segmentName(base)), size: 0, written: 0 };
    this.writer = { base, fd: fs.openSync(seg.file, 'w') };
    this.segments.push(seg);
    // the new file's name must survive a power loss too
    if (this.opts.fsync) this.syncDir();
    return seg;
  }

  private closeFd(fd: number): void {
    try {
      fs.closeSync(fd);
    } catch (err) {
      this.hooks.error(`cannot close a file of ${this.dir}: ${message(err)}`);
    }
  }

  private readAt(seg: Segment, offset: number, length: number): Buffer {
    if (this.reader?.base !== seg.base) {
      this.closeReader();
      this.reader = { base: seg.base, fd: fs.openSync(seg.file, 'r') };
    }
    const buf = Buffer.allocUnsafe(length);
    const read = fs.readSync(this.reader.fd, buf, 0, length, offset);
    return buf.subarray(0, read);
  }

  private closeReader(): void {
    if (this.reader === undefined) return;
    try {
      fs.closeSync(this.reader.fd);
    } catch {
      // already closed or gone: nothing held
    }
    this.reader = undefined;
  }

  private writeAck(): void {
    const buf = encodeAck(this.ackPos);
    try {
      this.ackFd ??= fs.openSync(path.join(this.dir, ACK_FILE), 'w');
      // 16 bytes in place: one small write a kill cannot half-apply in practice; a torn one fails its check
      fs.writeSync(this.ackFd, buf, 0, 16, 0);
    } catch (err) {
      this.hooks.error(`cannot record the acknowledged position in ${this.dir}: ${message(err)} (those records may be sent again after a restart)`);
    }
  }

  private deleteAckedSegments(): void {
    while (this.segments.length > 1 && (this.segments[1] as Segment).base <= this.ackPos) {
      const done = this.segments.shift() as Segment;
      if (this.reader?.base === done.base) this.closeReader();
      try {
        fs.rmSync(done.file, { force: true });
      } catch (err) {
        this.hooks.error(`cannot delete the delivered segment ${done.file}: ${message(err)}`);
      }
    }
  }

  private syncDir(): void {
    try {
      const fd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      this.hooks.error(`cannot fsync ${this.dir}: ${message(err)}`);
    }
  }

  /** After cutting a damaged segment while reading: count the records still pending from scratch. */
  private recount(cutAt: number): void {
    let pending = 0;
    let unread = 0;
    for (const seg of this.segments) {
      if (seg.base + seg.size <= this.ackPos) continue;
      let data: Buffer;
      try {
        data = fs.readFileSync(seg.file).subarray(0, seg.size);
      } catch (err) {
        this.hooks.error(`cannot read ${seg.file}: ${message(err)}`);
        continue;
      }
      for (let pos = 0; pos + FRAME_HEADER_BYTES <= data.length; ) {
        const frame = decodeFrame(data, pos);
        if (frame.kind !== 'record') break;
        if (seg.base + pos >= this.ackPos) pending += 1;
        if (seg.base + pos >= cutAt) unread += 1;
        pos += frame.bytes;
      }
    }
    this.unacked = pending;
    this.unread = unread;
  }
}
