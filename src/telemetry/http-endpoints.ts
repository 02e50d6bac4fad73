/**
 * /healthz, /readyz and /metrics (docs/outputs.md): served on the OTLP/HTTP receiver's port, or on a
 * server of their own at service.telemetry.endpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Answers a request and returns true, or returns false (without touching res) for a path it does not serve. */
export type RequestRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface TelemetryEndpointOptions {
  readonly metrics: Registry;
  /** true once the pipeline accepts data (and until it starts draining) */
  readonly ready: () => boolean;
  /** the live page's routes (/ui…), served wherever /metrics is */
  readonly ui?: RequestRoute;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly: boolean): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(headOnly ? undefined : body);
}

/** Answers a telemetry request and returns true; returns false (without touching res) for any other path. */
export function handleTelemetryRequest(req: IncomingMessage, res: ServerResponse, opts: TelemetryEndpointOptions): boolean {
  if (opts.ui?.(req, res)) return true;
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
  const headOnly = req.method === 'HEAD';
  if (req.method !== 'GET' && !headOnly) {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    // the body (if any) is not needed; drain it so the connection can be reused
    req.resume();
    return true;
  }
  if (path === '/healthz') {
    send(res, 200, 'text/plain; charset=utf-8', 'ok\n', headOnly);
  } else if (path === '/readyz') {
    const ready = opts.ready();
    send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n', headOnly);
  } else {
    opts.metrics.metrics().then(
      (text) => send(res, 200, opts.metrics.contentType, text, headOnly),
      (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `metrics collection failed: ${String(err)}\n`, false),
    );
  }
  return true;
}

/** host and port of a Collector-style endpoint: `127.0.0.1:4318`, `localhost:0`, `[::1]:4317`, `:4318` (all interfaces). */
export function parseListenAddress(endpoint: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(endpoint.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535) throw new Error(`invalid endpoint ${JSON.stringify(endpoint)}: expected host:port, e.g. 127.0.0.1:4318`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** The URL host part of a bound address (IPv6 in brackets). */
export function formatHostPort(address: AddressInfo): string {
  return address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

export interface TelemetryServer {
  /** http://host:port with the real bound port */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a server answering only the telemetry paths (404 for the rest). */
export async function startTelemetryServer(endpoint: string, opts: TelemetryEndpointOptions): Promise<TelemetryServer> {
  const { host, port } = parseListenAddress(endpoint);
  const server: Server = createServer((req, res) => {
    if (!handleTelemetryRequest(req, res, opts)) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n', false);
      req.resume();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const url = `http://${formatHostPort(server.address() as AddressInfo)}`;
      resolve({
        url,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
