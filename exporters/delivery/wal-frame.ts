/**
 * One record of the write-ahead log on disk: a length and a checksum before the payload, so a
 * record torn by a kill mid-write, or damaged later, is detected instead of half-read.
 *
 *   u32 LE payload length | u32 LE crc32(length bytes ++ payload) | payload
 *   payload = f64 LE seq | u16 LE id length | id (utf8) | body (opaque bytes)
 *
 * The id (a pain-point or problem id) sits beside the opaque body so drops and corruption can be
 * logged by id without decoding the body.
 *
 * Segment files are named by the log position of their first byte; the `ack` file holds the
 * position acknowledged up to: f64 LE position | u32 LE crc32(position bytes) | u32 LE magic.
 */
import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 8;
const PAYLOAD_FIXED_BYTES = 10;
/** Larger lengths are garbage (a torn header), never a real record. */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;

export interface WalRecord {
  /** position of the record in the log's order (persisted, continues across restarts) */
  readonly seq: number;
  readonly id: string;
  readonly body: Buffer;
}

export function encodeFrame(seq: number, id: string, body: Buffer): Buffer {
  const idBytes = Buffer.from(id.length > 1_000 ? id.slice(0, 1_000) : id, 'utf8');
  const payloadLength = PAYLOAD_FIXED_BYTES + idBytes.length + body.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  frame.writeUInt32LE(payloadLength, 0);
  frame.writeDoubleLE(seq, 8);
  frame.writeUInt16LE(idBytes.length, 16);
  idBytes.copy(frame, 18);
  body.copy(frame, 18 + idBytes.length);
  frame.writeUInt32LE(crc32(frame.subarray(8), crc32(frame.subarray(0, 4))), 4);
  return frame;
}

export type FrameRead =
  | { readonly kind: 'record'; readonly record: WalRecord; readonly bytes: number }
  /** the buffer ends inside this frame: read more (or, at the end of the file, a torn tail) */
  | { readonly kind: 'incomplete'; readonly needed: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Reads the frame starting at `offset` of `buf`. */
export function decodeFrame(buf: Buffer, offset: number): FrameRead {
  if (buf.length - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete', needed: FRAME_HEADER_BYTES };
  const length = buf.readUInt32LE(offset);
  if (length < PAYLOAD_FIXED_BYTES || length > MAX_FRAME_PAYLOAD_BYTES) return { kind: 'corrupt', reason: `impossible record length ${length}` };
  const total = FRAME_HEADER_BYTES + length;
  if (buf.length - offset < total) return { kind: 'incomplete', needed: total };
  const expected = buf.readUInt32LE(offset + 4);
  const actual = crc32(buf.subarray(offset + 8, offset + total), crc32(buf.subarray(offset, offset + 4)));
  if (expected !== actual) return { kind: 'corrupt', reason: 'checksum mismatch' };
  const seq = buf.readDoubleLE(offset + 8);
  const idLength = buf.readUInt16LE(offset + 16);
  if (!Number.isSafeInteger(seq) || seq < 0 || PAYLOAD_FIXED_BYTES + idLength > length) return { kind: 'corrupt', reason: 'bad record header' };
  const id = buf.toString('utf8', offset + 18, offset + 18 + idLength);
  // a copy, so a record kept by the caller does not pin the whole read buffer
  const body = Buffer.from(buf.subarray(offset + 18 + idLength, offset + total));
  return { kind: 'record', record: { seq, id, body }, bytes: total };
}

export const SEGMENT_NAME = /^(\d{16})\.wal$/;
export const ACK_FILE = 'ack';
const ACK_MAGIC = 0x5a11ac4b;

export const segmentName = (base: number): string => `${String(base).padStart(16, '0')}.wal`;

export function encodeAck(position: number): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeDoubleLE(position, 0);
  buf.writeUInt32LE(crc32(buf.subarray(0, 8)), 8);
  buf.writeUInt32LE(ACK_MAGIC, 12);
  return buf;
}

/** The acknowledged position, or undefined when the bytes are not a whole, valid ack record. */
export function decodeAck(buf: Buffer): number | undefined {
  if (buf.length !== 16 || buf.readUInt32LE(12) !== ACK_MAGIC || buf.readUInt32LE(8) !== crc32(buf.subarray(0, 8))) return undefined;
  const pos = buf.readDoubleLE(0);
  return Number.isSafeInteger(pos) && pos >= 0 ? pos : undefined;
}
