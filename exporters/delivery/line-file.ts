/**
 * An append-only text file written line by line: lines are buffered (bounded, drops counted) and
 * appended in order by one writer, in chunks, so a burst of changes is one write. Errors are
 * counted and logged, never thrown; the file is reopened on the next write after an error. No
 * fsync: a written line survives a process crash, not an OS crash; unwritten lines die with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../../src/telemetry/logger.js';
import type { ExporterMetrics } from './metrics.js';

export interface LineFileOptions {
  readonly path: string;
  readonly exporterId: string;
  readonly maxBufferedBytes: number;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** count written lines in sidelight_exporter_sent_total (the main file of an exporter) */
  readonly countsAsSent: boolean;
}

export class LineFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private handle: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private closed = false;
  private written = 0;

  constructor(private readonly opts: LineFileOptions) {}

  /** lines appended to the file so far */
  get linesWritten(): number {
    return this.written;
  }

  /** Queues one line (without its newline); returns false when it was dropped. */
  write(line: string): boolean {
    const bytes = Buffer.byteLength(line) + 1;
    if (this.closed || this.pendingBytes + bytes > this.opts.maxBufferedBytes) {
      this.opts.metrics.dropped.inc({ exporter: this.opts.exporterId, reason: this.closed ? 'closed' : 'buffer_full' });
      return false;
    }
    this.pending.push(line);
    this.pendingBytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      // coalesce the lines of one burst into one write
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return true;
  }

  /** Resolves once every line queued so far is written (or dropped on error). */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.drain());
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  /**
   * A process killed mid-write can leave the file ending in a cut line: end it with a newline
   * (returned as a prefix for the next write), so that line stays alone, one a reader skips,
   * instead of gluing itself to the next record.
   */
  private async endOfCutLine(handle: FileHandle): Promise<string> {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size === 0) return '';
    let last: number | undefined;
    try {
      const reader = await fs.promises.open(this.opts.path, 'r');
      try {
        const byte = Buffer.alloc(1);
        await reader.read(byte, 0, 1, stat.size - 1);
        last = byte[0];
      } finally {
        await reader.close();
      }
    } catch {
      // a file we may append to but not read: nothing to mend
      return '';
    }
    if (last === 0x0a) return '';
    this.opts.logger.warn(`exporter ${this.opts.exporterId}: ${this.opts.path} ended in a cut line (a crash mid-write); new lines start after it`);
    return '\n';
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      try {
        let prefix = '';
        if (!this.handle) {
          await fs.promises.mkdir(path.dirname(this.opts.path), { recursive: true });
          this.handle = await fs.promises.open(this.opts.path, 'a');
          prefix = await this.endOfCutLine(this.handle);
        }
        await this.handle.appendFile(prefix + lines.join('\n') + '\n');
        this.written += lines.length;
        if (this.opts.countsAsSent) this.opts.metrics.sent.inc({ exporter: this.opts.exporterId }, lines.length);
      } catch (err) {
        this.opts.metrics.errors.inc({ exporter: this.opts.exporterId });
        this.opts.metrics.dropped.inc({ exporter: this.opts.exporterId, reason: 'write_error' }, lines.length);
        this.opts.logger.error(`exporter ${this.opts.exporterId}: cannot write ${this.opts.path}, dropped ${lines.length} lines: ${String(err)}`);
        const handle = this.handle;
        this.handle = undefined;
        await handle?.close().catch(() => undefined);
      }
    }
  }
}
