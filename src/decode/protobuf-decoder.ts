/**
 * OTLP/protobuf ExportTraceServiceRequest → raw spans, read straight from the wire into span
 * records: no message objects, Long times, id Buffers or key-value lists in between (profiling the
 * sidecar bench showed protobufjs' decode plus the conversion of its objects as ~8 % of the
 * sidecar's CPU, and their garbage in its GC share).
 *
 * It accepts, rejects and returns exactly what protobufjs 7's generated decoder followed by the
 * former conversion did (test/support/protobufjs-trace-decoder.ts is that reference, compared on
 * SDK bodies and random and corrupted bytes in protobuf-decoder.test.ts): a known field is read as
 * its declared type whatever its wire type, the last of a repeated singular field wins (a message
 * field is replaced, not merged), a string longer than its message is cut at the message's end, a
 * nested message may not run past its parent, nesting past 100 levels is an error, an unknown
 * field is skipped by its wire type, and of an AnyValue's several `value` members the one first
 * set last is its value (protobufjs' oneof getter).
 */
import type { AttrValue, Attributes, RawSpan, SpanEvent, SpanLink } from '../model/span.js';
import { SpanKind, StatusCode } from '../model/span.js';
import { DecodeError, EMPTY_ATTRIBUTES, MAX_VALUE_DEPTH, RejectTally, isZeroSpanIdHex, newAttributes, spanIdProblem, traceIdProblem, type RawBatch } from './span-fields.js';

const EMPTY_LIST: readonly never[] = Object.freeze([]);
/** protobufjs' Reader.recursionLimit (protoc's default) */
const RECURSION_LIMIT = 100;

/**
 * Short ASCII texts read before, by a hash of their bytes (one per slot, the last read wins): spans
 * repeat their attribute keys, names and most string values (operation, model, tool and provider
 * names), so one string object serves them all instead of a new one per span, and every map keyed
 * by it downstream finds its hash already computed. Bounded by its slots.
 */
const SHARED_SLOTS = 4_096;
const MAX_SHARED_LENGTH = 48;
const sharedTexts: (string | undefined)[] = new Array<string | undefined>(SHARED_SLOTS).fill(undefined);

/** Buffer's own slicers, without toString's argument handling (protobufjs reads strings the same way). */
interface Slicing {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

/** The read position in a body; `len` is the end of the message being read. */
class Reader {
  pos = 0;
  len: number;
  /** the halves of the last 64-bit value read */
  lo = 0;
  hi = 0;

  constructor(readonly buf: Buffer) {
    this.len = buf.length;
  }

  outOfRange(length = 1): RangeError {
    return new RangeError(`index out of range: ${this.pos} + ${length} > ${this.len}`);
  }

  /** A varint as an unsigned 32-bit value (protobufjs' read_uint32, including its handling near the end). */
  uint32(): number {
    const buf = this.buf;
    if (this.len - this.pos < 5) {
      if (this.pos >= this.len) throw this.outOfRange();
      if ((buf[this.pos] as number) >= 128) return this.varint32NearEnd();
    }
    let b = buf[this.pos++] as number;
    let value = (b & 127) >>> 0;
    if (b < 128) return value;
    b = buf[this.pos++] as number;
    value = (value | ((b & 127) << 7)) >>> 0;
    if (b < 128) return value;
    b = buf[this.pos++] as number;
    value = (value | ((b & 127) << 14)) >>> 0;
    if (b < 128) return value;
    b = buf[this.pos++] as number;
    value = (value | ((b & 127) << 21)) >>> 0;
    if (b < 128) return value;
    b = buf[this.pos++] as number;
    value = (value | ((b & 15) << 28)) >>> 0;
    if (b < 128) return value;
    if ((this.pos += 5) > this.len) {
      this.pos = this.len;
      throw this.outOfRange(10);
    }
    return value;
  }

  private varint32NearEnd(): number {
    let value = 0;
    for (let i = 0; i < 4; ++i) {
      if (this.pos >= this.len) throw this.outOfRange();
      const b = this.buf[this.pos++] as number;
      value = (value | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) return value;
    }
    throw this.outOfRange();
  }

  /** A 64-bit varint into lo/hi (protobufjs' readLongVarint, including its short reads near the end). */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    if (this.len - this.pos > 4) {
      for (; i < 4; ++i) {
        lo = (lo | (((buf[this.pos] as number) & 127) << (i * 7))) >>> 0;
        if ((buf[this.pos++] as number) < 128) return this.set64(lo, hi);
      }
      lo = (lo | (((buf[this.pos] as number) & 127) << 28)) >>> 0;
      hi = (hi | (((buf[this.pos] as number) & 127) >> 4)) >>> 0;
      if ((buf[this.pos++] as number) < 128) return this.set64(lo, hi);
      i = 0;
    } else {
      for (; i < 3; ++i) {
        if (this.pos >= this.len) throw this.outOfRange();
        lo = (lo | (((buf[this.pos] as number) & 127) << (i * 7))) >>> 0;
        if ((buf[this.pos++] as number) < 128) return this.set64(lo, hi);
      }
      // a fourth byte is read unchecked, as protobufjs does: past the message, its end check throws
      lo = (lo | (((buf[this.pos++] ?? 0) & 127) << (i * 7))) >>> 0;
      return this.set64(lo, hi);
    }
    if (this.len - this.pos > 4) {
      for (; i < 5; ++i) {
        hi = (hi | (((buf[this.pos] as number) & 127) << (i * 7 + 3))) >>> 0;
        if ((buf[this.pos++] as number) < 128) return this.set64(lo, hi);
      }
    } else {
      for (; i < 5; ++i) {
        if (this.pos >= this.len) throw this.outOfRange();
        hi = (hi | (((buf[this.pos] as number) & 127) << (i * 7 + 3))) >>> 0;
        if ((buf[this.pos++] as number) < 128) return this.set64(lo, hi);
      }
    }
    throw new Error('invalid varint encoding');
  }

  private set64(lo: number, hi: number): void {
    this.lo = lo;
    this.hi = hi;
  }

  fixed32(): number {
    if (this.pos + 4 > this.len) throw this.outOfRange(4);
    const buf = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((buf[p] as number) | ((buf[p + 1] as number) << 8) | ((buf[p + 2] as number) << 16) | ((buf[p + 3] as number) << 24)) >>> 0;
  }

  /** fixed64 into lo/hi */
  fixed64(): void {
    if (this.pos + 8 > this.len) throw this.outOfRange(8);
    this.lo = this.fixed32();
    this.hi = this.fixed32();
  }

  double(): number {
    if (this.pos + 8 > this.len) throw this.outOfRange(4);
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A length-delimited field's bytes: their start, with `pos` moved to their end. */
  bytes(): number {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.len) throw this.outOfRange(length);
    this.pos += length;
    return start;
  }

  /** A string, cut at the message's end when its length says more (protobufjs' read_string_buffer). */
  string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = Math.min(start + length, this.len);
    this.pos = end;
    if (end - start > MAX_SHARED_LENGTH) return (this.buf as unknown as Slicing).utf8Slice(start, end);
    return this.sharedText(start, end);
  }

  /** A short text as the string read last time from the same bytes, when it is in the table (ASCII only). */
  private sharedText(start: number, end: number): string {
    const buf = this.buf;
    let h = end - start;
    let high = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i] as number;
      high |= b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    if (high >= 0x80) return (buf as unknown as Slicing).utf8Slice(start, end);
    const slot = (h ^ (h >>> 16)) & (SHARED_SLOTS - 1);
    const known = sharedTexts[slot];
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const text = (buf as unknown as Slicing).utf8Slice(start, end);
    sharedTexts[slot] = text;
    return text;
  }

  /** A string field nothing reads: only its position. */
  skipString(): void {
    const length = this.uint32();
    this.pos = Math.min(this.pos + length, this.len);
  }

  hex(start: number, end: number): string {
    return (this.buf as unknown as Slicing).hexSlice(start, end);
  }

  /** Enters a nested message whose length comes next; returns the enclosing message's end, for leave(). */
  enter(depth: number): number {
    const length = this.uint32();
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    const end = this.pos + length;
    if (end > this.len) throw new RangeError('index out of range');
    const outer = this.len;
    this.len = end;
    return outer;
  }

  leave(outer: number): void {
    if (this.pos !== this.len) throw new RangeError('index out of range');
    this.len = outer;
  }

  skip(length: number): void {
    if (this.pos + length > this.len) throw this.outOfRange(length);
    this.pos += length;
  }

  skipType(wireType: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    switch (wireType) {
      case 0:
        do {
          if (this.pos >= this.len) throw this.outOfRange();
        } while ((this.buf[this.pos++] as number) & 128);
        return;
      case 1:
        return this.skip(8);
      case 2:
        return this.skip(this.uint32());
      case 3:
        while ((wireType = this.uint32() & 7) !== 4) this.skipType(wireType, depth + 1);
        return;
      case 5:
        return this.skip(4);
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}

/** int64 halves as a number when it is safe, else an exact bigint. */
function int64Value(lo: number, hi: number): number | bigint {
  const high = hi | 0;
  // |value| < 2^53 exactly when the signed high half lies in [-2^21, 2^21)
  if (high >= -0x200000 && high < 0x200000) return high * 4_294_967_296 + (lo >>> 0);
  return (BigInt(high) << 32n) + BigInt(lo >>> 0);
}

/*
 * Time: an unsigned 64-bit nanosecond count split exactly into whole milliseconds and the remaining
 * nanoseconds, as span-fields' nanoTimeFromBits, nanoTimeToMs and durationMs compute it (the same
 * operations in the same order, without an object per time).
 */
function wholeMs(lo: number, hi: number): number {
  const h = hi >>> 0;
  const t = h * 967_296 + (lo >>> 0);
  return h * 4_294 + (t - (t % 1_000_000)) / 1_000_000;
}

function subNs(lo: number, hi: number): number {
  return ((hi >>> 0) * 967_296 + (lo >>> 0)) % 1_000_000;
}

function toMs(ms: number, ns: number): number {
  const v = ms + ns / 1_000_000;
  return v < ms + 1 ? v : ms + 0.999;
}

/** An AnyValue (the reader at its length); `build` false only validates (a value past MAX_VALUE_DEPTH). */
function anyValue(r: Reader, depth: number, valueDepth: number, build: boolean): AttrValue {
  const outer = r.enter(depth);
  // protobufjs' oneof getter: of the members set, the one whose first setting came last
  let member = 0;
  let seen = 0;
  let text = '';
  let flag = false;
  let lo = 0;
  let hi = 0;
  let dbl = 0;
  let list: AttrValue[] | null = null;
  let map: Attributes | null = null;
  let bytesStart = 0;
  let bytesEnd = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    const field = t >>> 3;
    if (field >= 1 && field <= 7 && (seen & (1 << field)) === 0) {
      seen |= 1 << field;
      member = field;
    }
    switch (field) {
      case 1:
        text = r.string();
        break;
      case 2:
        flag = r.uint32() !== 0;
        break;
      case 3:
        r.varint64();
        lo = r.lo;
        hi = r.hi;
        break;
      case 4:
        dbl = r.double();
        break;
      case 5:
        list = arrayValue(r, depth + 1, valueDepth + 1, build && valueDepth < MAX_VALUE_DEPTH);
        break;
      case 6:
        map = keyValueList(r, depth + 1, valueDepth + 1, build && valueDepth < MAX_VALUE_DEPTH);
        break;
      case 7:
        bytesStart = r.bytes();
        bytesEnd = r.pos;
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  if (!build) return null;
  switch (member) {
    case 1:
      return text;
    case 2:
      return flag;
    case 3:
      return int64Value(lo, hi);
    case 4:
      return dbl;
    case 5:
      return valueDepth >= MAX_VALUE_DEPTH ? null : list;
    case 6:
      return valueDepth >= MAX_VALUE_DEPTH ? null : map;
    case 7:
      // a copy: a view would keep the whole request body alive as long as the span lives
      return new Uint8Array(r.buf.subarray(bytesStart, bytesEnd));
    default:
      return null;
  }
}

function arrayValue(r: Reader, depth: number, valueDepth: number, build: boolean): AttrValue[] {
  const outer = r.enter(depth);
  const values: AttrValue[] = [];
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t >>> 3 === 1) {
      const v = anyValue(r, depth + 1, valueDepth, build);
      if (build) values.push(v);
    } else r.skipType(t & 7, depth);
  }
  r.leave(outer);
  return values;
}

function keyValueList(r: Reader, depth: number, valueDepth: number, build: boolean): Attributes {
  const outer = r.enter(depth);
  let out: Record<string, AttrValue> | undefined;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t >>> 3 === 1) out = keyValue(r, depth + 1, valueDepth, build, out);
    else r.skipType(t & 7, depth);
  }
  r.leave(outer);
  return out ?? EMPTY_ATTRIBUTES;
}

/** One KeyValue into `into` (made when the first one comes, as a list of none is EMPTY_ATTRIBUTES). */
function keyValue(r: Reader, depth: number, valueDepth: number, build: boolean, into: Record<string, AttrValue> | undefined): Record<string, AttrValue> | undefined {
  const outer = r.enter(depth);
  let key = '';
  let value: AttrValue = null;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        key = r.string();
        break;
      case 2:
        value = anyValue(r, depth + 1, valueDepth, build);
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  if (!build) return into;
  const out = into ?? (newAttributes() as Record<string, AttrValue>);
  out[key] = value;
  return out;
}

/** Resource: its attributes. */
function resource(r: Reader, depth: number): Attributes {
  const outer = r.enter(depth);
  let out: Record<string, AttrValue> | undefined;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        out = keyValue(r, depth + 1, 0, true, out);
        break;
      case 2:
        r.uint32();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  return out ?? EMPTY_ATTRIBUTES;
}

/** The spans a ScopeSpans and a ResourceSpans hold share its scope and resource, known at its end. */
interface Batch {
  readonly spans: RawSpan[];
  readonly tally: RejectTally;
}

type MutableSpan = { -readonly [K in keyof RawSpan]: RawSpan[K] };

function resourceSpans(r: Reader, depth: number, batch: Batch): void {
  const outer = r.enter(depth);
  const first = batch.spans.length;
  let attributes = EMPTY_ATTRIBUTES;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        attributes = resource(r, depth + 1);
        break;
      case 2:
        scopeSpans(r, depth + 1, batch);
        break;
      case 3:
        r.skipString();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  for (let i = first; i < batch.spans.length; i++) (batch.spans[i] as MutableSpan).resource = attributes;
}

function scopeSpans(r: Reader, depth: number, batch: Batch): void {
  const outer = r.enter(depth);
  const first = batch.spans.length;
  let name = '';
  let version = '';
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: {
        // InstrumentationScope: the last one is the scope
        const scopeOuter = r.enter(depth + 1);
        name = '';
        version = '';
        while (r.pos < r.len) {
          const st = r.uint32();
          switch (st >>> 3) {
            case 1:
              name = r.string();
              break;
            case 2:
              version = r.string();
              break;
            case 3:
              keyValue(r, depth + 2, 0, false, undefined);
              break;
            case 4:
              r.uint32();
              break;
            default:
              r.skipType(st & 7, depth + 1);
          }
        }
        r.leave(scopeOuter);
        break;
      }
      case 2:
        span(r, depth + 1, batch);
        break;
      case 3:
        r.skipString();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  for (let i = first; i < batch.spans.length; i++) {
    const s = batch.spans[i] as MutableSpan;
    s.scopeName = name;
    if (version !== '') s.scopeVersion = version;
  }
}

function spanKind(k: number): SpanKind {
  return k >= 0 && k <= 5 ? (k as SpanKind) : SpanKind.UNSPECIFIED;
}

function event(r: Reader, depth: number): SpanEvent {
  const outer = r.enter(depth);
  let lo = 0;
  let hi = 0;
  let name = '';
  let attributes: Record<string, AttrValue> | undefined;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        r.fixed64();
        lo = r.lo;
        hi = r.hi;
        break;
      case 2:
        name = r.string();
        break;
      case 3:
        attributes = keyValue(r, depth + 1, 0, true, attributes);
        break;
      case 4:
        r.uint32();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  return { name, timeMs: toMs(wholeMs(lo, hi), subNs(lo, hi)), attributes: attributes ?? EMPTY_ATTRIBUTES };
}

/** A link, or undefined when it names an unusable id (the link is dropped, its span stays valid). */
function link(r: Reader, depth: number): SpanLink | undefined {
  const outer = r.enter(depth);
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let attributes: Record<string, AttrValue> | undefined;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        traceStart = r.bytes();
        traceEnd = r.pos;
        break;
      case 2:
        spanStart = r.bytes();
        spanEnd = r.pos;
        break;
      case 3:
        r.skipString();
        break;
      case 4:
        attributes = keyValue(r, depth + 1, 0, true, attributes);
        break;
      case 5:
        r.uint32();
        break;
      case 6:
        r.fixed32();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);
  if (traceEnd - traceStart !== 16 || spanEnd - spanStart !== 8) return undefined;
  return { traceId: r.hex(traceStart, traceEnd), spanId: r.hex(spanStart, spanEnd), attributes: attributes ?? EMPTY_ATTRIBUTES };
}

function span(r: Reader, depth: number, batch: Batch): void {
  const outer = r.enter(depth);
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let parentStart = 0;
  let parentEnd = 0;
  let name = '';
  let kind = 0;
  let startLo = 0;
  let startHi = 0;
  let endLo = 0;
  let endHi = 0;
  let attributes: Record<string, AttrValue> | undefined;
  let events: SpanEvent[] | undefined;
  let links: SpanLink[] | undefined;
  let statusCode: number = StatusCode.UNSET;
  let statusMessage = '';
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        traceStart = r.bytes();
        traceEnd = r.pos;
        break;
      case 2:
        spanStart = r.bytes();
        spanEnd = r.pos;
        break;
      case 3:
        r.skipString();
        break;
      case 4:
        parentStart = r.bytes();
        parentEnd = r.pos;
        break;
      case 5:
        name = r.string();
        break;
      case 6:
        kind = r.uint32() | 0;
        break;
      case 7:
        r.fixed64();
        startLo = r.lo;
        startHi = r.hi;
        break;
      case 8:
        r.fixed64();
        endLo = r.lo;
        endHi = r.hi;
        break;
      case 9:
        attributes = keyValue(r, depth + 1, 0, true, attributes);
        break;
      case 11:
        (events ??= []).push(event(r, depth + 1));
        break;
      case 13: {
        links ??= [];
        const l = link(r, depth + 1);
        if (l !== undefined) links.push(l);
        break;
      }
      case 15: {
        // Status: the last one is the status
        const statusOuter = r.enter(depth + 1);
        statusCode = StatusCode.UNSET;
        statusMessage = '';
        while (r.pos < r.len) {
          const st = r.uint32();
          switch (st >>> 3) {
            case 2:
              statusMessage = r.string();
              break;
            case 3: {
              const c = r.uint32() | 0;
              statusCode = c === 1 || c === 2 ? c : StatusCode.UNSET;
              break;
            }
            default:
              r.skipType(st & 7, depth + 1);
          }
        }
        r.leave(statusOuter);
        break;
      }
      case 10:
      case 12:
      case 14:
        r.uint32();
        break;
      case 16:
        r.fixed32();
        break;
      default:
        r.skipType(t & 7, depth);
    }
  }
  r.leave(outer);

  const tally = batch.tally;
  const traceBytes = traceEnd - traceStart;
  const traceId = traceBytes === 0 ? undefined : r.hex(traceStart, traceEnd);
  const traceProblem = traceIdProblem(traceId, traceBytes);
  if (traceProblem !== undefined) return tally.reject('invalid trace id', traceProblem);
  const spanBytes = spanEnd - spanStart;
  const spanId = spanBytes === 0 ? undefined : r.hex(spanStart, spanEnd);
  const spanProblem = spanIdProblem(spanId, spanBytes);
  if (spanProblem !== undefined) return tally.reject('invalid span id', spanProblem);
  let parentSpanId: string | undefined;
  const parentBytes = parentEnd - parentStart;
  if (parentBytes !== 0) {
    if (parentBytes !== 8) return tally.reject('invalid parent span id', `parent span id has ${parentBytes} bytes, expected 8`);
    parentSpanId = r.hex(parentStart, parentEnd);
    if (isZeroSpanIdHex(parentSpanId)) parentSpanId = undefined;
  }
  const startWhole = wholeMs(startLo, startHi);
  const startSub = subNs(startLo, startHi);
  const endWhole = wholeMs(endLo, endHi);
  const endSub = subNs(endLo, endHi);
  if ((startWhole === 0 && startSub === 0) || (endWhole === 0 && endSub === 0)) {
    return tally.reject('missing start or end time', `span ${spanId} has no start or end time`);
  }
  const startMs = toMs(startWhole, startSub);
  const d = endWhole - startWhole + (endSub - startSub) / 1_000_000;
  const duration = d > 0 ? d : 0;

  // resource and scope are set when their messages end (a field may come after the spans)
  const out: MutableSpan = {
    traceId: traceId as string,
    spanId: spanId as string,
    name,
    kind: spanKind(kind),
    startMs,
    endMs: duration > 0 ? toMs(endWhole, endSub) : startMs,
    durationMs: duration,
    statusCode: statusCode as StatusCode,
    statusMessage,
    attributes: attributes ?? EMPTY_ATTRIBUTES,
    events: events ?? EMPTY_LIST,
    links: links ?? EMPTY_LIST,
    resource: EMPTY_ATTRIBUTES,
    scopeName: '',
  };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  batch.spans.push(out);
}

/** Decodes an OTLP/protobuf trace export request; throws DecodeError when the bytes are not one. */
export function decodeProtobufTraceRequest(body: Uint8Array): RawBatch {
  const batch: Batch = { spans: [], tally: new RejectTally() };
  try {
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const r = new Reader(buffer);
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t >>> 3 === 1) resourceSpans(r, 1, batch);
      else r.skipType(t & 7, 0);
    }
  } catch (err) {
    throw new DecodeError(`invalid OTLP protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  return batch.tally.result(batch.spans);
}
