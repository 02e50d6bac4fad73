/**
 * The categorize processor (docs/painpoints.md; docs/outputs.md, Recommendations): sets each observation's category, computes its impact,
 * and applies severity rules on top of the detector's severity, in this order:
 *
 * 1. category: `categories[kind]` from config, else the default mapping (DEFAULT_CATEGORIES;
 *    `anomaly` is `cost` when its series is tokens, else `performance`).
 * 2. impact: affected runs / traces, wasted ms / tokens and a log-scaled score
 *    (src/recommendations/impact.ts documents the formula; weights in `impact_weights`).
 * 3. escalation (docs/painpoints.md: high = critical failures):
 *    (exhaustion on a critical path is a problem's severity: `service.problems.exhaustion_on_critical_path`)
 *    - `failure_rate` whose Wilson lower bound (evidence `wilson_lower`) ≥
 *      `escalation.failing_lower_bound` → high (an operation failing ≥ 50 %).
 * 4. de-escalation (docs/painpoints.md: few calls are noise; low = minor improvements):
 *    - failure_rate / failure_spike / latency_regression / slow_tail with evidence `calls` below
 *      `deescalation.min_samples` → at most low;
 *    - the `__overflow__` series (a mix of series nobody can act on) → low.
 * 5. `severity_overrides[kind]` replaces the result (an explicit operator choice wins).
 * 6. observations below `min_severity` are dropped (counted).
 *
 * A severity that differs from the previous observation of the same pain point becomes an
 * `updated` change in the lifecycle, which runs after this processor.
 */
import { defer, filter, map, type OperatorFunction } from 'rxjs';
import type { TaggedJudgement } from '../src/model/events.js';
import { Counter, Gauge } from '../src/telemetry/prom.js';
import { z } from 'zod';
import {
  PAIN_POINT_KINDS,
  SEVERITY_RANK,
  type Category,
  reviseObservation,
  type Observation,
  type PainPointKind,
  type Severity,
} from '../src/model/painpoint.js';
import { OVERFLOW_SUBJECT } from '../src/model/series.js';
import type { ProcessorFactory } from '../src/component/contracts.js';
import { computeImpact, DEFAULT_IMPACT_WEIGHTS } from '../src/recommendations/impact.js';
import { isTokenAnomaly } from '../src/model/evidence/index.js';
import { firstMetric } from '../src/recommendations/format.js';
import { perRegistry } from '../src/telemetry/per-registry.js';

const severitySchema = z.enum(['high', 'medium', 'low']);
const categorySchema = z.enum(['reliability', 'performance', 'cost', 'efficiency']);
const kindSchema = z.enum(PAIN_POINT_KINDS);

export const categorizeConfigSchema = z.strictObject({
  /** per-kind category replacing the default mapping */
  categories: z.partialRecord(kindSchema, categorySchema).default({}),
  /** per-kind severity replacing the computed one (applied after escalation rules) */
  severity_overrides: z.partialRecord(kindSchema, severitySchema).default({}),
  /** observations below this severity are dropped */
  min_severity: severitySchema.default('low'),
  impact_weights: z
    .strictObject({
      runs: z.number().nonnegative().default(DEFAULT_IMPACT_WEIGHTS.runs),
      traces: z.number().nonnegative().default(DEFAULT_IMPACT_WEIGHTS.traces),
      wasted_seconds: z.number().nonnegative().default(DEFAULT_IMPACT_WEIGHTS.wasted_seconds),
      wasted_ktokens: z.number().nonnegative().default(DEFAULT_IMPACT_WEIGHTS.wasted_ktokens),
      wasted_cents: z.number().nonnegative().default(DEFAULT_IMPACT_WEIGHTS.wasted_cents),
    })
    .prefault({}),
  escalation: z
    .strictObject({
      /** failure_rate with Wilson lower bound at or above this → high; 1.01 disables */
      failing_lower_bound: z.number().min(0).max(1.01).default(0.5),
    })
    .prefault({}),
  deescalation: z
    .strictObject({
      /** evidence `calls` below this caps severity at low (docs/painpoints.md min_samples); 0 disables */
      min_samples: z.number().int().nonnegative().default(20),
      /** pain points on the __overflow__ series are low */
      overflow_is_low: z.boolean().default(true),
    })
    .prefault({}),
  /** operations remembered as latency bottlenecks; the oldest is forgotten beyond this (counted) */
  max_tracked_operations: z.number().int().positive().default(5_000),
});
export type CategorizeConfig = z.output<typeof categorizeConfigSchema>;

/** docs/painpoints.md category per kind; anomaly is decided per observation (tokens → cost). */
export const DEFAULT_CATEGORIES: Readonly<Record<Exclude<PainPointKind, 'anomaly'>, Category>> = {
  failure_rate: 'reliability',
  failure_spike: 'reliability',
  error_cluster: 'reliability',
  retry_storm: 'reliability',
  retry_exhaustion: 'reliability',
  retry_non_retryable: 'reliability',
  retry_no_backoff: 'reliability',
  provider_fallback: 'reliability',
  latency_regression: 'performance',
  latency_bottleneck: 'performance',
  slow_tail: 'performance',
  sequential_fanout: 'performance',
  repeated_calls: 'efficiency',
  silent_failure: 'reliability',
  agent_loop: 'reliability',
  budget_exceeded: 'cost',
};

export function defaultCategory(o: Pick<Observation, 'kind' | 'evidence' | 'title'>): Category {
  if (o.kind === 'anomaly') return isTokenAnomaly(o) ? 'cost' : 'performance';
  return DEFAULT_CATEGORIES[o.kind];
}

/** Kinds judged on the rate or percentiles of an operation's calls, where few calls are noise (min_samples). */
const RATE_KINDS: ReadonlySet<PainPointKind> = new Set(['failure_rate', 'failure_spike', 'latency_regression', 'slow_tail', 'silent_failure']);

interface CategorizeMetrics {
  readonly dropped: Counter<'processor'>;
  readonly severityChanged: Counter<'processor' | 'rule'>;
  readonly trackedEvictions: Counter<'processor'>;
  readonly tracked: Gauge<'processor'>;
}

const categorizeMetrics = perRegistry((registry): CategorizeMetrics => ({
  dropped: new Counter({
    name: 'sidelight_categorize_dropped_total',
    help: 'Observations dropped because their severity is below min_severity',
    labelNames: ['processor'],
    registers: [registry],
  }),
  severityChanged: new Counter({
    name: 'sidelight_categorize_severity_changed_total',
    help: "Observations whose severity a categorize rule changed from the detector's",
    labelNames: ['processor', 'rule'],
    registers: [registry],
  }),
  trackedEvictions: new Counter({
    name: 'sidelight_categorize_tracked_evictions_total',
    help: 'Critical-path operations forgotten because max_tracked_operations was reached',
    labelNames: ['processor'],
    registers: [registry],
  }),
  tracked: new Gauge({
    name: 'sidelight_categorize_tracked_operations',
    help: 'Operations remembered as latency bottlenecks',
    labelNames: ['processor'],
    registers: [registry],
  }),
}));


const isOverflow = (o: Observation): boolean =>
  o.subject.service === OVERFLOW_SUBJECT.service || o.subject.operation === OVERFLOW_SUBJECT.operation;

export interface CategorizeHooks {
  onDropped?(): void;
  onSeverityChanged?(rule: string): void;
  onTrackedEvicted?(): void;
  onTrackedSize?(size: number): void;
}

/**
 * The rules of one subscription, each a function of one observation (detectors judge only what
 * changed, so a rule that read other observations would see stale ones). `categorize` returns
 * undefined for a dropped observation.
 */
export class Categorizer {
  constructor(
    private readonly config: CategorizeConfig,
    private readonly hooks: CategorizeHooks = {},
  ) {}

  categorize(o: Observation): Observation | undefined {
    const config = this.config;

    const category = config.categories[o.kind] ?? defaultCategory(o);

    let severity: Severity = o.severity;

    if (o.kind === 'failure_rate') {
      // A confidence bound, never the raw ratio: 1 failure out of 2 calls is not a critical failure.
      const bound = o.figures !== undefined ? o.figures.wilson_lower : firstMetric(o.evidence, 'wilson_lower');
      if (bound !== undefined && bound >= config.escalation.failing_lower_bound) severity = this.apply(severity, 'failing_lower_bound', 'high');
    }
    if (RATE_KINDS.has(o.kind)) {
      // read only for the kinds it caps: reading the evidence builds a lazy observation's detail
      const calls = o.figures !== undefined ? o.figures.calls : firstMetric(o.evidence, 'calls');
      if (calls !== undefined && calls < config.deescalation.min_samples && SEVERITY_RANK[severity] > SEVERITY_RANK.low) severity = this.apply(severity, 'min_samples', 'low');
    }
    if (config.deescalation.overflow_is_low && isOverflow(o)) severity = this.apply(severity, 'overflow_series', 'low');

    const override = config.severity_overrides[o.kind];
    if (override !== undefined) severity = this.apply(severity, 'severity_override', override);

    if (SEVERITY_RANK[severity] < SEVERITY_RANK[config.min_severity]) {
      this.hooks.onDropped?.();
      return undefined;
    }
    // impact is read from the evidence, so it is computed when a record is written
    return reviseObservation(o, { category, severity }, () => computeImpact(o.evidence, o.runIds, config.impact_weights));
  }

  /** `next`, counting a rule that changed the severity (a method, not a closure per observation: profiled) */
  private apply(severity: Severity, rule: string, next: Severity): Severity {
    if (next !== severity) this.hooks.onSeverityChanged?.(rule);
    return next;
  }
}

/**
 * The operator over judgements: clears pass; an observation dropped below min_severity is not
 * observed, so a standing one becomes a clear of its source.
 */
export function categorize(config: CategorizeConfig, hooks: CategorizeHooks = {}): OperatorFunction<TaggedJudgement, TaggedJudgement> {
  return (source) =>
    defer(() => {
      const categorizer = new Categorizer(config, hooks);
      return source.pipe(
        map((j): TaggedJudgement | undefined => {
          if (j.type === 'clear') return j;
          const o = categorizer.categorize(j.observation);
          // the judgement's fields written out: a spread per judgement was most of this stage's self time (profiled)
          if (o !== undefined) return j.standing === undefined ? { type: 'observation', observation: o, detector: j.detector } : { type: 'observation', observation: o, standing: j.standing, detector: j.detector };
          const standing = j.standing;
          return standing ? { type: 'clear', kind: j.observation.kind, subject: j.observation.subject, time: j.observation.time, source: standing.source, detector: j.detector } : undefined;
        }),
        filter((j): j is TaggedJudgement => j !== undefined),
      );
    });
}

export const categorizeProcessorFactory: ProcessorFactory<CategorizeConfig> = {
  type: 'categorize',
  stage: 'categorize',
  configSchema: categorizeConfigSchema,
  create(config, ctx) {
    const metrics = categorizeMetrics(ctx.metrics);
    const processor = ctx.id;
    return categorize(config, {
      onDropped: () => metrics.dropped.inc({ processor }),
      onSeverityChanged: (rule) => metrics.severityChanged.inc({ processor, rule }),
      onTrackedEvicted: () => metrics.trackedEvictions.inc({ processor }),
      onTrackedSize: (size) => metrics.tracked.set({ processor }, size),
    });
  },
};
