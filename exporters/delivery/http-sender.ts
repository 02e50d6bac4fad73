/**
 * One HTTP POST with undici, classified for the delivery queue: 2xx delivered; 429, 502, 503, 504
 * and connection errors / timeouts retryable (with Retry-After on 429 / 503); any other status is
 * a permanent rejection. The request is never retried here: retries belong to the queue.
 */
import { request } from 'undici';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { parseRetryAfter } from './backoff.js';
import type { SendOutcome } from './delivery-queue.js';

const gzipAsync = promisify(gzip);

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRY_AFTER_STATUS = new Set([429, 503]);

/** Error codes of a connection that failed or timed out: the backend may come back. */
const RETRYABLE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export interface HttpPost {
  readonly url: string;
  readonly body: Uint8Array | string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** Posts; `inspect` may turn a 2xx answer into a failure (e.g. a malformed OTLP response is still delivered). */
export async function postWithClassification(
  post: HttpPost,
  signal: AbortSignal,
  now: () => number = Date.now,
  onSuccess?: (answer: HttpAnswer) => void,
): Promise<SendOutcome> {
  const headers: Record<string, string> = { ...post.headers };
  let body: Uint8Array | string = post.body;
  if (post.compression === 'gzip') {
    body = await gzipAsync(typeof body === 'string' ? Buffer.from(body) : body);
    headers['content-encoding'] = 'gzip';
  }
  const timeout = AbortSignal.timeout(Math.max(1, post.timeoutMs));
  try {
    const res = await request(post.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.any([signal, timeout]),
      headersTimeout: post.timeoutMs,
      bodyTimeout: post.timeoutMs,
    });
    const answer = Buffer.from(await res.body.arrayBuffer());
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      onSuccess?.({ status, body: answer });
      return { ok: true };
    }
    const reason = `HTTP ${status}${answer.length > 0 ? ': ' + answer.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ') : ''}`;
    if (!RETRYABLE_STATUS.has(status)) return { ok: false, retryable: false, reason };
    const retryAfterMs = RETRY_AFTER_STATUS.has(status) ? parseRetryAfter(res.headers['retry-after'], now()) : undefined;
    return retryAfterMs === undefined ? { ok: false, retryable: true, reason } : { ok: false, retryable: true, retryAfterMs, reason };
  } catch (err) {
    return classifyError(err, timeout.aborted);
  }
}

export function classifyError(err: unknown, timedOut: boolean): SendOutcome {
  if (timedOut) return { ok: false, retryable: true, reason: 'request timed out' };
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && RETRYABLE_ERROR_CODES.has(code)) return { ok: false, retryable: true, reason: `${code}: ${message}` };
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return { ok: false, retryable: true, reason: `aborted: ${message}` };
  }
  return { ok: false, retryable: false, reason: code !== undefined ? `${code}: ${message}` : message };
}

function errorCode(err: unknown): string | undefined {
  // undici wraps socket errors: the system code may sit on the error or on its cause
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code)) return code;
    // connection attempts to several addresses fail as one AggregateError
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) {
      for (const sub of inner) {
        const subCode = (sub as { code?: unknown } | null)?.code;
        if (typeof subCode === 'string' && RETRYABLE_ERROR_CODES.has(subCode)) return subCode;
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  const top = (err as { code?: unknown } | null)?.code;
  return typeof top === 'string' ? top : undefined;
}
