/**
 * Component contracts, Collector style: each receiver, processor and exporter module exports a
 * factory with its `type`, a zod `configSchema` (defaults included) and `create(config, ctx)`.
 * They sit below every component, so components import them downwards; src/pipeline/components.ts
 * lists the factories and src/pipeline/service.ts wires them from the validated config.
 */
import type { z } from 'zod';
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { Registry } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { Judgement, JudgeMode, PainPointChange, PipelineEvent, TaggedJudgement, TraceStreamEvent } from '../model/events.js';
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
  /** processors: the pipeline this instance runs in (each pipeline creates its own processors) */
  readonly pipeline?: string;
  /** the service's readiness, for /readyz (live only) */
  readonly ready?: () => boolean;
  /**
   * `changed` (default): detectors judge a series only when what it reads changed; `every`: at
   * every boundary, the reference the tests hold `changed` to (docs/engine.md)
   */
  readonly judging?: JudgeMode;
  /** receivers: the live page's routes, served beside /metrics (live only, when service.ui is enabled) */
  readonly ui?: RequestRoute;
  /**
   * operation_metrics: where it reports each closed boundary's figures, the live page's charts
   * (live only, set in one pipeline's context)
   */
  readonly operationFigures?: OperationFiguresFeed;
}

/** One operation's figures on each fine window at one closed boundary, as operation_metrics exports them. */
export interface OperationFigures {
  /** the operation key text (`__overflow__` for the overflow series) */
  readonly key: string;
  readonly service: string;
  readonly operation: string;
  /** one entry per fine window, shortest first */
  readonly windows: readonly {
    readonly window: string;
    readonly calls: number;
    readonly failures: number;
    readonly retriesPerMinute: number;
    /** p95 of successful calls, ms; null without successful calls */
    readonly p95Ms: number | null;
  }[];
}

/**
 * A listener for per-boundary operation figures. The watermark closes many boundaries at once
 * after a quiet spell or in a replay; only the last `keep` of them are computed and recorded, so
 * the cost is bounded by what the listener keeps, not by how far event time jumped.
 */
export interface OperationFiguresFeed {
  /** how many of the latest boundaries the listener keeps (its history length) */
  readonly keep: number;
  /** called once per closed pane boundary, in time order; never for the same boundary twice */
  record(boundary: number, operations: readonly OperationFigures[]): void;
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

/** A detector judges spans (with the clock events) or assembled traces and emits judgements. */
export type Detector =
  | { readonly input: 'spans'; readonly operator: OperatorFunction<PipelineEvent, Judgement> }
  | { readonly input: 'traces'; readonly operator: OperatorFunction<TraceStreamEvent, Judgement> };

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
      create(config: C, ctx: ComponentContext): OperatorFunction<TaggedJudgement, TaggedJudgement>;
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

/** Every component type Sidelight knows, by type name (src/pipeline/components.ts fills it). */
export interface ComponentRegistry {
  readonly receivers: ReadonlyMap<string, ReceiverFactory<unknown>>;
  readonly processors: ReadonlyMap<string, ProcessorFactory<unknown>>;
  readonly exporters: ReadonlyMap<string, ExporterFactory<unknown>>;
}
