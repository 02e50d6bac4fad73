/**
 * Serving beyond loopback, as the Collector's `configtls` (server certificate) and
 * `bearertokenauth` (a shared token) do it: the settings every listening server takes, the token
 * check, and the start-up warnings for an exposed listener.
 *
 * Health probes (/healthz, /readyz) stay open without the token: they reveal nothing, and probes
 * (kubelet, load balancers) rarely carry credentials. Everything else on a server with a token
 * needs it: OTLP ingest, /metrics, /ui.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

export const tlsServerSchema = z.strictObject({
  /** PEM certificate (chain) the server presents */
  cert_file: z.string().min(1),
  /** PEM private key of that certificate */
  key_file: z.string().min(1),
});
export type TlsServerSettings = z.output<typeof tlsServerSchema>;

export const bearerAuthSchema = z.strictObject({
  /** clients send `Authorization: Bearer <token>` (gRPC: `authorization` metadata) */
  bearer_token: z
    // `${env:TOKEN}` reads back as a number when the variable is digits: a token is text either way
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().min(1, { message: 'must not be empty (is the environment variable it comes from set?)' })),
});
export type BearerAuthSettings = z.output<typeof bearerAuthSchema>;

/** The optional `tls` and `auth` keys, spread into a listener's config schema. */
export const serverSecurityShape = {
  tls: tlsServerSchema.optional(),
  auth: bearerAuthSchema.optional(),
};

export interface ServerSecurity {
  readonly tls?: TlsServerSettings | undefined;
  readonly auth?: BearerAuthSettings | undefined;
}

export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads the certificate and key; the error names the setting and the file. */
export function loadTlsCredentials(tls: TlsServerSettings): TlsCredentials {
  const read = (key: 'cert_file' | 'key_file'): Buffer => {
    try {
      return readFileSync(tls[key]);
    } catch (err) {
      throw new Error(`cannot read tls.${key} ${JSON.stringify(tls[key])}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { cert: read('cert_file'), key: read('key_file') };
}

export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Checks `Authorization: Bearer <token>` against the configured token in constant time. */
export class BearerTokenCheck {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /** `value`: the Authorization header (HTTP) or `authorization` metadata value (gRPC). */
  accepts(value: string | string[] | Buffer | undefined): boolean {
    const text = Array.isArray(value) ? value[0] : Buffer.isBuffer(value) ? value.toString('utf8') : value;
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(text ?? '');
    // digests of both sides: equal lengths for timingSafeEqual, and no early exit on the first differing byte
    return timingSafeEqual(sha256(match?.[1] ?? ''), this.digest) && match !== null;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** 127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, a LAN address, a host name) is exposed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Start-up warnings for a listener (empty on loopback, or with both a token and TLS). */
export function exposureWarnings(what: string, host: string, security: ServerSecurity): string[] {
  if (isLoopbackHost(host)) return [];
  const where = host === '0.0.0.0' || host === '::' ? 'every interface' : host;
  if (security.auth === undefined) {
    return [`${what} listens on ${where} without auth.bearer_token: anyone who can reach it can use it (set auth.bearer_token, and tls)`];
  }
  if (security.tls === undefined) return [`${what} listens on ${where} without tls: the bearer token crosses the network in clear text`];
  return [];
}
