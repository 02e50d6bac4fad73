/**
 * Reads an HTTP request body with a size limit enforced twice: on the wire, and after
 * decompression while inflating, so a gzip bomb never inflates past the limit in memory.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';

export type ContentEncoding = 'identity' | 'gzip' | 'deflate';

/** The Content-Encoding header as one supported encoding, or undefined when it is not supported. */
export function parseContentEncoding(header: string | undefined): ContentEncoding | undefined {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return undefined;
}

export type BodyResult =
  | { readonly ok: true; readonly body: Buffer; readonly wireBytes: number }
  | {
      readonly ok: false;
      readonly reason: 'too_large' | 'too_large_inflated' | 'bad_encoding' | 'aborted';
      readonly message: string;
      readonly wireBytes: number;
      /** bytes inflated before reading stopped (the gzip-bomb guard's evidence) */
      readonly inflatedBytes: number;
    };

/**
 * Collects the body of `req`, decompressing as it arrives. Stops at the first byte past `limit`
 * (wire or inflated); the caller answers and then drains or closes the connection.
 */
export function readRequestBody(req: IncomingMessage, limit: number, encoding: ContentEncoding): Promise<BodyResult> {
  return new Promise<BodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let inflatedBytes = 0;
    let settled = false;
    const inflater: Gunzip | Inflate | undefined =
      encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : undefined;

    const cleanup = (): void => {
      req.off('data', onWire);
      req.off('end', onWireEnd);
      req.off('error', onAborted);
      req.off('aborted', onAborted);
      if (inflater !== undefined) {
        inflater.off('data', onInflated);
        inflater.off('end', onInflatedEnd);
        // destroying stops zlib from producing further output chunks
        inflater.destroy();
      }
    };
    const fail = (reason: 'too_large' | 'too_large_inflated' | 'bad_encoding' | 'aborted', message: string): void => {
      if (settled) return;
      settled = true;
      cleanup();
      chunks.length = 0;
      resolve({ ok: false, reason, message, wireBytes, inflatedBytes });
    };
    const succeed = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), wireBytes });
    };

    function onWire(chunk: Buffer): void {
      wireBytes += chunk.length;
      if (wireBytes > limit) return fail('too_large', `request body exceeds the limit of ${limit} bytes`);
      if (inflater === undefined) {
        chunks.push(chunk);
      } else if (!inflater.write(chunk)) {
        // backpressure: stop reading the socket until zlib has caught up
        req.pause();
        inflater.once('drain', () => {
          if (!settled) req.resume();
        });
      }
    }
    function onWireEnd(): void {
      if (inflater === undefined) succeed();
      else inflater.end();
    }
    function onInflated(chunk: Buffer): void {
      inflatedBytes += chunk.length;
      if (inflatedBytes > limit) {
        return fail('too_large_inflated', `request body exceeds the limit of ${limit} bytes after ${encoding} decompression`);
      }
      chunks.push(chunk);
    }
    function onInflatedEnd(): void {
      succeed();
    }
    function onAborted(): void {
      fail('aborted', 'client closed the connection');
    }

    req.on('data', onWire);
    req.on('end', onWireEnd);
    req.on('error', onAborted);
    req.on('aborted', onAborted);
    if (inflater !== undefined) {
      inflater.on('data', onInflated);
      inflater.on('end', onInflatedEnd);
      inflater.on('error', (err: Error) => fail('bad_encoding', `invalid ${encoding} body: ${err.message}`));
    }
  });
}

/** Bytes of an unread body we still drain after an early answer before closing the connection instead. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * After answering early (413, 415, …), reads and discards the rest of the body so the client gets
 * the answer instead of a reset; a client that keeps sending past MAX_DRAIN_BYTES is cut off.
 */
export function discardRestOfBody(req: IncomingMessage): void {
  if (req.complete) return;
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
