/**
 * A bounded JSONL spool on disk (docs/architecture.md, Bad input and overload): changes waiting for a down backend survive a restart.
 * Layout: `<dir>/<name>.jsonl` holds one item per line; `<name>.offset` holds the byte offset of
 * the first line not yet delivered. Items are read from the head, committed after delivery, and
 * the file is truncated once fully delivered (or compacted when the delivered prefix grows).
 * Delivery is at-least-once across a crash between a send and its commit.
 * Writes are synchronous: they are small, rare (only while the backend is down or the queue is
 * full) and keep the order of items trivially right.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SpoolBatch<T> {
  readonly items: T[];
  /** bytes and lines to commit once the items are delivered (corrupt lines included) */
  readonly bytes: number;
  readonly lines: number;
}

export class JsonlSpool<T> {
  readonly file: string;
  private readonly offsetFile: string;
  private head = 0;
  private size = 0;
  private count = 0;

  constructor(
    dir: string,
    name: string,
    private readonly maxBytes: number,
    private readonly onCorruptLine: (line: string) => void = () => {},
  ) {
    fs.mkdirSync(dir, { recursive: true });
    const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
    this.file = path.join(dir, `${safe}.jsonl`);
    this.offsetFile = path.join(dir, `${safe}.offset`);
    this.load();
  }

  get pendingItems(): number {
    return this.count;
  }

  get pendingBytes(): number {
    return this.size - this.head;
  }

  /** Appends in order; returns the items that did not fit under max bytes (the caller counts them). */
  append(items: readonly T[]): T[] {
    const rejected: T[] = [];
    const lines: string[] = [];
    let added = 0;
    for (const item of items) {
      const line = JSON.stringify(item) + '\n';
      const bytes = Buffer.byteLength(line);
      if (this.pendingBytes + added + bytes > this.maxBytes) {
        rejected.push(item);
        continue;
      }
      lines.push(line);
      added += bytes;
    }
    if (lines.length > 0) {
      fs.appendFileSync(this.file, lines.join(''));
      this.size += added;
      this.count += lines.length;
    }
    return rejected;
  }

  /**
   * Puts items in front of what is spooled (they are older). Rewrites the file; what does not fit
   * under max bytes is cut from the newest end and returned.
   */
  prepend(items: readonly T[]): T[] {
    if (items.length === 0) return [];
    const pending = this.readAllPendingLines();
    const all: string[] = [...items.map((i) => JSON.stringify(i)), ...pending];
    const kept: string[] = [];
    let bytes = 0;
    let cut = all.length;
    for (let i = 0; i < all.length; i++) {
      const b = Buffer.byteLength(all[i] as string) + 1;
      if (bytes + b > this.maxBytes) {
        cut = i;
        break;
      }
      kept.push(all[i] as string);
      bytes += b;
    }
    this.rewrite(kept);
    const dropped: T[] = [];
    for (let i = cut; i < all.length; i++) {
      try {
        dropped.push(JSON.parse(all[i] as string) as T);
      } catch {
        this.onCorruptLine(all[i] as string);
      }
    }
    return dropped;
  }

  /** Reads up to `max` items from the head without consuming them. */
  peek(max: number): SpoolBatch<T> {
    const items: T[] = [];
    if (this.count === 0) return { items, bytes: 0, lines: 0 };
    const fd = fs.openSync(this.file, 'r');
    try {
      let chunkSize = 64 * 1024;
      for (;;) {
        const length = Math.min(chunkSize, this.size - this.head);
        const buf = Buffer.alloc(length);
        const read = fs.readSync(fd, buf, 0, length, this.head);
        const text = buf.subarray(0, read);
        let start = 0;
        let bytes = 0;
        let lines = 0;
        items.length = 0;
        while (lines < max) {
          const nl = text.indexOf(0x0a, start);
          if (nl < 0) break;
          const line = text.subarray(start, nl).toString('utf8');
          lines += 1;
          bytes += nl + 1 - start;
          start = nl + 1;
          try {
            items.push(JSON.parse(line) as T);
          } catch {
            this.onCorruptLine(line);
          }
        }
        // a line longer than the chunk: read a bigger chunk (bounded by the file)
        if (lines === 0 && read < this.size - this.head) {
          chunkSize *= 4;
          continue;
        }
        return { items, bytes, lines };
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Marks a peeked batch delivered. */
  commit(batch: SpoolBatch<unknown>): void {
    this.head += batch.bytes;
    this.count = Math.max(0, this.count - batch.lines);
    if (this.head >= this.size || this.count === 0) {
      fs.writeFileSync(this.file, '');
      fs.rmSync(this.offsetFile, { force: true });
      this.head = 0;
      this.size = 0;
      this.count = 0;
      return;
    }
    // the delivered prefix still takes disk: compact once it outgrows half of the cap
    if (this.head > this.maxBytes / 2) {
      this.rewrite(this.readAllPendingLines());
      return;
    }
    fs.writeFileSync(this.offsetFile, String(this.head));
  }

  private load(): void {
    try {
      this.size = fs.statSync(this.file).size;
    } catch {
      this.size = 0;
    }
    try {
      const offset = Number(fs.readFileSync(this.offsetFile, 'utf8').trim());
      this.head = Number.isInteger(offset) && offset >= 0 && offset <= this.size ? offset : 0;
    } catch {
      this.head = 0;
    }
    if (this.size > this.head && !this.endsWithNewline()) {
      // a torn last line (crash mid-append): cut it so the next append starts a fresh line
      this.rewrite(this.readAllPendingLines());
      return;
    }
    this.count = this.size > this.head ? this.readAllPendingLines().length : 0;
  }

  private endsWithNewline(): boolean {
    const fd = fs.openSync(this.file, 'r');
    try {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, this.size - 1);
      return last[0] === 0x0a;
    } finally {
      fs.closeSync(fd);
    }
  }

  private readAllPendingLines(): string[] {
    if (this.size <= this.head) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(this.size - this.head);
      const read = fs.readSync(fd, buf, 0, buf.length, this.head);
      const text = buf.subarray(0, read).toString('utf8');
      // a torn last line (crash mid-append) has no newline: it is dropped, never half-parsed
      const lines = text.split('\n');
      lines.pop();
      return lines.filter((l) => l.length > 0);
    } finally {
      fs.closeSync(fd);
    }
  }

  private rewrite(lines: readonly string[]): void {
    const tmp = this.file + '.tmp';
    const content = lines.length > 0 ? lines.join('\n') + '\n' : '';
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, this.file);
    fs.rmSync(this.offsetFile, { force: true });
    this.head = 0;
    this.size = Buffer.byteLength(content);
    this.count = lines.length;
  }
}
