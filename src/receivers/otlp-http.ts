/**
 * OTLP/HTTP trace receiver (OTLP spec, "OTLP/HTTP"): POST /v1/traces with protobuf or JSON,
 * optionally gzip/deflate; answers in the request's content type. Also serves /healthz, /readyz
 * and /metrics unless they have a server of their own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttributeMapping } from '../model/derive.js';
import type { SpanSink } from '../component/contracts.js';
import type { Logger } from '../telemetry/logger.js';
import { DecodeError, RpcCode, decodeTraceRequest, encodeExportResponse, encodeStatus, type OtlpFormat } from '../decode/index.js';
import { formatHostPort, handleTelemetryRequest, parseListenAddress, type TelemetryEndpointOptions } from '../telemetry/http-endpoints.js';
import type { ReceiverMetrics } from '../telemetry/receiver-metrics.js';
import { discardRestOfBody, parseContentEncoding, readRequestBody } from './request-body.js';

export const TRACES_PATH = '/v1/traces';

export interface OtlpHttpReceiverOptions {
  readonly endpoint: string;
  readonly maxRequestBodySize: number;
  readonly mapping: AttributeMapping;
  readonly sink: SpanSink;
  readonly metrics: ReceiverMetrics;
  readonly logger: Logger;
  /** export requests read at once (each may buffer up to maxRequestBodySize); more are answered 503 */
  readonly maxConcurrentRequests?: number;
  /** when set, /healthz, /readyz and /metrics (and the live page's /ui, when given) are answered on this port too */
  readonly telemetry?: TelemetryEndpointOptions;
}

const CONTENT_TYPE: Readonly<Record<OtlpFormat, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** The OTLP format of a Content-Type header (parameters such as charset ignored), or undefined. */
export function formatOfContentType(header: string | undefined): OtlpFormat | undefined {
  const media = (header ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

/** Bounds the memory of bodies being read: 64 × 8 MiB at most with the defaults. */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 64;

/** Grace period for in-flight requests on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

export class OtlpHttpReceiver {
  private server: Server | undefined;
  private inFlight = 0;

  constructor(private readonly opts: OtlpHttpReceiverOptions) {}

  /** export requests whose body is being read right now */
  get inFlightRequests(): number {
    return this.inFlight;
  }

  /** Listens; resolves to `http://host:port` with the bound port. */
  start(): Promise<string> {
    const { host, port } = parseListenAddress(this.opts.endpoint);
    const server = createServer((req, res) => this.handle(req, res));
    // slow or stuck clients must not hold sockets forever
    server.requestTimeout = 60_000;
    server.headersTimeout = 30_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.opts.logger.error(`otlp http server: ${err.message}`));
        resolve(`http://${formatHostPort(server.address() as AddressInfo)}`);
      });
    });
  }

  /** Stops accepting and waits for in-flight requests (cut after a grace period). */
  shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined || !server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      if (this.opts.telemetry !== undefined && handleTelemetryRequest(req, res, this.opts.telemetry)) return;
      this.handleOtlp(req, res).catch((err: unknown) => this.internalError(req, res, err));
    } catch (err) {
      this.internalError(req, res, err);
    }
  }

  private async handleOtlp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    const format = formatOfContentType(req.headers['content-type']);
    // answers about the request itself use its format when it has one, JSON otherwise
    const answerFormat: OtlpFormat = format ?? 'json';
    if (path !== TRACES_PATH) {
      return this.reject(req, res, 404, answerFormat, RpcCode.NOT_FOUND, `unknown path ${JSON.stringify(path?.slice(0, 100))}; OTLP traces go to ${TRACES_PATH}`, 'other');
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.reject(req, res, 405, answerFormat, RpcCode.UNIMPLEMENTED, `method ${req.method} not allowed on ${TRACES_PATH}; use POST`);
    }
    if (format === undefined) {
      return this.reject(
        req,
        res,
        415,
        'json',
        RpcCode.INVALID_ARGUMENT,
        `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`,
      );
    }
    const encoding = parseContentEncoding(req.headers['content-encoding']);
    if (encoding === undefined) {
      return this.reject(req, res, 415, format, RpcCode.INVALID_ARGUMENT, `unsupported content encoding ${JSON.stringify(req.headers['content-encoding'])}; use gzip, deflate or none`);
    }
    const limit = this.opts.maxRequestBodySize;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      return this.reject(req, res, 413, format, RpcCode.RESOURCE_EXHAUSTED, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
    }

    if (this.inFlight >= (this.opts.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS)) {
      res.setHeader('Retry-After', '1');
      return this.reject(req, res, 503, format, RpcCode.UNAVAILABLE, 'too many concurrent requests; retry later', TRACES_PATH, 1);
    }
    this.inFlight++;
    let result;
    try {
      result = await readRequestBody(req, limit, encoding);
    } finally {
      this.inFlight--;
    }
    this.opts.metrics.bytesReceived.inc(result.wireBytes);
    if (!result.ok) {
      switch (result.reason) {
        case 'aborted':
          this.count(499);
          return;
        case 'bad_encoding':
          return this.reject(req, res, 400, format, RpcCode.INVALID_ARGUMENT, result.message);
        default:
          return this.reject(req, res, 413, format, RpcCode.RESOURCE_EXHAUSTED, result.message);
      }
    }

    let decoded;
    try {
      decoded = decodeTraceRequest(result.body, format, this.opts.mapping);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      return this.reject(req, res, 400, format, RpcCode.INVALID_ARGUMENT, err.message);
    }
    const { spans, rejectedSpans, errorMessage } = decoded;
    if (rejectedSpans > 0) this.opts.metrics.spansRejected.inc(rejectedSpans);
    if (spans.length > 0) {
      if (!this.opts.sink.push(spans)) {
        this.opts.metrics.spansRefused.inc(spans.length);
        res.setHeader('Retry-After', '1');
        return this.reject(req, res, 503, format, RpcCode.UNAVAILABLE, 'ingest queue is full; retry later', TRACES_PATH, 1);
      }
      this.opts.metrics.spansReceived.inc(spans.length);
    }
    const body = encodeExportResponse(format, rejectedSpans > 0 ? { rejectedSpans, errorMessage: errorMessage ?? '' } : undefined);
    this.send(res, 200, format, body);
  }

  private reject(
    req: IncomingMessage,
    res: ServerResponse,
    httpStatus: number,
    format: OtlpFormat,
    rpcCode: number,
    message: string,
    path: string = TRACES_PATH,
    retryDelaySeconds?: number,
  ): void {
    if (!req.complete) {
      // answered before the body was read: drain it (bounded) and do not reuse the connection
      res.setHeader('Connection', 'close');
      discardRestOfBody(req);
    }
    this.send(res, httpStatus, format, encodeStatus(format, rpcCode, message, retryDelaySeconds), path);
  }

  private send(res: ServerResponse, status: number, format: OtlpFormat, body: Uint8Array, path: string = TRACES_PATH): void {
    this.count(status, path);
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': CONTENT_TYPE[format], 'Content-Length': body.byteLength });
    res.end(body);
  }

  private count(status: number, path: string = TRACES_PATH): void {
    this.opts.metrics.requests.inc({ transport: 'http', path, status: String(status) });
  }

  private internalError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.opts.logger.error(`otlp http: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    try {
      this.reject(req, res, 500, 'json', RpcCode.INTERNAL, 'internal error');
    } catch {
      res.destroy();
    }
  }
}
