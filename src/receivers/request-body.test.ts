import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { discardRestOfBody, parseContentEncoding, readRequestBody, type BodyResult, type ContentEncoding } from './request-body.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Sends `body` in chunks (no Content-Length) to a server that reads it with readRequestBody. */
async function readThroughServer(body: Buffer, limit: number, encoding: ContentEncoding, chunkSize = 64 * 1024): Promise<BodyResult> {
  let resolveResult: (r: BodyResult) => void = () => {};
  const result = new Promise<BodyResult>((r) => (resolveResult = r));
  server = createServer((req: IncomingMessage, res) => {
    void readRequestBody(req, limit, encoding).then((r) => {
      resolveResult(r);
      if (!req.complete) {
        res.setHeader('Connection', 'close');
        discardRestOfBody(req);
      }
      res.end('done');
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    for (let i = 0; i < body.length; i += chunkSize) req.write(body.subarray(i, i + chunkSize));
    req.end();
  });
  return result;
}

describe('parseContentEncoding', () => {
  it('accepts identity, gzip, x-gzip and deflate, case-insensitively', () => {
    expect(parseContentEncoding(undefined)).toBe('identity');
    expect(parseContentEncoding('GZIP')).toBe('gzip');
    expect(parseContentEncoding('x-gzip')).toBe('gzip');
    expect(parseContentEncoding('deflate')).toBe('deflate');
    expect(parseContentEncoding('br')).toBeUndefined();
  });
});

describe('readRequestBody', () => {
  it('returns the body as sent and counts wire bytes', async () => {
    const body = Buffer.from('x'.repeat(200_000));
    const r = await readThroughServer(body, 1_000_000, 'identity');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.body.equals(body)).toBe(true);
    expect(r.wireBytes).toBe(200_000);
  });

  it('inflates gzip and deflate bodies', async () => {
    const body = Buffer.from('span '.repeat(50_000));
    const g = await readThroughServer(gzipSync(body), 1_000_000, 'gzip');
    const d = await readThroughServer(deflateSync(body), 1_000_000, 'deflate');
    expect(g.ok && g.body.equals(body)).toBe(true);
    expect(d.ok && d.body.equals(body)).toBe(true);
  });

  it('stops at the wire limit', async () => {
    const r = await readThroughServer(Buffer.alloc(300_000, 1), 100_000, 'identity');
    expect(r).toMatchObject({ ok: false, reason: 'too_large' });
    expect(r.wireBytes).toBeGreaterThan(100_000);
    expect(r.wireBytes).toBeLessThanOrEqual(100_000 + 64 * 1024);
  });

  it('stops inflating as soon as the inflated size passes the limit', async () => {
    // 64 MiB of zeros compress to about 64 KiB: far under the wire limit, far over the inflated one
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const limit = 1024 * 1024;
    const r = await readThroughServer(bomb, limit, 'gzip', 1024);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('too_large_inflated');
    expect(r.message).toContain('after gzip decompression');
    expect(r.inflatedBytes).toBeGreaterThan(limit);
    // zlib emits 16 KiB chunks: inflation stops within one chunk of the limit
    expect(r.inflatedBytes).toBeLessThanOrEqual(limit + 64 * 1024);
  });

  it('reports a corrupt gzip body as bad encoding', async () => {
    const r = await readThroughServer(Buffer.from('definitely not gzip'), 1_000_000, 'gzip');
    expect(r).toMatchObject({ ok: false, reason: 'bad_encoding' });
    if (!r.ok) expect(r.message).toMatch(/^invalid gzip body: /);
  });
});
