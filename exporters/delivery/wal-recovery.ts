/**
 * Opening a write-ahead log after a stop, clean or not: every segment is scanned frame by frame; a
 * frame that runs past its file (a kill mid-write) or fails its checksum ends the segment, which is
 * cut there (reported through `hooks.corrupt`, never thrown). The acknowledged position is read
 * back and checked against the record boundaries found: damaged, or off a boundary, means sending
 * again from the boundary before it (at least once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ACK_FILE, decodeAck, decodeFrame, SEGMENT_NAME } from './wal-frame.js';

export interface RecoveredSegment {
  readonly base: number;
  readonly file: string;
  /** valid bytes (the file is cut to this) */
  readonly size: number;
}

export interface RecoveredLog {
  readonly segments: RecoveredSegment[];
  readonly ackPos: number;
  /** records after ackPos */
  readonly pending: number;
  readonly nextSeq: number;
}

export interface RecoveryHooks {
  corrupt(message: string): void;
  error(message: string): void;
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** Only a missing ack file means "nothing acknowledged yet"; any other failure is reported. */
function readAck(dir: string, hooks: RecoveryHooks): number | undefined {
  const file = path.join(dir, ACK_FILE);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if (!isMissing(err)) hooks.error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}; sending everything in the log again`);
    return undefined;
  }
  const pos = decodeAck(buf);
  if (pos === undefined) hooks.corrupt(`${file} is damaged; sending everything in the log again`);
  return pos;
}

/** Scans the log in `dir`; throws only when the folder itself cannot be read. */
export function recoverLog(dir: string, hooks: RecoveryHooks): RecoveredLog {
  const names = fs
    .readdirSync(dir)
    .filter((n) => SEGMENT_NAME.test(n))
    .sort();
  const storedAck = readAck(dir, hooks);
  const segments: RecoveredSegment[] = [];
  const starts: number[] = [];
  const boundaries = new Set<number>();
  let maxSeq = -1;
  for (const name of names) {
    const base = Number(SEGMENT_NAME.exec(name)?.[1]);
    const file = path.join(dir, name);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    let pos = 0;
    let problem: string | undefined;
    while (pos < data.length) {
      const frame = decodeFrame(data, pos);
      if (frame.kind !== 'record') {
        problem = frame.kind === 'corrupt' ? frame.reason : 'torn record (the process stopped mid-write)';
        break;
      }
      starts.push(base + pos);
      maxSeq = Math.max(maxSeq, frame.record.seq);
      pos += frame.bytes;
    }
    boundaries.add(base);
    boundaries.add(base + pos);
    if (problem !== undefined) {
      hooks.corrupt(`${file}: ${problem} at byte ${pos}; skipped the rest of the segment (${data.length - pos} bytes)`);
      fs.truncateSync(file, pos);
    }
    segments.push({ base, file, size: pos });
  }
  const first = segments[0];
  const last = segments[segments.length - 1];
  const end = last !== undefined ? last.base + last.size : (storedAck ?? 0);
  let ack = storedAck ?? first?.base ?? 0;
  if (first !== undefined && ack < first.base) ack = first.base;
  const ackFile = path.join(dir, ACK_FILE);
  if (ack > end) {
    // everything still in the log lies before the acknowledged position: it was delivered
    hooks.corrupt(`${ackFile} points past the end of the log (${ack} > ${end})`);
    ack = end;
  }
  if (first !== undefined && !boundaries.has(ack) && !starts.includes(ack)) {
    const before = starts.filter((s) => s < ack);
    ack = before.length > 0 ? (before[before.length - 1] as number) : first.base;
    hooks.corrupt(`${ackFile} is not on a record boundary; resending from position ${ack}`);
  }
  return { segments, ackPos: ack, pending: starts.filter((s) => s >= ack).length, nextSeq: maxSeq + 1 };
}
