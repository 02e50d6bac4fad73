/**
 * What the protobuf and JSON decoders share: the error type, the batch result, time conversion
 * (int64 nanoseconds → fractional epoch ms with the whole milliseconds exact) and span rejection
 * bookkeeping.
 */
import type { Attributes, RawSpan } from '../model/span.js';

/** The request body cannot be decoded at all (answered with 400 / INVALID_ARGUMENT). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Decoded spans before derivation, with the count of spans rejected as invalid. */
export interface RawBatch {
  readonly spans: RawSpan[];
  readonly rejectedSpans: number;
  readonly errorMessage?: string;
}

/** Nested AnyValue deeper than this becomes null: bounds recursion on hostile input. */
export const MAX_VALUE_DEPTH = 32;

/** An int64 timestamp split exactly: whole milliseconds and the remaining nanoseconds (0…999 999). */
export interface NanoTime {
  readonly ms: number;
  readonly subNs: number;
}

/**
 * Splits an unsigned 64-bit nanosecond count given as 32-bit halves, exactly, without BigInt:
 * 2^32 = 4294·10^6 + 967 296, so hi·2^32 + lo = hi·4294·10^6 + (hi·967 296 + lo), and the
 * bracket stays below 2^53 for any timestamp before the year 2262.
 */
export function nanoTimeFromBits(lo: number, hi: number): NanoTime {
  const h = hi >>> 0;
  const t = h * 967_296 + (lo >>> 0);
  const subNs = t % 1_000_000;
  return { ms: h * 4_294 + (t - subNs) / 1_000_000, subNs };
}

/** From a decimal string (OTLP/JSON int64): the last six digits are the sub-millisecond part. */
export function nanoTimeFromDecimal(text: string): NanoTime | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  if (text.length <= 6) return { ms: 0, subNs: Number(text) };
  return { ms: Number(text.slice(0, -6)), subNs: Number(text.slice(-6)) };
}

export function nanoTimeFromNumber(n: number): NanoTime | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const ms = Math.floor(n / 1_000_000);
  return { ms, subNs: Math.max(0, Math.min(999_999, Math.round(n - ms * 1_000_000))) };
}

export function nanoTimeFromLongOrNumber(v: { low: number; high: number } | number | null | undefined): NanoTime | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return nanoTimeFromNumber(v);
  // fixed64 is unsigned: the halves are read as unsigned whatever the Long's sign flag says
  return nanoTimeFromBits(v.low, v.high);
}

/** Fractional epoch milliseconds; never rounds up into the next whole millisecond. */
export function nanoTimeToMs(t: NanoTime): number {
  const v = t.ms + t.subNs / 1_000_000;
  return v < t.ms + 1 ? v : t.ms + 0.999;
}

/** end − start in ms, computed from the exact parts so sub-millisecond durations keep their precision. */
export function durationMs(start: NanoTime, end: NanoTime): number {
  const d = end.ms - start.ms + (end.subNs - start.subNs) / 1_000_000;
  return d > 0 ? d : 0;
}

export function isZeroTime(t: NanoTime): boolean {
  return t.ms === 0 && t.subNs === 0;
}

/** An attribute map whose keys (even `__proto__`) are plain data. */
export function newAttributes(): Record<string, never> {
  return Object.create(null) as Record<string, never>;
}

export const EMPTY_ATTRIBUTES: Attributes = Object.freeze(newAttributes());

export type RejectReason =
  | 'invalid trace id'
  | 'invalid span id'
  | 'invalid parent span id'
  | 'missing start or end time'
  | 'malformed span';

/** Counts rejected spans per reason (a fixed, small set) and words the partial-success message. */
export class RejectTally {
  private total = 0;
  private readonly byReason = new Map<RejectReason, number>();
  private firstDetail: string | undefined;

  reject(reason: RejectReason, detail?: string): void {
    this.total++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    if (this.firstDetail === undefined && detail !== undefined) this.firstDetail = detail;
  }

  get count(): number {
    return this.total;
  }

  result(spans: RawSpan[]): RawBatch {
    if (this.total === 0) return { spans, rejectedSpans: 0 };
    const parts = [...this.byReason].map(([reason, n]) => `${n} with ${reason}`);
    const detail = this.firstDetail === undefined ? '' : ` (first: ${this.firstDetail})`;
    return {
      spans,
      rejectedSpans: this.total,
      errorMessage: `rejected ${this.total} of ${this.total + spans.length} spans: ${parts.join(', ')}${detail}`,
    };
  }
}

const HEX_ZERO_TRACE = '0'.repeat(32);
const HEX_ZERO_SPAN = '0'.repeat(16);

/** Why an id is invalid, or undefined when it is fine (OTLP: trace 16 non-zero bytes, span 8 non-zero bytes). */
export function traceIdProblem(hex: string | undefined, byteLength: number): string | undefined {
  if (hex === undefined || byteLength !== 16) return `trace id has ${byteLength} bytes, expected 16`;
  if (hex === HEX_ZERO_TRACE) return 'trace id is all zeros';
  return undefined;
}

export function spanIdProblem(hex: string | undefined, byteLength: number): string | undefined {
  if (hex === undefined || byteLength !== 8) return `span id has ${byteLength} bytes, expected 8`;
  if (hex === HEX_ZERO_SPAN) return 'span id is all zeros';
  return undefined;
}

export function isZeroSpanIdHex(hex: string): boolean {
  return hex === HEX_ZERO_SPAN;
}
