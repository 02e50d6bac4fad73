import { describe, expect, it, vi } from 'vitest';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { OtlpHttpReceiver, formatOfContentType } from './otlp-http.js';
import { DEFAULT_ATTRIBUTE_MAPPING } from '../model/derive.js';
import { receiverMetrics } from '../telemetry/receiver-metrics.js';
import { silentLogger } from '../telemetry/logger.js';
import { decodeStatus } from '../decode/index.js';

function post(url: string): { req: ClientRequest; response: Promise<{ res: IncomingMessage; body: Buffer }> } {
  const { hostname, port } = new URL(url);
  let req!: ClientRequest;
  const response = new Promise<{ res: IncomingMessage; body: Buffer }>((resolve, reject) => {
    req = request({ host: hostname, port, method: 'POST', path: '/v1/traces', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
  return { req, response };
}

describe('formatOfContentType', () => {
  it('reads the media type and ignores parameters and case', () => {
    expect(formatOfContentType('application/x-protobuf')).toBe('protobuf');
    expect(formatOfContentType('Application/JSON; charset=utf-8')).toBe('json');
    expect(formatOfContentType('text/plain')).toBeUndefined();
    expect(formatOfContentType(undefined)).toBeUndefined();
  });
});

describe('OtlpHttpReceiver concurrency cap', () => {
  it('answers 503 with Retry-After while the cap of bodies being read is reached', async () => {
    const receiver = new OtlpHttpReceiver({
      endpoint: '127.0.0.1:0',
      maxRequestBodySize: 1024 * 1024,
      maxConcurrentRequests: 1,
      mapping: DEFAULT_ATTRIBUTE_MAPPING,
      sink: { push: () => true },
      metrics: receiverMetrics(new Registry()),
      logger: silentLogger,
    });
    const url = await receiver.start();
    try {
      const slow = post(url);
      slow.req.write('{"resourceSpans":');
      // wait until the server is reading the first body
      await vi.waitFor(() => expect(receiver.inFlightRequests).toBe(1), { timeout: 10_000 });
      const second = post(url);
      second.req.end('{}');
      const { res, body } = await second.response;
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(decodeStatus(body, 'json')).toEqual({ code: 14, message: 'too many concurrent requests; retry later' });
      slow.req.end('[]}');
      expect((await slow.response).res.statusCode).toBe(200);
    } finally {
      await receiver.shutdown();
    }
  });
});
