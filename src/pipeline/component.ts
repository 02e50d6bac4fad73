/**
 * Component contracts, Collector style: each receiver, processor and exporter module exports a
 * factory with its `type`, a zod `configSchema` (defaults included) and `create(config, ctx)`.
 * src/pipeline/components.ts lists the factories; src/pipeline/build.ts wires them from config.
 */
import type { z } from 'zod';
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { Registry } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { Observation } from '../model/painpoint.js';
import type { PainPointChange, PipelineEvent, TraceStreamEvent } from '../model/events.js';
import type { ServiceSettings } from '../config/service-schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { RequestRoute } from '../telemetry/http-endpoints.js';

export interface ComponentContext {
  /** time source for every timer and for the idle watermark; a TestScheduler in tests */
  readonly scheduler: SchedulerLike;
  /** Prometheus registry of this Sidelight instance (never the global one) */
  readonly metrics: Registry;
  readonly logger: Logger;
  readonly settings: ServiceSettings;
  /** live sidecar, or offline (analyze / library): offline detectors also judge the whole input */
  readonly mode: 'live' | 'offline';
  /** component id from the config (`jsonl`, `jsonl/debug`, …), for metric labels and log lines */
  readonly id: string;
  /** the service's readiness, for /readyz (live only) */
  readonly ready?: () => boolean;
  /** the live page's routes, served beside /metrics (live only, when service.ui is enabled) */
  readonly ui?: RequestRoute;
}

/** Where receivers put decoded spans. Returns false when the queue is full (answer 503 / UNAVAILABLE). */
export interface SpanSink {
  push(spans: readonly SpanRecord[]): boolean;
}

export interface Receiver {
  /** starts listening; resolves to human-readable endpoints for the start-up line */
  start(): Promise<string[]>;
  /** stops accepting and waits for in-flight requests */
  shutdown(): Promise<void>;
}

export interface ReceiverFactory<C = unknown> {
  readonly type: string;
  readonly configSchema: z.ZodType<C>;
  create(config: C, ctx: ComponentContext, sink: SpanSink): Receiver;
}

/** A detector judges spans (with the clock events) or assembled traces and emits observations. */
export type Detector =
  | { readonly input: 'spans'; readonly operator: OperatorFunction<PipelineEvent, Observation> }
  | { readonly input: 'traces'; readonly operator: OperatorFunction<TraceStreamEvent, Observation> };

export type ProcessorFactory<C = unknown> =
  | {
      readonly type: string;
      readonly stage: 'detector';
      readonly configSchema: z.ZodType<C>;
      /** one processor may contribute several detectors (e.g. latency: spans and traces) */
      create(config: C, ctx: ComponentContext): Detector[];
    }
  | {
      readonly type: string;
      readonly stage: 'categorize';
      readonly configSchema: z.ZodType<C>;
      create(config: C, ctx: ComponentContext): OperatorFunction<Observation, Observation>;
    }
  | {
      readonly type: string;
      readonly stage: 'recommend';
      readonly configSchema: z.ZodType<C>;
      create(config: C, ctx: ComponentContext): OperatorFunction<PainPointChange, PainPointChange>;
    };

export interface Exporter {
  /** never blocks and never throws: queue or drop (counted) */
  export(change: PainPointChange): void;
  /** flushes what is queued (bounded by the exporter's timeout) and releases resources */
  shutdown(): Promise<void>;
}

export interface ExporterFactory<C = unknown> {
  readonly type: string;
  readonly configSchema: z.ZodType<C>;
  create(config: C, ctx: ComponentContext): Exporter;
}
