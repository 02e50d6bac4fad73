import { describe, expect, it, beforeAll } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeProtobufTraceRequest } from './protobuf-decoder.js';
import { DecodeError } from './span-fields.js';
import { ExportTraceServiceRequestType } from './otlp-descriptor.js';
import { decodeWithProtobufjs } from '../../test/support/protobufjs-trace-decoder.js';
import { recordedSpans } from '../../test/fixtures/otlp/sdk-spans.js';
import { LiveLoad } from '../../bench/support/live-load.js';

/** Every value with its keys in order, bigints, byte arrays and null prototypes marked: equal texts are equal records. */
function canonical(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (typeof v === 'bigint') return `bigint:${v}`;
    if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
    if (typeof v === 'number' && !Number.isFinite(v)) return `number:${v}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === null) return { '<null prototype>': true, ...v };
    return v;
  });
}

type Outcome = { ok: true; text: string } | { ok: false; error: unknown };

function outcome(decode: (body: Uint8Array) => unknown, body: Uint8Array): Outcome {
  try {
    return { ok: true, text: canonical(decode(body)) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Both decoders accept the body and return the same batch, or both reject it with a DecodeError. */
function expectSame(body: Uint8Array): boolean {
  const ours = outcome(decodeProtobufTraceRequest, body);
  const reference = outcome(decodeWithProtobufjs, body);
  if (!reference.ok) {
    expect(reference.error).toBeInstanceOf(DecodeError);
    expect(ours.ok, `accepted a body protobufjs rejects (${(reference.error as Error).message}): ${Buffer.from(body).toString('hex')}`).toBe(false);
    if (!ours.ok) expect(ours.error).toBeInstanceOf(DecodeError);
    return false;
  }
  expect(ours.ok ? '' : (ours.error as Error).message, `rejected a body protobufjs accepts: ${Buffer.from(body).toString('hex')}`).toBe('');
  if (ours.ok) expect(ours.text).toBe(reference.text);
  return true;
}

const encode = (request: object): Uint8Array => ExportTraceServiceRequestType.encode(ExportTraceServiceRequestType.fromObject(request)).finish();

/** protobuf wire pieces, to write what an encoder never writes (fields out of order, repeated, nested too deep) */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType);
const delimited = (field: number, bytes: number[]): number[] => [...tag(field, 2), ...varint(bytes.length), ...bytes];
const text = (field: number, s: string): number[] => delimited(field, [...Buffer.from(s, 'utf8')]);
const fixed64 = (field: number, ms: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(ms) * 1_000_000n + 123_456n);
  return [...tag(field, 1), ...b];
};
const hexBytes = (field: number, hex: string): number[] => delimited(field, [...Buffer.from(hex, 'hex')]);
const request = (...resourceSpans: number[][]): Uint8Array => Uint8Array.from(resourceSpans.flatMap((rs) => delimited(1, rs)));
const T = 1_764_151_200_000;
const spanBytes = (id: string, ...extra: number[][]): number[] => [
  ...hexBytes(1, '0af7651916cd43dd8448eb211c80319c'),
  ...hexBytes(2, id),
  ...text(5, `span ${id}`),
  ...fixed64(7, T),
  ...fixed64(8, T + 250),
  ...extra.flat(),
];
const kv = (key: string, value: number[]): number[] => delimited(9, [...text(1, key), ...delimited(2, value)]);

describe('the protobuf decoder reads what protobufjs read', () => {
  let sdkBody: Uint8Array;
  beforeAll(async () => {
    sdkBody = ProtobufTraceSerializer.serializeRequest(await recordedSpans()) as Uint8Array;
  });

  it('decodes SDK and live-load bodies to the same records', () => {
    expect(expectSame(sdkBody)).toBe(true);
    expect(decodeProtobufTraceRequest(sdkBody).spans).toHaveLength(3);
    const load = new LiveLoad({ runs: 50, startMs: T });
    for (let i = 0; i < 5; i++) expect(expectSame(load.next(200))).toBe(true);
  });

  it('decodes attributes of every type, events, links, statuses and invalid spans the same', () => {
    const body = encode({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: '__proto__', value: { boolValue: true } }] },
          scopeSpans: [
            {
              scope: { name: 'scope', version: '' },
              spans: [
                {
                  traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
                  spanId: Buffer.from('b7ad6b7169203331', 'hex'),
                  parentSpanId: Buffer.from('0000000000000000', 'hex'),
                  name: 'a',
                  kind: 9,
                  startTimeUnixNano: '1764151200000999999',
                  endTimeUnixNano: '1764151200000999999',
                  attributes: [
                    { key: 'big', value: { intValue: '9007199254740993' } },
                    { key: 'neg', value: { intValue: '-5' } },
                    { key: 'negbig', value: { intValue: '-9007199254740993' } },
                    { key: 'd', value: { doubleValue: 0.1 } },
                    { key: 'b', value: { bytesValue: Buffer.from('abcd', 'hex') } },
                    { key: 'e', value: { bytesValue: Buffer.alloc(0) } },
                    { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }, {}, { arrayValue: {} }] } } },
                    { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
                    { key: 'emptymap', value: { kvlistValue: {} } },
                    { key: 'none', value: {} },
                    { key: 'nokv' },
                    { key: 'b', value: { stringValue: 'again' } },
                    { key: 'ключ', value: { stringValue: 'naïve' } },
                    { key: 'bagain', value: { stringValue: 'x'.repeat(49) } },
                  ],
                  events: [{ name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'E' } }] }, { timeUnixNano: '1764151200001500000' }],
                  links: [
                    { traceId: Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'), spanId: Buffer.from('00f067aa0ba90201', 'hex'), attributes: [{ key: 'l', value: { intValue: 1 } }] },
                    { traceId: Buffer.from('4bf9', 'hex'), spanId: Buffer.from('00f067aa0ba90201', 'hex') },
                  ],
                  status: { code: 2, message: 'boom' },
                },
                { traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203332', 'hex'), links: [{ traceId: Buffer.alloc(3) }] },
                { traceId: Buffer.alloc(15), spanId: Buffer.from('b7ad6b7169203333', 'hex') },
                { traceId: Buffer.alloc(16), spanId: Buffer.from('b7ad6b7169203333', 'hex') },
                { traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.alloc(8), startTimeUnixNano: 1, endTimeUnixNano: 2 },
                { traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203334', 'hex'), parentSpanId: Buffer.alloc(4, 1) },
                { traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203335', 'hex'), startTimeUnixNano: 5, endTimeUnixNano: 3, status: { code: 7 } },
              ],
            },
          ],
        },
        { scopeSpans: [{ spans: [{ traceId: Buffer.from('0af7651916cd43dd8448eb211c80319d', 'hex'), spanId: Buffer.from('b7ad6b7169203336', 'hex'), startTimeUnixNano: 5, endTimeUnixNano: 9 }] }] },
      ],
    });
    expect(expectSame(body)).toBe(true);
    const { spans, rejectedSpans } = decodeProtobufTraceRequest(body);
    // no times, a 15-byte and a zero trace id, a zero span id, a 4-byte parent id
    expect(rejectedSpans).toBe(5);
    expect(spans.map((s) => s.spanId)).toEqual(['b7ad6b7169203331', 'b7ad6b7169203335', 'b7ad6b7169203336']);
    expect(spans[0]?.attributes['big']).toBe(9007199254740993n);
    expect(spans[0]?.attributes['b']).toBe('again');
    expect(spans[0]?.attributes['ключ']).toBe('naïve');
    // texts read again come from the decoder's table of short texts: the same, body after body
    expect(decodeProtobufTraceRequest(body).spans[0]?.attributes).toEqual(spans[0]?.attributes);
    expect(spans[0]?.links).toHaveLength(1);
  });

  it('reads what no encoder writes as protobufjs did: fields out of order and repeated, several oneof members, wrong wire types, groups', () => {
    const spanA = spanBytes('00f067aa0ba902b7', text(5, 'renamed'), delimited(15, [...tag(3, 0), 2, ...text(2, 'first')]), delimited(15, text(2, 'second')));
    const cases: Uint8Array[] = [
      // spans before their scope and resource; scope and resource given twice (the last wins)
      request([...delimited(2, [...delimited(2, spanA), ...delimited(1, text(1, 'late scope')), ...delimited(1, [...text(1, 's2'), ...text(2, 'v2')])]), ...delimited(1, delimited(1, [...text(1, 'service.name'), ...delimited(2, text(1, 'r1'))])), ...delimited(1, delimited(1, text(1, 'k')))]),
      // an AnyValue with several members: string, then bool, then string again
      request(delimited(2, delimited(2, spanBytes('00f067aa0ba902b8', kv('multi', [...text(1, 'one'), ...tag(2, 0), 1, ...text(1, 'two')]))))),
      // bool first, then string, then bool again
      request(delimited(2, delimited(2, spanBytes('00f067aa0ba902b9', kv('multi', [...tag(2, 0), 1, ...text(1, 'one'), ...tag(2, 0), 0]))))),
      // a known field with another wire type (kind as a length-delimited field), unknown fields of every wire type, a group
      request(delimited(2, delimited(2, spanBytes('00f067aa0ba902ba', [...tag(6, 2), 3], [...tag(40, 0), 0x96, 0x01], [...tag(41, 1), 1, 2, 3, 4, 5, 6, 7, 8], text(42, 'x'), [...tag(43, 5), 1, 2, 3, 4], [...tag(44, 3), ...tag(1, 0), 5, ...tag(44, 4)])))),
      // a string longer than its message (cut at its end)
      request(delimited(2, delimited(2, [...spanBytes('00f067aa0ba902bb'), ...tag(5, 2), 50, 0x61, 0x62]))),
      // an invalid wire type, and a nested message running past its parent
      request(delimited(2, delimited(2, [...spanBytes('00f067aa0ba902bc'), ...tag(45, 7)]))),
      request(delimited(2, [...tag(2, 2), 200, ...spanBytes('00f067aa0ba902bd')])),
      // a truncated fixed64 and int64
      request(delimited(2, delimited(2, [...spanBytes('00f067aa0ba902be'), ...tag(7, 1), 1, 2]))),
      request(delimited(2, delimited(2, spanBytes('00f067aa0ba902bf', kv('i', [...tag(3, 0), 0xff, 0xff, 0xff, 0xff]))))),
      request(delimited(2, delimited(2, spanBytes('00f067aa0ba902c0', kv('i', [...tag(3, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))))),
    ];
    // accepted by both, but for the invalid wire type, the message past its parent and the cut fixed64
    expect(cases.map((body) => expectSame(body))).toEqual([true, true, true, true, true, false, false, false, true, true]);
  });

  it('cuts values past 32 levels and fails past 100 levels of messages, as protobufjs did', () => {
    const nested = (levels: number): number[] => {
      let value = text(1, 'leaf');
      for (let i = 0; i < levels; i++) value = delimited(5, delimited(1, value));
      return value;
    };
    for (const levels of [30, 31, 32, 33, 46, 47, 48, 49]) {
      const body = request(delimited(2, delimited(2, spanBytes('00f067aa0ba902c1', kv('deep', nested(levels))))));
      expectSame(body);
    }
    expect(() => decodeProtobufTraceRequest(request(delimited(2, delimited(2, spanBytes('00f067aa0ba902c1', kv('deep', nested(60)))))))).toThrow(/nesting depth/);
  });

  it('accepts and rejects random and corrupted bodies exactly as protobufjs did', () => {
    let seed = 987654;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const load = new LiveLoad({ runs: 5, startMs: T });
    const valid = [sdkBody, load.next(20)];
    let accepted = 0;
    for (let i = 0; i < 3_000; i++) {
      const base = valid[i % valid.length] as Uint8Array;
      const body = Buffer.from(base);
      switch (i % 4) {
        case 0: // a few bytes changed
          for (let k = 1 + (next() % 4); k > 0; k--) body[next() % body.length] = next() & 0xff;
          accepted += expectSame(body) ? 1 : 0;
          break;
        case 1: // cut short
          accepted += expectSame(body.subarray(0, next() % body.length)) ? 1 : 0;
          break;
        case 2: {
          // random bytes
          const random = Buffer.alloc(1 + (next() % 120));
          for (let j = 0; j < random.length; j++) random[j] = next() & 0xff;
          accepted += expectSame(random) ? 1 : 0;
          break;
        }
        default: {
          // a byte changed in the span region of a small body, where varints and lengths are
          const small = Buffer.from(valid[1] as Uint8Array).subarray(0, 400);
          small[next() % small.length] = next() & 0xff;
          accepted += expectSame(small) ? 1 : 0;
        }
      }
    }
    // both outcomes were exercised
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(3_000);
  });
});
