/** Pain points and detector observations (docs/painpoints.md). JSON field names are snake_case, as the record has them. */

export const PAIN_POINT_KINDS = [
  'failure_rate',
  'failure_spike',
  'error_cluster',
  'retry_storm',
  'retry_exhaustion',
  'retry_non_retryable',
  'retry_no_backoff',
  'latency_regression',
  'latency_bottleneck',
  'slow_tail',
  'repeated_calls',
  'sequential_fanout',
  'provider_fallback',
  'anomaly',
  'silent_failure',
  'agent_loop',
  'budget_exceeded',
] as const;
export type PainPointKind = (typeof PAIN_POINT_KINDS)[number];

export type Severity = 'high' | 'medium' | 'low';
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { high: 3, medium: 2, low: 1 };

export type Category = 'reliability' | 'performance' | 'cost' | 'efficiency';
export type PainPointState = 'open' | 'updated' | 'resolved';

/**
 * Names a series with plain fields (docs/input.md): service, operation (span name), and the
 * group-by value as provider / model / tool / agent / task_type, plus error_class where
 * the problem is one class of error.
 */
export interface Subject {
  readonly service: string;
  readonly operation?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly tool?: string;
  readonly agent?: string;
  readonly task_type?: string;
  readonly error_class?: string;
  /** the agent's version, next to its agent (the agent_version dimension) */
  readonly agent_version?: string;
  /** the end user (per-user budgets) */
  readonly user?: string;
}

/** Figures of the evidence: numbers, or small breakdown tables of numbers by label. */
export type EvidenceValue = number | string | boolean | null | Readonly<Record<string, number>> | readonly number[];

export interface Evidence {
  /** window the judgement was made on: '1m', '5m', … or 'all' (whole input, offline) */
  readonly window: string;
  readonly metrics: Readonly<Record<string, EvidenceValue>>;
  /** up to 5 trace ids (32 hex) of real traces showing the problem */
  readonly exemplar_trace_ids: readonly string[];
  /** optional span ids matching exemplar_trace_ids position by position (for span links) */
  readonly exemplar_span_ids?: readonly string[];
}

/** What a detector emits each time it judges a series and the condition holds. */
export interface Observation {
  readonly kind: PainPointKind;
  readonly subject: Subject;
  readonly severity: Severity;
  readonly category: Category;
  readonly title: string;
  readonly description: string;
  readonly evidence: Evidence;
  /** the metric whose relative move by more than update_delta makes an `updated` change */
  readonly keyMetric: number;
  /** event time (epoch ms) of the window end the judgement was made at */
  readonly time: number;
  readonly runIds: readonly string[];
  /** filled by the categorize processor (docs/outputs.md, Recommendations impact): affected runs/traces, wasted time and tokens */
  readonly impact?: Impact;
  /** figures severity rules read without building the evidence: calls judged, Wilson lower bound */
  readonly figures?: { readonly calls?: number; readonly wilson_lower?: number };
}

export interface Impact {
  readonly score: number;
  readonly affected_runs: number;
  readonly affected_traces: number;
  readonly wasted_ms: number;
  readonly wasted_tokens: number;
  /** USD spent on the waste (failed calls, retries, loop calls, cut-off answers), where cost is known */
  readonly wasted_cost_usd?: number;
}

/** The pain-point record of docs/painpoints.md: the JSONL line format. */
export interface PainPointRecord {
  readonly id: string;
  readonly kind: PainPointKind;
  readonly severity: Severity;
  readonly category: Category;
  readonly state: PainPointState;
  readonly subject: Subject;
  readonly title: string;
  readonly description: string;
  readonly evidence: Evidence;
  readonly impact?: Impact;
  /** ISO-8601 event times */
  readonly first_seen: string;
  readonly last_seen: string;
  readonly run_ids: readonly string[];
}

/** The parts of an observation only read when a pain-point record is written. */
export interface ObservationDetail {
  readonly title: string;
  readonly description: string;
  readonly evidence: Evidence;
  readonly runIds: readonly string[];
}

/** The parts every judgement needs: what, on what, how bad, the figure the lifecycle tracks. */
export type ObservationHead = Omit<Observation, keyof ObservationDetail>;

/**
 * An observation whose text and evidence are built when first read. A firing series is judged
 * again whenever what it reads changes, but only the observations behind an emitted change are
 * ever written, so building the detail of the others is waste: detectors describe lazily, and the
 * lifecycle reads the detail only of what it emits (and run ids until it has enough).
 */
export function lazyObservation(head: ObservationHead, detail: () => ObservationDetail): Observation;
/** … with run ids from their own, cheaper thunk (the lifecycle reads them more often than the rest). */
export function lazyObservation(head: ObservationHead, detail: () => Omit<ObservationDetail, 'runIds'>, runIds: () => readonly string[]): Observation;
export function lazyObservation(head: ObservationHead, detail: () => Omit<ObservationDetail, 'runIds'> & { readonly runIds?: readonly string[] }, runIds?: () => readonly string[]): Observation {
  let d: (Omit<ObservationDetail, 'runIds'> & { readonly runIds?: readonly string[] }) | undefined;
  let r: readonly string[] | undefined;
  const get = () => (d ??= detail());
  return {
    ...head,
    get title() {
      return get().title;
    },
    get description() {
      return get().description;
    },
    get evidence() {
      return get().evidence;
    },
    get runIds() {
      return (r ??= runIds ? runIds() : (get().runIds ?? []));
    },
  };
}

/** `o` with some head fields replaced (and impact computed when read), its detail still lazy. */
export function reviseObservation(o: Observation, head: Partial<ObservationHead>, impact?: () => Impact): Observation {
  let i: Impact | undefined;
  const revised = {
    kind: o.kind,
    subject: o.subject,
    severity: o.severity,
    category: o.category,
    keyMetric: o.keyMetric,
    time: o.time,
    ...(o.figures !== undefined ? { figures: o.figures } : {}),
    ...head,
    get title() {
      return o.title;
    },
    get description() {
      return o.description;
    },
    get evidence() {
      return o.evidence;
    },
    get runIds() {
      return o.runIds;
    },
  };
  if (impact === undefined) return o.impact === undefined ? revised : Object.defineProperty(revised, 'impact', { get: () => o.impact, enumerable: true });
  return Object.defineProperty(revised, 'impact', { get: () => (i ??= impact()), enumerable: true }) as Observation;
}
