import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { parseListenAddress, startTelemetryServer } from './http-endpoints.js';
import { receiverMetrics } from './receiver-metrics.js';

async function get(url: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('startTelemetryServer', () => {
  it('serves /healthz, /readyz and /metrics and 404 for anything else', async () => {
    const metrics = new Registry();
    new Counter({ name: 'sidelight_test_total', help: 'test counter', registers: [metrics] }).inc(5);
    let ready = false;
    const server = await startTelemetryServer('127.0.0.1:0', { metrics, ready: () => ready });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await get(`${server.url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
      expect((await get(`${server.url}/readyz`)).status).toBe(503);
      ready = true;
      expect(await get(`${server.url}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
      const m = await get(`${server.url}/metrics?x=1`);
      expect(m.status).toBe(200);
      expect(m.type).toBe(metrics.contentType);
      expect(m.body).toContain('sidelight_test_total 5');
      expect((await get(`${server.url}/other`)).status).toBe(404);
      const post = await fetch(`${server.url}/healthz`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(await get(`${server.url}/healthz`, 'HEAD')).toMatchObject({ status: 200, body: '' });
    } finally {
      await server.close();
    }
  });

  it('fails to start on an endpoint without a port', async () => {
    await expect(startTelemetryServer('localhost', { metrics: new Registry(), ready: () => true })).rejects.toThrow(/expected host:port/);
  });
});

describe('parseListenAddress', () => {
  it('reads IPv4, names, bracketed IPv6 and an empty host', () => {
    expect(parseListenAddress('127.0.0.1:4318')).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('[::1]:4317')).toEqual({ host: '::1', port: 4317 });
    expect(parseListenAddress(':4318')).toEqual({ host: '0.0.0.0', port: 4318 });
    expect(() => parseListenAddress('127.0.0.1:99999')).toThrow();
    expect(() => parseListenAddress('http://127.0.0.1:4318')).toThrow();
  });
});

describe('receiverMetrics', () => {
  it('creates each counter once per registry and reuses it', () => {
    const registry = new Registry();
    const a = receiverMetrics(registry);
    const b = receiverMetrics(registry);
    expect(b.spansReceived).toBe(a.spansReceived);
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual([
      'sidelight_receiver_bytes_received_total',
      'sidelight_receiver_refused_spans_total',
      'sidelight_receiver_requests_total',
      'sidelight_receiver_spans_received_total',
      'sidelight_receiver_spans_rejected_total',
    ]);
  });
});
