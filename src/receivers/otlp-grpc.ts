/**
 * OTLP/gRPC trace receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export.
 * Messages stay raw bytes through grpc-js and are decoded by src/decode, so an undecodable
 * message is answered INVALID_ARGUMENT (a throwing deserializer would give INTERNAL).
 */
import * as grpc from '@grpc/grpc-js';

// grpc-js writes its own lines to stderr (e.g. on a busy port); Sidelight reports those errors itself, once.
grpc.setLogVerbosity(grpc.logVerbosity.NONE);
import type { AttributeMapping } from '../model/derive.js';
import type { SpanSink } from '../component/contracts.js';
import type { Logger } from '../telemetry/logger.js';
import { DecodeError, decodeTraceRequest, encodeExportResponse, encodeStatus } from '../decode/index.js';
import { TRACE_SERVICE_EXPORT_PATH } from '../decode/otlp-descriptor.js';
import { parseListenAddress } from '../telemetry/http-endpoints.js';
import type { ReceiverMetrics } from '../telemetry/receiver-metrics.js';
import type { BearerTokenCheck, TlsCredentials } from '../security/server-security.js';

export interface OtlpGrpcReceiverOptions {
  readonly endpoint: string;
  readonly maxRecvMsgSize: number;
  readonly mapping: AttributeMapping;
  readonly sink: SpanSink;
  readonly metrics: ReceiverMetrics;
  readonly logger: Logger;
  /** serve TLS with this certificate */
  readonly tls?: TlsCredentials;
  /** every call needs `authorization: Bearer <token>` metadata (UNAUTHENTICATED without it) */
  readonly auth?: BearerTokenCheck;
}

const passThrough = (b: Buffer): Buffer => b;

/** The TraceService definition with byte-level (de)serialization; decoding happens in the handler. */
export const traceServiceDefinition: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
  Export: {
    path: TRACE_SERVICE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: (response: Uint8Array) => Buffer.from(response.buffer, response.byteOffset, response.byteLength),
    responseDeserialize: passThrough,
    originalName: 'export',
  },
};

const SHUTDOWN_GRACE_MS = 5_000;

export class OtlpGrpcReceiver {
  private server: grpc.Server | undefined;

  constructor(private readonly opts: OtlpGrpcReceiverOptions) {}

  /** Binds; resolves to `grpc://host:port` (`grpcs://` with TLS) with the bound port. */
  start(): Promise<string> {
    const { host, port } = parseListenAddress(this.opts.endpoint);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.opts.maxRecvMsgSize,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
    });
    server.addService(traceServiceDefinition, { Export: (call: grpc.ServerUnaryCall<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => this.export(call, cb) });
    this.server = server;
    const bindHost = host.includes(':') ? `[${host}]` : host;
    const tls = this.opts.tls;
    const credentials = tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false) : grpc.ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => {
      server.bindAsync(`${bindHost}:${port}`, credentials, (err, boundPort) => {
        if (err) return reject(err);
        resolve(`${tls ? 'grpcs' : 'grpc'}://${bindHost}:${boundPort}`);
      });
    });
  }

  /** Stops accepting and waits for in-flight calls (forced after a grace period). */
  shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), SHUTDOWN_GRACE_MS);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private export(call: grpc.ServerUnaryCall<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>): void {
    const { metrics } = this.opts;
    const fail = (code: grpc.status, details: string, metadata?: grpc.Metadata): void => {
      metrics.requests.inc({ transport: 'grpc', path: TRACE_SERVICE_EXPORT_PATH, status: grpc.status[code] ?? String(code) });
      cb({ code, details, ...(metadata === undefined ? {} : { metadata }) });
    };
    try {
      if (this.opts.auth !== undefined && !this.opts.auth.accepts(call.metadata.get('authorization')[0])) {
        return fail(grpc.status.UNAUTHENTICATED, 'missing or invalid bearer token');
      }
      const body = call.request;
      // grpc-js hands over the (decompressed) message; its size is the closest to wire bytes we see
      metrics.bytesReceived.inc(body.length);
      let decoded;
      try {
        decoded = decodeTraceRequest(body, 'protobuf', this.opts.mapping);
      } catch (err) {
        if (err instanceof DecodeError) return fail(grpc.status.INVALID_ARGUMENT, err.message);
        throw err;
      }
      const { spans, rejectedSpans, errorMessage } = decoded;
      if (rejectedSpans > 0) metrics.spansRejected.inc(rejectedSpans);
      if (spans.length > 0) {
        if (!this.opts.sink.push(spans)) {
          metrics.spansRefused.inc(spans.length);
          // OTLP: a throttled answer carries RetryInfo in the status details
          const metadata = new grpc.Metadata();
          metadata.set('grpc-status-details-bin', Buffer.from(encodeStatus('protobuf', grpc.status.UNAVAILABLE, 'ingest queue is full; retry later', 1)));
          return fail(grpc.status.UNAVAILABLE, 'ingest queue is full; retry later', metadata);
        }
        metrics.spansReceived.inc(spans.length);
      }
      metrics.requests.inc({ transport: 'grpc', path: TRACE_SERVICE_EXPORT_PATH, status: 'OK' });
      cb(null, encodeExportResponse('protobuf', rejectedSpans > 0 ? { rejectedSpans, errorMessage: errorMessage ?? '' } : undefined));
    } catch (err) {
      this.opts.logger.error(`otlp grpc: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      fail(grpc.status.INTERNAL, 'internal error');
    }
  }
}
