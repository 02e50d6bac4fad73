import { afterEach, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { decodeTraceRequest } from '../src/decode/index.js';
import { attributesSchema } from '../src/config/service-schema.js';
import { createOtlpTracesExporter, otlpTracesConfigSchema } from '../exporters/otlp-traces.js';
import { createOtlpLogsExporter, otlpLogsConfigSchema } from '../exporters/otlp-logs.js';
import { otlpHttpConfigSchema, parseEnvHeaders, resolveOtlpTarget, signalUrl } from '../exporters/otlp-common.js';
import { SpanKind, StatusCode } from '../src/model/span.js';
import type { PainPointChange } from '../src/model/events.js';
import { createHash } from 'node:crypto';
import { problemChangeOf } from './fixtures/problems.js';
import {
  painPoint,
  problemMembers,
  recommendation,
  SPAN_A,
  startReceiver,
  testContext,
  TRACE_A,
  TRACE_B,
  virtualClock,
  type TestReceiver,
} from './exporters-support.js';

const receivers: TestReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});
async function receiver(): Promise<TestReceiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

const mapping = attributesSchema.parse({});
const syntheticSpanB = createHash('sha256').update(TRACE_B).digest('hex').slice(0, 16);

const openChange: PainPointChange = { painpoint: painPoint(), recommendations: [recommendation()] };
const resolvedChange: PainPointChange = {
  painpoint: painPoint({ state: 'resolved', severity: 'medium', last_seen: '2026-11-26T10:00:00.000Z' }),
  recommendations: [],
};

describe('otlp_traces', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`sends each change as a sidelight.painpoint span with attributes, exemplar links and recommendation events (${protocol})`, async () => {
      const r = await receiver();
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ emit: 'painpoints', endpoint: r.url, protocol }), testContext('otlp_traces'), {
        env: {},
      });
      exporter.export(openChange);
      exporter.export(resolvedChange);
      await r.waitForAccepted(1);
      await exporter.shutdown();

      const req = r.accepted()[0];
      expect(req?.path).toBe('/v1/traces');
      expect(req?.headers['content-type']).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
      expect(req?.headers['content-encoding']).toBe('gzip');
      const decoded = decodeTraceRequest(new Uint8Array(req?.body ?? []), protocol === 'http/json' ? 'json' : 'protobuf', mapping);
      expect(decoded.rejectedSpans).toBe(0);
      expect(decoded.spans).toHaveLength(2);
      const [open, resolved] = decoded.spans;

      expect(open?.name).toBe('sidelight.painpoint');
      expect(open?.kind).toBe(SpanKind.INTERNAL);
      expect(open?.resource['service.name']).toBe('sidelight');
      expect(typeof open?.resource['service.version']).toBe('string');
      expect(open?.attributes).toMatchObject({
        'sidelight.painpoint.id': 'pp-3f9c0a1b2c3d4e5f',
        'sidelight.painpoint.kind': 'failure_rate',
        'sidelight.painpoint.severity': 'high',
        'sidelight.painpoint.category': 'reliability',
        'sidelight.painpoint.state': 'open',
        'sidelight.painpoint.title': 'web_search fails 42 % of calls (Wilson 95 % lower bound 31 %)',
        'sidelight.subject.service': 'kc-orchestrator',
        'sidelight.subject.operation': 'execute_tool web_search',
        'sidelight.subject.tool': 'web_search',
        'sidelight.evidence.window': '5m',
        'sidelight.evidence.calls': 100,
        'sidelight.evidence.failures': 42,
        'sidelight.evidence.wilson_lower': 0.31,
        'sidelight.evidence.by_error_class.timeout': 30,
        'sidelight.evidence.by_error_class.rate_limit': 12,
        'sidelight.recommendation.ids': ['REC-1a2b3c4d5e6f7a8b'],
      });
      expect(open?.startMs).toBe(Date.parse('2026-11-26T10:00:00.000Z'));
      expect(open?.endMs).toBe(Date.parse('2026-11-26T10:05:00.000Z'));
      // high severity while open: ERROR with the title
      expect(open?.statusCode).toBe(StatusCode.ERROR);
      expect(open?.statusMessage).toBe('web_search fails 42 % of calls (Wilson 95 % lower bound 31 %)');

      expect(open?.links.map((l) => [l.traceId, l.spanId, l.attributes['sidelight.link.span_id_synthetic']])).toEqual([
        [TRACE_A, SPAN_A, undefined],
        [TRACE_B, syntheticSpanB, true],
      ]);
      expect(open?.events).toHaveLength(1);
      expect(open?.events[0]?.name).toBe('sidelight.recommendation');
      expect(open?.events[0]?.attributes).toMatchObject({
        'sidelight.recommendation.id': 'REC-1a2b3c4d5e6f7a8b',
        'sidelight.recommendation.title': 'Add a circuit breaker to web_search',
        'sidelight.recommendation.priority': 'high',
        'sidelight.recommendation.implementation': 'Wrap web_search calls in a circuit breaker.',
        'sidelight.recommendation.effort': 'M',
      });

      expect(resolved?.attributes['sidelight.painpoint.state']).toBe('resolved');
      expect(resolved?.statusCode).toBe(StatusCode.UNSET);
      // first_seen = last_seen: the span gets 1 ms
      expect((resolved?.endMs ?? 0) - (resolved?.startMs ?? 0)).toBe(1);
      // every change of one pain point lands in one trace
      expect(resolved?.traceId).toBe(open?.traceId);
      expect(resolved?.spanId).not.toBe(open?.spanId);
    });
  }

  it('gives the same span ids to the same change on every run', async () => {
    const r = await receiver();
    for (let run = 0; run < 2; run++) {
      const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ emit: 'painpoints', endpoint: r.url }), testContext('otlp_traces'), { env: {} });
      exporter.export(openChange);
      await r.waitForAccepted(run + 1);
      await exporter.shutdown();
    }
    const ids = r.accepted().map((q) => decodeTraceRequest(new Uint8Array(q.body), 'protobuf', mapping).spans.map((s) => s.traceId + s.spanId));
    expect(ids[0]).toEqual(ids[1]);
  });

  it('retries a 429 honouring Retry-After and delivers once', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
    const clock = virtualClock();
    const exporter = createOtlpTracesExporter(otlpTracesConfigSchema.parse({ emit: 'painpoints', endpoint: r.url, compression: 'none' }), testContext('otlp_traces'), {
      env: {},
      clock,
    });
    exporter.export(openChange);
    await r.waitForAccepted(1);
    await exporter.shutdown();
    expect(r.requests).toHaveLength(2);
    expect(clock.sleeps[0]).toBe(2_000);
    expect(r.requests[1]?.headers['content-encoding']).toBeUndefined();
  });
});

/** OTLP logs messages for decoding what otlp_logs sends (public field numbers of logs.proto). */
const logsRoot = protobuf.parse(`
syntax = "proto3";
package t;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
message ScopeLogs { repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`).root;
const ExportLogsRequest = logsRoot.lookupType('t.ExportLogsServiceRequest');

interface DecodedLog {
  severityNumber: number;
  severityText: string;
  body: string;
  eventName: string;
  traceId: string;
  spanId: string;
  timeMs: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

type PbValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number; arrayValue?: { values?: PbValue[] } };
function pbValue(v: PbValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(pbValue);
  return undefined;
}
function kvs(list: { key: string; value?: PbValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, pbValue(kv.value)]));
}
const hex = (b: string | undefined) => Buffer.from(b ?? '', 'base64').toString('hex');

/** Both OTLP encodings to one shape: protobuf via the descriptors above, JSON as OTLP/JSON (hex ids). */
function decodeLogs(body: Buffer, protocol: 'http/protobuf' | 'http/json'): DecodedLog[] {
  type Rec = {
    timeUnixNano: string;
    severityNumber?: number;
    severityText?: string;
    body?: PbValue;
    eventName?: string;
    traceId?: string;
    spanId?: string;
    attributes?: { key: string; value?: PbValue }[];
  };
  type Req = { resourceLogs?: { resource?: { attributes?: { key: string; value?: PbValue }[] }; scopeLogs?: { logRecords?: Rec[] }[] }[] };
  const json = protocol === 'http/json';
  const req: Req = json
    ? (JSON.parse(body.toString('utf8')) as Req)
    : (ExportLogsRequest.toObject(ExportLogsRequest.decode(body), { longs: String, bytes: String }) as Req);
  const out: DecodedLog[] = [];
  for (const rl of req.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const rec of sl.logRecords ?? []) {
        out.push({
          severityNumber: rec.severityNumber ?? 0,
          severityText: rec.severityText ?? '',
          body: String(pbValue(rec.body)),
          eventName: rec.eventName ?? '',
          traceId: json ? (rec.traceId ?? '') : hex(rec.traceId),
          spanId: json ? (rec.spanId ?? '') : hex(rec.spanId),
          timeMs: Number(BigInt(rec.timeUnixNano) / 1_000_000n),
          attributes: kvs(rec.attributes),
          resource: kvs(rl.resource?.attributes),
        });
      }
    }
  }
  return out;
}

describe('otlp_logs', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`sends each change as a log record with event name, severity, attributes and the first exemplar's trace context (${protocol})`, async () => {
      const r = await receiver();
      const exporter = createOtlpLogsExporter(otlpLogsConfigSchema.parse({ emit: 'painpoints', endpoint: r.url + '/v1/logs', protocol }), testContext('otlp_logs'), {
        env: {},
      });
      const low: PainPointChange = {
        painpoint: painPoint({ id: 'pp-00000000000000aa', severity: 'low', evidence: { window: 'all', metrics: {}, exemplar_trace_ids: [TRACE_B] } }),
        recommendations: [],
      };
      const medium: PainPointChange = { painpoint: painPoint({ id: 'pp-00000000000000bb', severity: 'medium', state: 'updated' }), recommendations: [] };
      for (const c of [openChange, medium, low, resolvedChange]) exporter.export(c);
      await exporter.delivery.idle();
      await exporter.shutdown();

      expect(r.accepted().every((q) => q.path === '/v1/logs')).toBe(true);
      const logs = r.accepted().flatMap((q) => decodeLogs(q.body, protocol));
      expect(logs.map((l) => [l.eventName, l.severityNumber, l.severityText])).toEqual([
        ['sidelight.painpoint.open', 17, 'ERROR'],
        ['sidelight.painpoint.updated', 13, 'WARN'],
        ['sidelight.painpoint.open', 9, 'INFO'],
        ['sidelight.painpoint.resolved', 9, 'INFO'],
      ]);
      const first = logs[0] as DecodedLog;
      expect(first.body).toBe('web_search fails 42 % of calls (Wilson 95 % lower bound 31 %)');
      expect(first.traceId).toBe(TRACE_A);
      expect(first.spanId).toBe(SPAN_A);
      expect(first.timeMs).toBe(Date.parse('2026-11-26T10:05:00.000Z'));
      expect(first.resource['service.name']).toBe('sidelight');
      expect(first.attributes).toMatchObject({
        'event.name': 'sidelight.painpoint.open',
        'sidelight.painpoint.id': 'pp-3f9c0a1b2c3d4e5f',
        'sidelight.painpoint.kind': 'failure_rate',
        'sidelight.subject.tool': 'web_search',
        'sidelight.evidence.failures': 42,
        'sidelight.evidence.by_error_class.timeout': 30,
        'sidelight.recommendation.ids': ['REC-1a2b3c4d5e6f7a8b'],
      });
      // no exemplar span id recorded: derived span id, marked synthetic
      expect(logs[2]?.traceId).toBe(TRACE_B);
      expect(logs[2]?.spanId).toBe(syntheticSpanB);
      expect(logs[2]?.attributes['sidelight.link.span_id_synthetic']).toBe(true);
    });
  }
});

describe('otlp_logs: problem changes', () => {
  it('sends each problem change as a sidelight.problem.<state> record naming the root, in the first exemplar\'s trace, and no pain point by default', async () => {
    const r = await receiver();
    const exporter = createOtlpLogsExporter(otlpLogsConfigSchema.parse({ endpoint: r.url }), testContext('otlp_logs'), { env: {} });
    const members = problemMembers();
    const open = problemChangeOf(members, { title: 'web_search rate-limited: 42 % of calls fail' }, [recommendation()]);
    exporter.export(openChange);
    exporter.export(open);
    exporter.export(problemChangeOf(members, { state: 'updated', severity: 'medium' }));
    exporter.export(problemChangeOf({ root: members.contributing[0] ?? painPoint() }, { state: 'merged', merged_into: open.problem.id }));
    exporter.export(problemChangeOf({ root: painPoint({ severity: 'low' }) }, { state: 'resolved' }));
    await exporter.delivery.idle();
    await exporter.shutdown();

    const logs = r.accepted().flatMap((q) => decodeLogs(q.body, 'http/protobuf'));
    expect(logs.map((l) => [l.eventName, l.severityNumber, l.severityText])).toEqual([
      ['sidelight.problem.open', 17, 'ERROR'],
      ['sidelight.problem.updated', 13, 'WARN'],
      ['sidelight.problem.merged', 9, 'INFO'],
      ['sidelight.problem.resolved', 9, 'INFO'],
    ]);
    const first = logs[0] as DecodedLog;
    expect(first.body).toBe('web_search rate-limited: 42 % of calls fail');
    expect([first.traceId, first.spanId]).toEqual([TRACE_A, SPAN_A]);
    expect(first.timeMs).toBe(Date.parse('2026-11-26T10:05:00.000Z'));
    expect(first.attributes).toMatchObject({
      'event.name': 'sidelight.problem.open',
      'sidelight.problem.id': open.problem.id,
      'sidelight.problem.root_kind': 'failure_rate',
      'sidelight.problem.root_id': 'pp-3f9c0a1b2c3d4e5f',
      'sidelight.problem.symptoms': 2,
      'sidelight.subject.tool': 'web_search',
      'sidelight.recommendation.ids': ['REC-1a2b3c4d5e6f7a8b'],
    });
    expect(logs[2]?.attributes['sidelight.problem.merged_into']).toBe(open.problem.id);
  });

  it('sends pain-point records beside problem records with emit: both, and only them with emit: painpoints', async () => {
    const open = problemChangeOf(problemMembers());
    for (const [emit, names] of [
      ['both', ['sidelight.painpoint.open', 'sidelight.problem.open']],
      ['painpoints', ['sidelight.painpoint.open']],
    ] as const) {
      const r = await receiver();
      const exporter = createOtlpLogsExporter(otlpLogsConfigSchema.parse({ endpoint: r.url, emit }), testContext('otlp_logs'), { env: {} });
      exporter.export(openChange);
      exporter.export(open);
      await exporter.delivery.idle();
      await exporter.shutdown();
      expect(r.accepted().flatMap((q) => decodeLogs(q.body, 'http/protobuf')).map((l) => l.eventName)).toEqual(names);
    }
  });
});

describe('OTLP endpoint settings', () => {
  const parse = (c: object) => otlpHttpConfigSchema.parse(c);

  it('appends /v1/<signal> to a base endpoint unless the path already ends with it', () => {
    expect(signalUrl('http://127.0.0.1:4318', 'traces')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(signalUrl('http://collector:4318/otlp/', 'logs')).toBe('http://collector:4318/otlp/v1/logs');
    expect(signalUrl('https://x.example/v1/traces', 'traces')).toBe('https://x.example/v1/traces');
    expect(signalUrl('127.0.0.1:4319', 'traces')).toBe('http://127.0.0.1:4319/v1/traces');
  });

  it('uses the SDK defaults when neither config nor environment says anything', () => {
    expect(resolveOtlpTarget(parse({}), 'traces', {})).toEqual({
      url: 'http://localhost:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      compression: 'gzip',
      timeoutMs: 10_000,
    });
  });

  it('honours OTEL_EXPORTER_OTLP_* as the SDK does: signal-specific endpoint as given, generic one with /v1/<signal>', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://logs-only:9999/custom',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-team=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=traces',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    };
    expect(resolveOtlpTarget(parse({}), 'traces', env)).toEqual({
      url: 'http://generic:4318/v1/traces',
      protocol: 'http/json',
      headers: { authorization: 'Bearer abc', 'x-team': 'traces' },
      compression: 'none',
      timeoutMs: 2_500,
    });
    expect(resolveOtlpTarget(parse({}), 'logs', env).url).toBe('http://logs-only:9999/custom');
    expect(resolveOtlpTarget(parse({}), 'logs', env).protocol).toBe('http/protobuf');
  });

  it('lets config win over the environment when set', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=env,b=env', OTEL_EXPORTER_OTLP_TIMEOUT: '1' };
    const config = parse({ endpoint: 'http://mine:4318', protocol: 'http/protobuf', headers: { a: 'config' }, compression: 'gzip', timeout: '3s' });
    expect(resolveOtlpTarget(config, 'traces', env)).toEqual({
      url: 'http://mine:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: { a: 'config', b: 'env' },
      compression: 'gzip',
      timeoutMs: 3_000,
    });
  });

  it('parses header lists with URL-encoded values and skips malformed pairs', () => {
    expect(parseEnvHeaders('a=1, b = x%3Dy ,broken,=v')).toEqual({ a: '1', b: 'x=y' });
  });

  it('rejects unknown keys and bad values with their path', () => {
    const unknown = otlpTracesConfigSchema.safeParse({ endpont: 'http://x' });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toContain('endpont');
    const badDuration = otlpTracesConfigSchema.safeParse({ retry_on_failure: { initial_interval: 'soon' } });
    expect(badDuration.error?.issues[0]?.path).toEqual(['retry_on_failure', 'initial_interval']);
  });
});
