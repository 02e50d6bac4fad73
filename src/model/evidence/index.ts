/**
 * The evidence model (docs/painpoints.md, Evidence metrics per kind): one zod schema per pain-point
 * kind for its `evidence.metrics`, from which the TypeScript types are inferred. Detectors build
 * their metrics through these types, readers (categorize, the problems stage, advice) read them
 * through these types, and test fixtures are built through them, so a field renamed on one side is
 * a type error on the other instead of a silently missing number.
 */
import type { z } from 'zod';
import type { PainPointKind } from '../painpoint.js';
import { errorClusterMetricsSchema, failureRateMetricsSchema, failureSpikeMetricsSchema, providerFallbackMetricsSchema } from './failures.js';
import { retryExhaustionMetricsSchema, retryNoBackoffMetricsSchema, retryNonRetryableMetricsSchema, retryStormMetricsSchema } from './retries.js';
import { latencyBottleneckMetricsSchema, latencyRegressionMetricsSchema, slowTailMetricsSchema } from './latency.js';
import { repeatedCallsMetricsSchema, sequentialFanoutMetricsSchema } from './structure.js';
import { anomalyMetricsSchema } from './anomaly.js';
import { agentLoopMetricsSchema, budgetExceededMetricsSchema, silentFailureMetricsSchema } from './agent.js';

export * from './common.js';
export * from './failures.js';
export * from './retries.js';
export * from './latency.js';
export * from './structure.js';
export * from './anomaly.js';
export * from './agent.js';

/** kind → the schema of its `evidence.metrics`; a kind without one is a type error here. */
export const EVIDENCE_METRICS_SCHEMAS = {
  failure_rate: failureRateMetricsSchema,
  failure_spike: failureSpikeMetricsSchema,
  error_cluster: errorClusterMetricsSchema,
  retry_storm: retryStormMetricsSchema,
  retry_exhaustion: retryExhaustionMetricsSchema,
  retry_non_retryable: retryNonRetryableMetricsSchema,
  retry_no_backoff: retryNoBackoffMetricsSchema,
  latency_regression: latencyRegressionMetricsSchema,
  latency_bottleneck: latencyBottleneckMetricsSchema,
  slow_tail: slowTailMetricsSchema,
  repeated_calls: repeatedCallsMetricsSchema,
  sequential_fanout: sequentialFanoutMetricsSchema,
  provider_fallback: providerFallbackMetricsSchema,
  anomaly: anomalyMetricsSchema,
  silent_failure: silentFailureMetricsSchema,
  agent_loop: agentLoopMetricsSchema,
  budget_exceeded: budgetExceededMetricsSchema,
} as const satisfies { readonly [K in PainPointKind]: z.ZodObject };

type Schemas = typeof EVIDENCE_METRICS_SCHEMAS;

/** The `evidence.metrics` a detector of kind K writes. */
export type EvidenceMetrics<K extends PainPointKind> = z.output<Schemas[K]>;

/** What a reader gets from a record it did not make: each field the kind names, when present and valid. */
export type EvidenceMetricsView<K extends PainPointKind> = Partial<EvidenceMetrics<K>>;

/** The schema of kind K's metrics. */
export function evidenceMetricsSchema<K extends PainPointKind>(kind: K): Schemas[K] {
  return EVIDENCE_METRICS_SCHEMAS[kind];
}

/** The field names kind K's metrics may have, in schema order. */
export function evidenceMetricNames(kind: PainPointKind): readonly string[] {
  return Object.keys(EVIDENCE_METRICS_SCHEMAS[kind].shape);
}

/** Validates `metrics` as kind K's: the typed metrics, or a ZodError naming each wrong field. */
export function parseEvidenceMetrics<K extends PainPointKind>(kind: K, metrics: unknown): EvidenceMetrics<K> {
  return EVIDENCE_METRICS_SCHEMAS[kind].parse(metrics) as EvidenceMetrics<K>;
}

/**
 * Reads kind K's metrics from a record that may come from elsewhere (a JSONL file of an older
 * version, a hand-made record): the whole object when it is valid, else each field the kind names
 * that is present and valid on its own. Fields the kind does not name are dropped. Never throws.
 */
export function readEvidenceMetrics<K extends PainPointKind>(kind: K, metrics: Readonly<Record<string, unknown>>): EvidenceMetricsView<K> {
  const schema = EVIDENCE_METRICS_SCHEMAS[kind];
  // read a few times per pain point: zod's compiled fast path (code generated on a schema's first
  // parse) costs a cold kc process more than it ever saves here
  const whole = schema.safeParse(metrics, { jitless: true });
  if (whole.success) return whole.data as EvidenceMetrics<K>;
  const shape = schema.shape as Readonly<Record<string, z.ZodType>>;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(shape)) {
    if (!Object.hasOwn(metrics, name)) continue;
    const one = field.safeParse(metrics[name]);
    if (one.success && one.data !== undefined) out[name] = one.data;
  }
  return out as EvidenceMetricsView<K>;
}

/** A pain point's metrics, read as its kind's (see readEvidenceMetrics). */
export function metricsOf<K extends PainPointKind>(pp: { readonly kind: K; readonly evidence: { readonly metrics: Readonly<Record<string, unknown>> } }): EvidenceMetricsView<K> {
  return readEvidenceMetrics(pp.kind, pp.evidence.metrics);
}
