import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteAheadLog, type WalHooks, type WalOptions } from './write-ahead-log.js';
import { decodeFrame, encodeFrame } from './wal-frame.js';

let dir: string;
const open: WriteAheadLog[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-wal-'));
});
afterEach(async () => {
  for (const wal of open.splice(0)) await wal.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Recorded extends WalHooks {
  readonly corrupted: string[];
  readonly errors: string[];
  readonly failed: string[];
}

function hooks(): Recorded {
  const corrupted: string[] = [];
  const errors: string[] = [];
  const failed: string[] = [];
  return {
    corrupted,
    errors,
    failed,
    corrupt: (m) => void corrupted.push(m),
    error: (m) => void errors.push(m),
    committed: () => undefined,
    writeFailed: (records) => void failed.push(...records.map((r) => r.id)),
  };
}

const OPTIONS: WalOptions = { maxBytes: 1024 * 1024, segmentBytes: 64 * 1024, fsync: true, commitInterval: 0 };

function openLog(h: WalHooks = hooks(), options: Partial<WalOptions> = {}): WriteAheadLog {
  const wal = WriteAheadLog.open(dir, { ...OPTIONS, ...options }, h);
  open.push(wal);
  return wal;
}

/** Closes a log as a crash would leave it: files as they are, nothing more written. */
async function crash(wal: WriteAheadLog): Promise<void> {
  await wal.flush();
  open.splice(open.indexOf(wal), 1);
  await wal.close();
}

function appendAll(wal: WriteAheadLog, ids: readonly string[]): void {
  for (const id of ids) expect(wal.append(id, Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(100) })))).toBeTypeOf('number');
}

function readIds(wal: WriteAheadLog, max = 1_000): string[] {
  return wal.read(max)?.records.map((r) => r.id) ?? [];
}

const ids = (n: number, prefix = 'pp-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const segmentFiles = (): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

describe('frames', () => {
  it('round-trips seq, id and body, and rejects a flipped byte by its checksum', () => {
    const frame = encodeFrame(42, 'pp-1/open', Buffer.from('{"a":1}'));
    const read = decodeFrame(frame, 0);
    expect(read).toMatchObject({ kind: 'record', bytes: frame.length, record: { seq: 42, id: 'pp-1/open' } });
    expect(read.kind === 'record' && read.record.body.toString()).toBe('{"a":1}');
    const damaged = Buffer.from(frame);
    damaged[damaged.length - 2] = (damaged[damaged.length - 2] as number) ^ 0xff;
    expect(decodeFrame(damaged, 0)).toEqual({ kind: 'corrupt', reason: 'checksum mismatch' });
    expect(decodeFrame(frame.subarray(0, frame.length - 1), 0)).toEqual({ kind: 'incomplete', needed: frame.length });
  });
});

describe('the write-ahead log', () => {
  it('commits the appends of one event-loop turn with one write and reads only what is committed', async () => {
    const wal = openLog();
    appendAll(wal, ids(100));
    expect(wal.read(10)).toBeUndefined(); // not on disk yet
    expect(wal.pendingRecords).toBe(100);
    await wal.flush();
    expect(wal.commits).toBe(1);
    expect(readIds(wal, 60)).toEqual(ids(100).slice(0, 60));
    expect(readIds(wal)).toEqual(ids(100).slice(60));
    expect(wal.unreadRecords).toBe(0);
  });

  it('has written a burst to its file before any callback scheduled in that turn runs (another exporter cannot get ahead of it)', async () => {
    const wal = openLog(hooks(), { commitInterval: 60_000 });
    appendAll(wal, ['pp-first', 'pp-second']);
    const onDisk = await new Promise<string>((resolve) => setImmediate(() => resolve(segmentFiles().map((f) => fs.readFileSync(path.join(dir, f), 'latin1')).join(''))));
    expect(onDisk).toContain('pp-first');
    expect(onDisk).toContain('pp-second');
    // written, not yet synced: not sendable
    expect(wal.read(10)).toBeUndefined();
  });

  it('with a commit interval, gathers appends until it elapses (or a flush)', async () => {
    const wal = openLog(hooks(), { commitInterval: 60_000 });
    appendAll(wal, ['a']);
    await new Promise((r) => setImmediate(r));
    appendAll(wal, ['b']);
    await new Promise((r) => setImmediate(r));
    expect(wal.commits).toBe(0);
    expect(wal.read(10)).toBeUndefined();
    await wal.flush();
    expect(wal.commits).toBe(1);
    expect(readIds(wal)).toEqual(['a', 'b']);
  });

  it('after a restart, gives back exactly the records not acknowledged, in order, and appends after them', async () => {
    const first = openLog();
    appendAll(first, ids(10));
    await first.flush();
    const batch = first.read(4);
    first.ack(batch as NonNullable<typeof batch>);
    first.read(3); // read (in flight) but never acknowledged: sent again
    await crash(first);

    const second = openLog();
    expect(second.pendingRecords).toBe(6);
    appendAll(second, ['new']);
    await second.flush();
    const again = second.read(100);
    expect(again?.records.map((r) => r.id)).toEqual([...ids(10).slice(4), 'new']);
    // seq continues where the log left off
    expect(again?.records.map((r) => r.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  it('cuts a torn record at the tail (a kill mid-write), warns once, and goes on appending', async () => {
    const first = openLog();
    appendAll(first, ids(3));
    await crash(first);
    const [segment] = segmentFiles();
    const torn = encodeFrame(3, 'pp-torn', Buffer.from('{"half":')).subarray(0, 15);
    fs.appendFileSync(path.join(dir, segment as string), torn);

    const h = hooks();
    const second = openLog(h);
    expect(h.corrupted).toHaveLength(1);
    expect(h.corrupted[0]).toMatch(/torn record .* at byte \d+; skipped the rest of the segment \(15 bytes\)/);
    expect(second.pendingRecords).toBe(3);
    appendAll(second, ['after']);
    await second.flush();
    expect(readIds(second)).toEqual([...ids(3), 'after']);
  });

  it('skips the rest of a damaged segment and reads the next one', async () => {
    const first = openLog(hooks(), { segmentBytes: 1 });
    for (const id of ['a', 'b', 'c']) {
      appendAll(first, [`${id}1`, `${id}2`]);
      await first.flush(); // one commit per segment: segmentBytes 1 starts a new file each time
    }
    await crash(first);
    const files = segmentFiles();
    expect(files).toHaveLength(3);
    const middle = path.join(dir, files[1] as string);
    const bytes = fs.readFileSync(middle);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff; // inside b2
    fs.writeFileSync(middle, bytes);

    const h = hooks();
    const second = openLog(h, { segmentBytes: 1 });
    expect(h.corrupted).toEqual([expect.stringMatching(/checksum mismatch at byte \d+; skipped the rest of the segment/)]);
    expect(readIds(second)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
  });

  it('deletes segments once every record in them is acknowledged', async () => {
    const wal = openLog(hooks(), { segmentBytes: 1 });
    for (const id of ['a', 'b', 'c']) {
      appendAll(wal, [id]);
      await wal.flush();
    }
    expect(segmentFiles()).toHaveLength(3);
    const two = wal.read(2);
    wal.ack(two as NonNullable<typeof two>);
    expect(segmentFiles()).toHaveLength(1);
    expect(wal.pendingRecords).toBe(1);
  });

  it('refuses appends past maxBytes of unacknowledged records, and takes them again once acknowledged', async () => {
    const frameBytes = encodeFrame(0, 'pp-0', Buffer.from(JSON.stringify({ id: 'pp-0', pad: 'x'.repeat(100) }))).length;
    const wal = openLog(hooks(), { maxBytes: frameBytes * 3 });
    appendAll(wal, ids(3));
    expect(wal.append('pp-3', Buffer.from(JSON.stringify({ id: 'pp-3', pad: 'x'.repeat(100) })))).toBeUndefined();
    expect(wal.pendingBytes).toBe(frameBytes * 3);
    await wal.flush();
    const batch = wal.read(1);
    wal.ack(batch as NonNullable<typeof batch>);
    expect(wal.append('pp-3', Buffer.from(JSON.stringify({ id: 'pp-3', pad: 'x'.repeat(100) })))).toBeTypeOf('number');
  });

  it('a damaged ack file means sending everything again, with a warning', async () => {
    const first = openLog();
    appendAll(first, ids(4));
    await first.flush();
    const batch = first.read(2);
    first.ack(batch as NonNullable<typeof batch>);
    await crash(first);
    fs.writeFileSync(path.join(dir, 'ack'), 'garbage');
    const h = hooks();
    const second = openLog(h);
    expect(h.corrupted).toEqual([expect.stringMatching(/ack is damaged; sending everything in the log again/)]);
    expect(readIds(second)).toEqual(ids(4));
  });

  it('an ack file that cannot be read (not missing) is an error, logged, never taken as "nothing sent"', async () => {
    const first = openLog();
    appendAll(first, ids(2));
    await crash(first);
    fs.rmSync(path.join(dir, 'ack'), { force: true });
    fs.mkdirSync(path.join(dir, 'ack')); // EISDIR on read
    const h = hooks();
    const second = WriteAheadLog.open(dir, OPTIONS, h);
    expect(h.errors).toEqual([expect.stringMatching(/cannot read .*ack: .*EISDIR/)]);
    expect(h.corrupted).toEqual([]);
    expect(readIds(second)).toEqual(ids(2));
  });

  it('a missing folder is created; an unusable one throws (the caller logs it and keeps memory only)', () => {
    const nested = path.join(dir, 'a', 'b');
    const wal = WriteAheadLog.open(nested, OPTIONS, hooks());
    open.push(wal);
    expect(fs.statSync(nested).isDirectory()).toBe(true);
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => WriteAheadLog.open(file, OPTIONS, hooks())).toThrow(/EEXIST|ENOTDIR/);
  });
});
