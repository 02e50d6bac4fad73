/**
 * The `otlp` receiver (Collector style): OTLP/HTTP and OTLP/gRPC trace ingest.
 *
 * ```yaml
 * receivers:
 *   otlp:
 *     protocols:
 *       http: {endpoint: 127.0.0.1:4318, max_request_body_size: 8388608}
 *       grpc: {endpoint: 127.0.0.1:4317, max_recv_msg_size: 8388608}
 * ```
 * A protocol listed (even as `{}` or null) is enabled with its defaults; a receiver configured
 * without `protocols` enables both.
 */
import { z } from 'zod';
import type { ComponentContext, Receiver, ReceiverFactory, SpanSink } from '../component/contracts.js';
import { receiverMetrics } from '../telemetry/receiver-metrics.js';
import { parseListenAddress } from '../telemetry/http-endpoints.js';
import { OtlpHttpReceiver } from './otlp-http.js';
import { OtlpGrpcReceiver } from './otlp-grpc.js';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

const endpoint = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .refine(
      (value) => {
        try {
          parseListenAddress(value);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'expected host:port, e.g. 127.0.0.1:4318' },
    );

/** `null` (a bare `http:` line in YAML) means "enabled with defaults". */
const nullAsEmpty = (value: unknown): unknown => (value === null ? {} : value);

export const otlpHttpSchema = z.strictObject({
  endpoint: endpoint('127.0.0.1:4318'),
  /** limit on the body, on the wire and again after decompression → 413 */
  max_request_body_size: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
});

export const otlpGrpcSchema = z.strictObject({
  endpoint: endpoint('127.0.0.1:4317'),
  /** limit on one (decompressed) message → RESOURCE_EXHAUSTED */
  max_recv_msg_size: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
});

const protocolsSchema = z
  .strictObject({
    http: z.preprocess(nullAsEmpty, otlpHttpSchema).optional(),
    grpc: z.preprocess(nullAsEmpty, otlpGrpcSchema).optional(),
  })
  .refine((p) => p.http !== undefined || p.grpc !== undefined, { message: 'must specify at least one protocol (http or grpc)' });

export const otlpReceiverConfigSchema = z.preprocess(
  nullAsEmpty,
  z.strictObject({
    protocols: z.preprocess(nullAsEmpty, protocolsSchema).prefault({ http: {}, grpc: {} }),
  }),
);
export type OtlpReceiverConfig = z.output<typeof otlpReceiverConfigSchema>;

export interface OtlpReceiverOptions {
  /** /readyz answer; always ready by default */
  readonly ready?: () => boolean;
  /** serve /healthz, /readyz and /metrics on the OTLP/HTTP port (default: when no telemetry endpoint is set) */
  readonly serveTelemetry?: boolean;
}

/** Builds the receiver with explicit readiness and telemetry-serving choices (the pipeline builder's entry). */
export function createOtlpReceiver(config: OtlpReceiverConfig, ctx: ComponentContext, sink: SpanSink, opts: OtlpReceiverOptions = {}): Receiver {
  const metrics = receiverMetrics(ctx.metrics);
  const mapping = ctx.settings.attributes;
  const ready = opts.ready ?? (() => true);
  const serveTelemetry = opts.serveTelemetry ?? !ctx.settings.telemetry.endpoint;
  const { http, grpc } = config.protocols;
  const httpReceiver =
    http === undefined
      ? undefined
      : new OtlpHttpReceiver({
          endpoint: http.endpoint,
          maxRequestBodySize: http.max_request_body_size,
          mapping,
          sink,
          metrics,
          logger: ctx.logger,
          ...(serveTelemetry ? { telemetry: { metrics: ctx.metrics, ready, ...(ctx.ui ? { ui: ctx.ui } : {}) } } : {}),
        });
  const grpcReceiver =
    grpc === undefined
      ? undefined
      : new OtlpGrpcReceiver({ endpoint: grpc.endpoint, maxRecvMsgSize: grpc.max_recv_msg_size, mapping, sink, metrics, logger: ctx.logger });

  return {
    async start() {
      const endpoints: string[] = [];
      try {
        if (httpReceiver) endpoints.push(await httpReceiver.start());
        if (grpcReceiver) endpoints.push(await grpcReceiver.start());
      } catch (err) {
        // one protocol failed to bind: release the other before reporting
        await Promise.all([httpReceiver?.shutdown(), grpcReceiver?.shutdown()]);
        throw new Error(`receiver ${ctx.id}: cannot listen: ${(err as Error).message}`, { cause: err });
      }
      return endpoints;
    },
    async shutdown() {
      await Promise.all([httpReceiver?.shutdown(), grpcReceiver?.shutdown()]);
    },
  };
}

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  type: 'otlp',
  configSchema: otlpReceiverConfigSchema,
  create: (config, ctx, sink) => createOtlpReceiver(config, ctx, sink, ctx.ready ? { ready: ctx.ready } : {}),
};
