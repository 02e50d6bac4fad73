/**
 * Serving beyond loopback: TLS with a certificate made at test time, a bearer token on every route
 * but the health probes, sent by the OpenTelemetry SDK's own exporters (HTTP and gRPC), and the
 * running sidecar's live page (/ui, its assets, its event stream) behind the same token.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { generate } from 'selfsigned';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { asyncScheduler, VirtualTimeScheduler } from 'rxjs';
import { recordedSpans } from './fixtures/otlp/sdk-spans.js';
import { CapturingSink } from './receiver-harness.js';
import { createOtlpReceiver, otlpReceiverConfigSchema } from '../src/receivers/otlp.js';
import { serviceSchema } from '../src/config/service-schema.js';
import { BearerTokenCheck, exposureWarnings, isLoopbackHost, loadTlsCredentials } from '../src/security/server-security.js';
import { startTelemetryServer } from '../src/telemetry/http-endpoints.js';
import { TRACE_SERVICE_EXPORT_PATH } from '../src/decode/otlp-descriptor.js';
import type { ComponentContext, Receiver } from '../src/component/contracts.js';
import { silentLogger, type Logger } from '../src/telemetry/logger.js';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService } from '../src/pipeline/service.js';

const TOKEN = 's3cret-token-1234';
let dir: string;
let cert: string;
let certFile: string;
let keyFile: string;
let spans: ReadableSpan[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidelight-tls-'));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  cert = pems.cert;
  certFile = path.join(dir, 'sidelight.crt');
  keyFile = path.join(dir, 'sidelight.key');
  fs.writeFileSync(certFile, pems.cert);
  fs.writeFileSync(keyFile, pems.private);
  spans = await recordedSpans();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function context(logger?: Logger): ComponentContext {
  const lines: string[] = [];
  const log: Logger = logger ?? { debug: () => {}, info: () => {}, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };
  return { scheduler: asyncScheduler, metrics: new Registry(), logger: log, settings: serviceSchema.parse({}), mode: 'live', id: 'otlp' };
}

interface Started {
  readonly receiver: Receiver;
  readonly sink: CapturingSink;
  readonly httpUrl: string;
  readonly grpcAddress: string;
}

async function startSecured(protocols: Record<string, unknown>): Promise<Started> {
  const sink = new CapturingSink();
  const receiver = createOtlpReceiver(otlpReceiverConfigSchema.parse({ protocols }), context(), sink);
  const endpoints = await receiver.start();
  return {
    receiver,
    sink,
    httpUrl: endpoints.find((e) => e.startsWith('https://')) ?? '',
    grpcAddress: (endpoints.find((e) => e.startsWith('grpcs://')) ?? '').replace('grpcs://', ''),
  };
}

const secured = () => ({ tls: { cert_file: certFile, key_file: keyFile }, auth: { bearer_token: TOKEN } });

function exportWith(exporter: { export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void; shutdown(): Promise<void> }): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve)).finally(() => exporter.shutdown()) as Promise<ExportResult>;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: cert, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

describe('OTLP/HTTP over TLS with a bearer token', () => {
  let r: Started;
  beforeAll(async () => {
    r = await startSecured({ http: { endpoint: '127.0.0.1:0', ...secured() } });
  });
  afterAll(() => r.receiver.shutdown());

  it('starts as https:// on the bound port', () => {
    expect(r.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('accepts spans from the OTel SDK exporter that sends the token as a header and trusts the certificate', async () => {
    const exporter = new ProtoExporter({ url: `${r.httpUrl}/v1/traces`, headers: { Authorization: `Bearer ${TOKEN}` }, httpAgentOptions: { ca: cert } });
    const result = await exportWith(exporter);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(r.sink.spans).toHaveLength(spans.length);
  });

  it('answers 401 with WWW-Authenticate to the SDK exporter without the token, and keeps no span', async () => {
    const before = r.sink.spans.length;
    const result = await exportWith(new ProtoExporter({ url: `${r.httpUrl}/v1/traces`, httpAgentOptions: { ca: cert } }));
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error).toMatchObject({ code: 401, message: 'Unauthorized' });
    expect(r.sink.spans).toHaveLength(before);
  });

  it('answers 401 to a wrong token, and to a token under another scheme', async () => {
    const body = ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(`${r.httpUrl}/v1/traces`, { method: 'POST', ca: cert, headers: { authorization, 'content-type': 'application/x-protobuf' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(status, authorization).toBe(401);
    }
  });

  it('leaves /healthz and /readyz open, guards /metrics and every other path', async () => {
    expect((await get(`${r.httpUrl}/healthz`)).status).toBe(200);
    expect((await get(`${r.httpUrl}/readyz`)).status).toBe(200);
    const denied = await get(`${r.httpUrl}/metrics`);
    expect(denied).toMatchObject({ status: 401, body: 'missing or invalid bearer token\n' });
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="sidelight"');
    expect((await get(`${r.httpUrl}/ui`)).status).toBe(401);
    const metrics = await get(`${r.httpUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/sidelight_receiver_requests_total\{transport="http",path="\/v1\/traces",status="401"\} [1-9]/);
  });
});

describe('OTLP/gRPC over TLS with a bearer token', () => {
  let r: Started;
  beforeAll(async () => {
    r = await startSecured({ grpc: { endpoint: '127.0.0.1:0', ...secured() } });
  });
  afterAll(() => r.receiver.shutdown());

  it('accepts spans from the OTel SDK gRPC exporter sending the token as metadata over TLS', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const exporter = new GrpcExporter({ url: `https://${r.grpcAddress}`, credentials: grpc.credentials.createSsl(Buffer.from(cert)), metadata });
    const result = await exportWith(exporter);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(r.sink.spans).toHaveLength(spans.length);
  });

  it('answers UNAUTHENTICATED without the token', async () => {
    const before = r.sink.spans.length;
    const result = await exportWith(new GrpcExporter({ url: `https://${r.grpcAddress}`, credentials: grpc.credentials.createSsl(Buffer.from(cert)) }));
    expect(result.code).toBe(ExportResultCode.FAILED);
    const client = new grpc.Client(r.grpcAddress, grpc.credentials.createSsl(Buffer.from(cert)));
    const code = await new Promise<number | undefined>((resolve) =>
      client.makeUnaryRequest(TRACE_SERVICE_EXPORT_PATH, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, new Uint8Array(), (err) => resolve(err?.code)),
    );
    client.close();
    expect(code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.sink.spans).toHaveLength(before);
  });
});

describe('the telemetry endpoint with TLS and a token', () => {
  it('guards /metrics, leaves the probes open', async () => {
    const server = await startTelemetryServer(
      '127.0.0.1:0',
      { metrics: new Registry(), ready: () => true },
      { tls: loadTlsCredentials({ cert_file: certFile, key_file: keyFile }), auth: new BearerTokenCheck(TOKEN) },
    );
    try {
      expect(server.url).toMatch(/^https:\/\//);
      expect((await get(`${server.url}/healthz`)).status).toBe(200);
      expect((await get(`${server.url}/metrics`)).status).toBe(401);
      expect((await get(`${server.url}/metrics`, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

/** Status, content type and the first bytes of the body; a stream (/ui/events) is cut once it has `until`. */
function peek(url: string, headers: Record<string, string> = {}, until = ''): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: cert, headers }, (res) => {
        let body = '';
        const done = () => {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body });
        };
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
          if (until !== '' && body.includes(until)) done();
        });
        res.on('end', done);
      })
      .on('error', reject);
  });
}

describe("the sidecar's live page behind the token", () => {
  async function sidecar(service: Record<string, unknown>, http: Record<string, unknown>) {
    const out = fs.mkdtempSync(path.join(dir, 'sidecar-'));
    const config = parseConfigObject(
      {
        receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0', ...http } } } },
        exporters: { jsonl: { path: path.join(out, 'painpoints.jsonl') } },
        service: { data_dir: path.join(out, 'data'), ...service },
      },
      components,
      DEFAULT_CONFIG,
    );
    return startService(config, { scheduler: new VirtualTimeScheduler(), logger: silentLogger });
  }

  async function expectGuarded(base: string): Promise<void> {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const route of ['/ui', '/ui/events', '/ui/assets/live-page.js', '/ui/assets/uPlot.iife.min.js', '/metrics']) {
      expect([route, (await peek(`${base}${route}`)).status]).toEqual([route, 401]);
      expect([route, (await peek(`${base}${route}`, { authorization: `Bearer ${TOKEN}x` })).status]).toEqual([route, 401]);
    }
    const page = await peek(`${base}/ui`, auth);
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body).toContain('/ui/assets/live-page.js');
    const script = await peek(`${base}/ui/assets/live-page.js`, auth);
    expect([script.status, script.type]).toEqual([200, 'text/javascript; charset=utf-8']);
    // the event stream answers and starts with the page's snapshot
    const events = await peek(`${base}/ui/events`, auth, 'event: snapshot');
    expect([events.status, events.type]).toEqual([200, 'text/event-stream; charset=utf-8']);
    expect(events.body).toContain('event: snapshot');
    expect((await peek(`${base}/healthz`)).status).toBe(200);
    expect((await peek(`${base}/readyz`)).status).toBe(200);
  }

  it('on the OTLP/HTTP port (TLS and token of the receiver): /ui, its assets and /ui/events need the token', async () => {
    const service = await sidecar({}, secured());
    try {
      const base = service.endpoints.find((e) => e.startsWith('https://')) as string;
      await expectGuarded(base);
    } finally {
      await service.shutdown();
    }
  });

  it('on service.telemetry.endpoint (its own TLS and token), the receiver open: /ui, its assets and /ui/events need the token', async () => {
    const service = await sidecar({ telemetry: { endpoint: '127.0.0.1:0', ...secured() } }, {});
    try {
      const base = (service.endpoints.find((e) => e.startsWith('telemetry ')) as string).slice('telemetry '.length);
      expect(base).toMatch(/^https:\/\//);
      await expectGuarded(base);
    } finally {
      await service.shutdown();
    }
  });
});

describe('the token check and exposure warnings', () => {
  it('accepts exactly the token under the Bearer scheme (any case), nothing else', () => {
    const check = new BearerTokenCheck(TOKEN);
    expect(check.accepts(`Bearer ${TOKEN}`)).toBe(true);
    expect(check.accepts(`bearer   ${TOKEN} `)).toBe(true);
    expect(check.accepts([`Bearer ${TOKEN}`])).toBe(true);
    for (const bad of [undefined, '', 'Bearer', `Bearer ${TOKEN} extra`, `Token ${TOKEN}`, `Bearer ${TOKEN.toUpperCase()}`]) expect(check.accepts(bad), String(bad)).toBe(false);
  });

  it('warns for a listener beyond loopback without a token, or with a token but no TLS', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.8.9.10')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
    expect(exposureWarnings('x', '127.0.0.1', {})).toEqual([]);
    expect(exposureWarnings('x', '0.0.0.0', {})).toEqual([
      'x listens on every interface without auth.bearer_token: anyone who can reach it can use it (set auth.bearer_token, and tls)',
    ]);
    expect(exposureWarnings('x', '10.0.0.5', { auth: { bearer_token: TOKEN } })).toEqual(['x listens on 10.0.0.5 without tls: the bearer token crosses the network in clear text']);
    expect(exposureWarnings('x', '10.0.0.5', { auth: { bearer_token: TOKEN }, tls: { cert_file: 'c', key_file: 'k' } })).toEqual([]);
  });

  it('logs the warning when the receiver starts on an address beyond loopback without a token', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: () => {} };
    // 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails, after the warning, with no traffic
    const receiver = createOtlpReceiver(otlpReceiverConfigSchema.parse({ protocols: { http: { endpoint: '192.0.2.1:0' } } }), context(logger), new CapturingSink());
    await expect(receiver.start()).rejects.toThrow(/receiver otlp: cannot listen/);
    expect(warnings).toEqual([
      'receiver otlp: OTLP/HTTP (and /metrics) on 192.0.2.1:0 listens on 192.0.2.1 without auth.bearer_token: anyone who can reach it can use it (set auth.bearer_token, and tls)',
    ]);
  });

  it('fails the start with one line naming the certificate file it cannot read', async () => {
    const missing = path.join(dir, 'missing.crt');
    const config = otlpReceiverConfigSchema.parse({ protocols: { http: { endpoint: '127.0.0.1:0', tls: { cert_file: missing, key_file: keyFile } } } });
    const receiver = createOtlpReceiver(config, context(), new CapturingSink());
    await expect(receiver.start()).rejects.toThrow(`receiver otlp: cannot listen: cannot read tls.cert_file ${JSON.stringify(missing)}: ENOENT`);
  });

  it('rejects an empty token in the config, naming the key', () => {
    const result = otlpReceiverConfigSchema.safeParse({ protocols: { http: { auth: { bearer_token: '' } } } });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'protocols.http.auth.bearer_token: must not be empty (is the environment variable it comes from set?)',
    ]);
  });
});
