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
 * lifecycle reads the detail only of what it emits (and run ids until it has enough). A class
 * with getters on its prototype: an object literal with getters per observation was measured at
 * several µs each. Never spread one (`{...o}` drops the detail): use reviseObservation.
 */
class LazyObservation implements Observation {
  readonly kind: Observation['kind'];
  readonly subject: Subject;
  readonly severity: Severity;
  readonly category: Category;
  readonly keyMetric: number;
  readonly time: number;
  readonly figures?: Observation['figures'];
  private d: (Omit<ObservationDetail, 'runIds'> & { readonly runIds?: readonly string[] }) | undefined;
  private r: readonly string[] | undefined;

  constructor(
    head: ObservationHead,
    private readonly detail: () => Omit<ObservationDetail, 'runIds'> & { readonly runIds?: readonly string[] },
    private readonly runIdsOf: (() => readonly string[]) | undefined,
  ) {
    this.kind = head.kind;
    this.subject = head.subject;
    this.severity = head.severity;
    this.category = head.category;
    this.keyMetric = head.keyMetric;
    this.time = head.time;
    if (head.figures !== undefined) this.figures = head.figures;
  }

  private get built() {
    return (this.d ??= this.detail());
  }
  get title(): string {
    return this.built.title;
  }
  get description(): string {
    return this.built.description;
  }
  get evidence(): Evidence {
    return this.built.evidence;
  }
  get runIds(): readonly string[] {
    return (this.r ??= this.runIdsOf ? this.runIdsOf() : (this.built.runIds ?? []));
  }
}

export function lazyObservation(head: ObservationHead, detail: () => ObservationDetail): Observation;
/** … with run ids from their own, cheaper thunk (the lifecycle reads them more often than the rest). */
export function lazyObservation(head: ObservationHead, detail: () => Omit<ObservationDetail, 'runIds'>, runIds: () => readonly string[]): Observation;
export function lazyObservation(head: ObservationHead, detail: () => Omit<ObservationDetail, 'runIds'> & { readonly runIds?: readonly string[] }, runIds?: () => readonly string[]): Observation {
  return new LazyObservation(head, detail, runIds);
}

/** `o` with some head fields replaced (and its impact computed when read), its detail shared and still lazy. */
class RevisedObservation implements Observation {
  readonly kind: Observation['kind'];
  readonly subject: Subject;
  readonly severity: Severity;
  readonly category: Category;
  readonly keyMetric: number;
  readonly time: number;
  readonly figures?: Observation['figures'];
  private i: Impact | undefined;

  constructor(
    private readonly inner: Observation,
    head: Partial<ObservationHead>,
    private readonly impactOf: (() => Impact) | undefined,
  ) {
    this.kind = head.kind ?? inner.kind;
    this.subject = head.subject ?? inner.subject;
    this.severity = head.severity ?? inner.severity;
    this.category = head.category ?? inner.category;
    this.keyMetric = head.keyMetric ?? inner.keyMetric;
    this.time = head.time ?? inner.time;
    const figures = head.figures ?? inner.figures;
    if (figures !== undefined) this.figures = figures;
  }

  get title(): string {
    return this.inner.title;
  }
  get description(): string {
    return this.inner.description;
  }
  get evidence(): Evidence {
    return this.inner.evidence;
  }
  get runIds(): readonly string[] {
    return this.inner.runIds;
  }
  get impact(): Impact | undefined {
    if (this.impactOf === undefined) return this.inner.impact;
    return (this.i ??= this.impactOf());
  }
}

export function reviseObservation(o: Observation, head: Partial<ObservationHead>, impact?: () => Impact): Observation {
  return new RevisedObservation(o, head, impact);
}
