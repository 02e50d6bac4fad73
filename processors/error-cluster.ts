/**
 * error_cluster (docs/painpoints.md): many failures share one error class and normalized message template
 * across operations. A series here is (error class, message template) over failed spans; it fires
 * on the shortest window where it holds ≥ min_failures failures on ≥ min_operations operation keys
 * or ≥ min_services services: low; medium when it is ≥ medium_share of all failures in that window
 * and its failures are ≥ medium_call_share of the calls of the operations it spans (its impact:
 * a class that is most of few failures among many calls is not medium), each held by its band
 * once medium. Calls are counted per operation key in a window set of their own.
 *
 * The message is the span's status message, else its first exception event's `exception.message`.
 * Failed spans with neither an error class nor a message, or whose error was not recorded (their
 * message is a placeholder: `sidelight.error_unrecorded`), share nothing to cluster on: they count
 * only in the total failures the share is taken of. The subject is {service, error_class}, service
 * being the only service or '*' across several; when two templates of one class map to the same
 * subject at a boundary, the one with more failures is reported (one pain point per subject).
 */
import { defer, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { isErrorUnrecorded, type SpanRecord } from '../src/model/span.js';
import { lazyObservation, type Observation, type Severity, type Subject } from '../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../src/model/events.js';
import { eachEvent, judgeTogether, NOT_HELD, oneShot, reaches, type GroupStanding, type JudgeMode } from '../src/windows/judging.js';
import type { ComponentContext, ProcessorFactory } from '../src/component/contracts.js';
import { OVERFLOW_SUBJECT, subjectKey } from '../src/model/series.js';
import { messageTemplate } from '../src/model/error-class.js';
import { SeriesWindows, type PaneAggregator, type SeriesView, type WindowSummary } from '../src/windows/series-windows.js';
import { ALL_WINDOW, type WindowSpec } from '../src/windows/window-spec.js';
import { formatDuration, formatPercent, OVERFLOW_LABEL, windowPhrase } from '../src/model/evidence-format.js';
import type { ErrorClusterMetrics } from '../src/model/evidence/index.js';
import { priceTableFor } from '../src/model/cost.js';
import { AffectedSet, ExemplarList, LabelCounts, spanDuration, spanTokens } from './failure-evidence.js';

export const errorClusterConfigSchema = z.strictObject({
  /** failures of one class + template needed in the window */
  min_failures: z.number().int().positive().default(10),
  /** … on at least this many operation keys */
  min_operations: z.number().int().positive().default(3),
  /** … or in at least this many services */
  min_services: z.number().int().positive().default(2),
  /** medium (else low) needs both: the cluster is at least this share of all failures in the window … */
  medium_share: z.number().min(0).max(1).default(0.3),
  /** … and its failures are at least this share of the calls of the operations it spans */
  medium_call_share: z.number().min(0).max(1).default(0.05),
  /** cap on tracked clusters; further ones go to `__overflow__`, which is never reported */
  max_series: z.number().int().positive().default(5_000),
  /** exemplar trace ids per observation */
  max_exemplars: z.number().int().min(0).max(50).default(5),
});
export type ErrorClusterConfig = z.output<typeof errorClusterConfigSchema>;

/** Operation and service labels kept per pane: the rule needs only a few, the evidence the top 10. */
const MAX_OPERATION_LABELS = 50;
const MAX_SERVICE_LABELS = 20;

interface ClusterEvidence {
  readonly affected: AffectedSet;
  readonly exemplars: ExemplarList;
}

export interface ClusterAcc {
  failures: number;
  wastedMs: number;
  wastedTokens: number;
  /** USD of the failed calls whose cost is known, and how many they are */
  wastedCostUsd: number;
  pricedFailures: number;
  /** merged at once: the rule reads them at every boundary */
  readonly byOperation: LabelCounts;
  readonly byService: LabelCounts;
  /** evidence of spans added here; merged parts' evidence is collected only when the cluster fires */
  own: ClusterEvidence | undefined;
  parts: ClusterAcc[] | undefined;
}

function clusterAggregator(maxExemplars: number, costOf: (span: SpanRecord) => number | undefined): PaneAggregator<ClusterAcc, SpanRecord> {
  return {
    create: () => ({
      failures: 0,
      wastedMs: 0,
      wastedTokens: 0,
      wastedCostUsd: 0,
      pricedFailures: 0,
      byOperation: new LabelCounts(MAX_OPERATION_LABELS),
      byService: new LabelCounts(MAX_SERVICE_LABELS),
      own: undefined,
      parts: undefined,
    }),
    add(acc, span) {
      acc.failures++;
      acc.wastedMs += spanDuration(span);
      acc.wastedTokens += spanTokens(span);
      const usd = costOf(span);
      if (usd !== undefined) {
        acc.wastedCostUsd += usd;
        acc.pricedFailures++;
      }
      acc.byOperation.add(span.operationKey);
      acc.byService.add(span.service);
      const own = (acc.own ??= { affected: new AffectedSet(), exemplars: new ExemplarList(maxExemplars) });
      own.affected.add(span);
      own.exemplars.add(span);
    },
    merge(into, from) {
      into.failures += from.failures;
      into.wastedMs += from.wastedMs;
      into.wastedTokens += from.wastedTokens;
      into.wastedCostUsd += from.wastedCostUsd;
      into.pricedFailures += from.pricedFailures;
      into.byOperation.merge(from.byOperation);
      into.byService.merge(from.byService);
      if (from.failures > 0) (into.parts ??= []).push(from);
    },
  };
}

function clusterEvidence(acc: ClusterAcc, maxExemplars: number): ClusterEvidence {
  const out: ClusterEvidence = { affected: new AffectedSet(), exemplars: new ExemplarList(maxExemplars) };
  const visit = (a: ClusterAcc) => {
    if (a.own) {
      out.affected.merge(a.own.affected);
      out.exemplars.merge(a.own.exemplars);
    }
    for (const p of a.parts ?? []) visit(p);
  };
  visit(acc);
  return out;
}

/** A cluster window's operations: their calls series' subjects and the cluster's failures on each. */
interface ClusterOperations {
  readonly subjects: Subject[];
  readonly failures: number[];
}

interface TotalAcc {
  failures: number;
}

/** Calls of one operation key (every span, failed or not). */
interface CallsAcc {
  calls: number;
}

/**
 * A window of one count is read by its summary, from running sums over the panes: profiling the
 * 10-day kc history showed merges of the calls and total windows (about 60 panes each for 24 h, at
 * every boundary where a cluster holds) as most of error_cluster's window merges. Integer counts:
 * the same figures whatever the summing order.
 */
function countSummary<A extends Record<K, number>, K extends string>(field: K): WindowSummary<A, A> {
  return {
    create: () => ({ [field]: 0 }) as A,
    add(into, pane) {
      (into as Record<K, number>)[field] += pane[field];
    },
    additive: {
      width: 1,
      counts(pane, out, at) {
        out[at] = pane[field];
      },
      fromCounts: (sums) => ({ [field]: sums[0] as number }) as A,
    },
  };
}

const callsAggregator: PaneAggregator<CallsAcc, SpanRecord, CallsAcc> = {
  create: () => ({ calls: 0 }),
  add(acc) {
    acc.calls++;
  },
  merge(into, from) {
    into.calls += from.calls;
  },
  summary: countSummary<CallsAcc, 'calls'>('calls'),
};

/** operation-key subjects of the calls windows, cluster and reported subjects, one object per key (bounded: cleared when full) */
const MAX_CALL_SUBJECTS = 20_000;
/** message templates kept, and the longest message kept (templateOf) */
const MAX_KEPT_TEMPLATES = 5_000;
const MAX_KEPT_MESSAGE = 1_024;

const totalAggregator: PaneAggregator<TotalAcc, SpanRecord, TotalAcc> = {
  create: () => ({ failures: 0 }),
  add(acc) {
    acc.failures++;
  },
  merge(into, from) {
    into.failures += from.failures;
  },
  summary: countSummary<TotalAcc, 'failures'>('failures'),
};

/** The message a failed span carries: its status message, else its first exception's message. */
export function errorMessageOf(span: SpanRecord): string {
  if (span.statusMessage !== '') return span.statusMessage;
  for (const event of span.events) {
    if (event.name !== 'exception') continue;
    const m = event.attributes['exception.message'];
    if (typeof m === 'string') return m;
    break;
  }
  return '';
}

/** The internal series of a cluster: keyed by class and template, named at emission from its services. */
function clusterSeriesSubject(errorClass: string, template: string): Subject {
  return { service: '__cluster__', error_class: errorClass, operation: template };
}

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);
const TOTAL_SUBJECT: Subject = { service: '__all_failures__' };
const TOTAL_SUBJECTS: readonly Subject[] = [TOTAL_SUBJECT];

class ErrorClusterDetector {
  private readonly clusters: SeriesWindows<ClusterAcc, SpanRecord>;
  private readonly total: SeriesWindows<TotalAcc, SpanRecord, TotalAcc>;
  /** calls per operation key: what a cluster's failures are a share of */
  private readonly calls: SeriesWindows<CallsAcc, SpanRecord, CallsAcc>;
  /** the calls series of an operation key, as the one-subject list its spans are added to */
  private readonly callSubjects = new Map<string, readonly [Subject]>();
  /** reported subjects by service and class, `reportedCount` of them */
  private readonly reportedSubjects = new Map<string, Map<string, Subject>>();
  private reportedCount = 0;
  /** a reported subject's key among the detector's standing observations (kind|subject key), made once per subject object */
  private readonly standingKeys = new WeakMap<Subject, string>();
  private readonly operations = new WeakMap<ClusterAcc, ClusterOperations>();
  private readonly clusterSeries = new Map<string, readonly Subject[]>();
  private readonly templates = new Map<string, string>();
  private readonly band: number;
  private readonly specs: readonly WindowSpec[];
  private readonly longestMs: number;
  private readonly offline: boolean;
  private lastBoundary = Number.NEGATIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly mode: JudgeMode;
  private readonly group: readonly SeriesWindows<unknown, unknown, unknown>[];
  private readonly judgeAtBoundary = (boundary: number): Observation[] => this.judgeAt(boundary);
  /** the clusters are judged together (a cluster's share is of all failures): one source */
  private readonly standing: GroupStanding = { standing: [] };

  constructor(
    private readonly config: ErrorClusterConfig,
    ctx: ComponentContext,
  ) {
    this.offline = ctx.mode === 'offline';
    this.mode = ctx.judging ?? 'changed';
    const common = { windows: ctx.settings.windows, name: ctx.id, metrics: ctx.metrics, keepAll: this.offline, judging: this.mode };
    this.clusters = new SeriesWindows({ ...common, aggregator: clusterAggregator(config.max_exemplars, (span) => priceTableFor(ctx.settings.pricing).usd(span)), maxSeries: config.max_series });
    this.total = new SeriesWindows({ ...common, aggregator: totalAggregator, maxSeries: 1 });
    this.calls = new SeriesWindows({ ...common, aggregator: callsAggregator, maxSeries: config.max_series });
    this.group = [this.clusters, this.total, this.calls] as unknown as SeriesWindows<unknown, unknown, unknown>[];
    this.band = ctx.settings.painpoints.band;
    this.specs = this.clusters.specs;
    this.longestMs = Math.max(...this.specs.map((s) => s.sizeMs)) + ctx.settings.windows.coarse_slide;
  }

  handle(event: PipelineEvent): Judgement[] {
    switch (event.type) {
      case 'span':
        this.add(event.span);
        return [];
      case 'watermark': {
        const out: Judgement[] = [];
        judgeTogether(this.group, event.from, event.time, this.mode, this.judgeAtBoundary, this.standing, 'clusters', out);
        this.lastBoundary = event.time;
        return out;
      }
      case 'end':
        return this.offline ? this.judgeWholeInput().map(oneShot) : [];
      default:
        return [];
    }
  }

  /**
   * The subject a cluster is reported under, one object per service and class: its key (built
   * from JSON text per field, cached per object) is read at every judgement where it holds
   * (severity held by its band, one per subject, standing entries), and the kc history's clusters
   * hold at most boundaries (profiled). Bounded: cleared when full (it only saves work).
   */
  private reportedSubject(service: string, errorClass: string): Subject {
    // by service, then class: no text made per lookup (profiled)
    let byClass = this.reportedSubjects.get(service);
    let subject = byClass?.get(errorClass);
    if (subject === undefined) {
      if (this.reportedCount >= MAX_CALL_SUBJECTS) {
        this.reportedSubjects.clear();
        this.reportedCount = 0;
        byClass = undefined;
      }
      if (byClass === undefined) this.reportedSubjects.set(service, (byClass = new Map()));
      subject = { service, error_class: errorClass };
      byClass.set(errorClass, subject);
      this.reportedCount++;
    }
    return subject;
  }

  private callSeries(operationKey: string): readonly [Subject] {
    let subjects = this.callSubjects.get(operationKey);
    if (subjects === undefined) {
      if (this.callSubjects.size >= MAX_CALL_SUBJECTS) this.callSubjects.clear();
      subjects = [{ service: '__calls__', operation: operationKey }];
      this.callSubjects.set(operationKey, subjects);
    }
    return subjects;
  }

  private add(span: SpanRecord): void {
    this.calls.add(this.callSeries(span.operationKey), span.endMs, span);
    if (!span.failed) return;
    const t = span.endMs;
    if (t > this.lastMs) this.lastMs = t;
    this.total.add(TOTAL_SUBJECTS, t, span);
    if (isErrorUnrecorded(span)) return;
    const template = this.templateOf(errorMessageOf(span));
    const errorClass = span.errorClass || template;
    if (errorClass === '') return;
    this.clusters.add(this.clusterSubjects(errorClass, template), t, span);
  }

  /**
   * A message's template, kept per message: a failing operation repeats its messages, and the
   * templating (a dozen regular expressions) was a top self time of error_cluster on the kc
   * history (profiled). Bounded: cleared when full; long messages are not kept.
   */
  private templateOf(message: string): string {
    let template = this.templates.get(message);
    if (template === undefined) {
      template = messageTemplate(message);
      if (message.length <= MAX_KEPT_MESSAGE) {
        if (this.templates.size >= MAX_KEPT_TEMPLATES) this.templates.clear();
        this.templates.set(message, template);
      }
    }
    return template;
  }

  /** The series a cluster's spans go to, one array per class and template (its subject's key is then built once) */
  private clusterSubjects(errorClass: string, template: string): readonly Subject[] {
    const text = `${errorClass.length}:${errorClass}${template}`;
    let subjects = this.clusterSeries.get(text);
    if (subjects === undefined) {
      if (this.clusterSeries.size >= MAX_CALL_SUBJECTS) this.clusterSeries.clear();
      subjects = [clusterSeriesSubject(errorClass, template)];
      this.clusterSeries.set(text, subjects);
    }
    return subjects;
  }

  /** true when a window's cluster meets the docs/painpoints.md rule */
  private holds(acc: ClusterAcc): boolean {
    return (
      acc.failures >= this.config.min_failures &&
      (acc.byOperation.distinct >= this.config.min_operations || acc.byService.distinct >= this.config.min_services)
    );
  }

  private totalFailures(spec: WindowSpec, boundary: number): number {
    let n = 0;
    for (const view of this.total.all()) n += spec === ALL_WINDOW ? (view.all()?.failures ?? 0) : view.summary(spec, boundary).failures;
    return n;
  }

  /**
   * The cluster's failures on the operations whose calls are known, and those calls, in the same
   * window (operations past the breakdown's or the calls' series cap are left out of both).
   */
  private operationCalls(acc: ClusterAcc, spec: WindowSpec, boundary: number): { failures: number; calls: number } {
    let failures = 0;
    let calls = 0;
    const ops = this.operationsOf(acc, spec !== ALL_WINDOW);
    for (let i = 0; i < ops.subjects.length; i++) {
      const view = this.calls.get(ops.subjects[i] as Subject);
      if (view === undefined) continue;
      const c = spec === ALL_WINDOW ? (view.all()?.calls ?? 0) : view.summary(spec, boundary).calls;
      if (c === 0) continue;
      failures += ops.failures[i] as number;
      calls += c;
    }
    return { failures, calls };
  }

  /**
   * A cluster window's operations (the overflow label left out), as their calls series' subjects
   * and the cluster's failures on each, in the breakdown's order; kept per merged window when
   * `keep` (a window's merge is never changed, and most judgements read the same merge as the one
   * before: profiled on the kc history). Weak: entries go with the windows.
   */
  private operationsOf(acc: ClusterAcc, keep: boolean): ClusterOperations {
    let ops = keep ? this.operations.get(acc) : undefined;
    if (ops === undefined) {
      ops = { subjects: [], failures: [] };
      for (const [operation, n] of acc.byOperation.entries()) {
        if (operation === OVERFLOW_LABEL) continue;
        ops.subjects.push(this.callSeries(operation)[0]);
        ops.failures.push(n);
      }
      if (keep) this.operations.set(acc, ops);
    }
    return ops;
  }

  /** What the judgement before this one observed of a subject (severity bands), from the detector's standing. */
  private was(subject: Subject): Severity | undefined {
    let key = this.standingKeys.get(subject);
    if (key === undefined) this.standingKeys.set(subject, (key = `error_cluster|${subjectKey(subject)}`));
    for (const e of this.standing.standing) if (e.key === key) return e.severity;
    return undefined;
  }

  private judgeAt(boundary: number): Observation[] {
    const found: Observation[] = [];
    for (const view of this.clusters.all()) {
      if (view.key === OVERFLOW_KEY || view.lastTimeMs < boundary - this.longestMs) continue;
      for (const spec of this.specs) {
        // a cluster's panes hold only failed spans: fewer than min_failures cannot hold
        if (!view.atLeast(spec, boundary, this.config.min_failures)) continue;
        const acc = view.window(spec, boundary);
        if (!this.holds(acc)) continue;
        found.push(this.observation(view, spec.name, acc, this.totalFailures(spec, boundary), this.operationCalls(acc, spec, boundary), boundary, true));
        break;
      }
    }
    return onePerSubject(found);
  }

  private judgeWholeInput(): Observation[] {
    const found: Observation[] = [];
    const time = Number.isFinite(this.lastBoundary) ? this.lastBoundary : this.lastMs;
    const total = this.totalFailures(ALL_WINDOW, time);
    for (const view of this.clusters.all()) {
      if (view.key === OVERFLOW_KEY) continue;
      const acc = view.all();
      if (acc && this.holds(acc)) found.push(this.observation(view, 'all', acc, total, this.operationCalls(acc, ALL_WINDOW, time), time, false));
    }
    return onePerSubject(found);
  }

  private observation(
    view: SeriesView<ClusterAcc>,
    window: string,
    acc: ClusterAcc,
    totalFailures: number,
    spanned: { failures: number; calls: number },
    time: number,
    held: boolean,
  ): Observation {
    const errorClass = view.subject.error_class ?? '';
    const template = view.subject.operation ?? '';
    const services = acc.byService.distinct;
    const operations = acc.byOperation.distinct;
    const service = services >= 2 ? '*' : (acc.byService.top()?.[0] ?? '*');
    const share = totalFailures > 0 ? acc.failures / totalFailures : 1;
    const opsText = `${operations}${acc.byOperation.truncated ? '+' : ''} operation${operations === 1 ? '' : 's'}`;
    const where = services >= 2 ? `${opsText} in ${services} services` : opsText;
    const message = template !== '' && template !== errorClass ? `: "${template}"` : '';
    const subject = this.reportedSubject(service, errorClass);
    const callShare = spanned.calls > 0 ? spanned.failures / spanned.calls : 0;
    const by = held ? { was: this.was(subject), band: this.band } : NOT_HELD;
    const medium = reaches(share, this.config.medium_share, 'medium', by) && reaches(callShare, this.config.medium_call_share, 'medium', by);
    const head = {
      kind: 'error_cluster' as const,
      subject,
      severity: medium ? ('medium' as const) : ('low' as const),
      category: 'reliability' as const,
      keyMetric: share,
      time,
      // what onePerSubject compares, without building the evidence
      figures: { calls: acc.failures },
    };
    return lazyObservation(head, () => {
      const ev = clusterEvidence(acc, this.config.max_exemplars);
      const traces = ev.affected.traces.estimate();
      const runs = ev.affected.runs.estimate();
      const topOps = Object.entries(acc.byOperation.record(3))
        .map(([op, n]) => `${op} (${n})`)
        .join(', ');
      return {
        title: `${acc.failures} ${errorClass} failures across ${where} share one error ${windowPhrase(window)}`,
        description:
          `${acc.failures} failures of class ${errorClass}${message} hit ${where} ${windowPhrase(window)}, ` +
          `${formatPercent(share)} of all ${totalFailures} failures and ${formatPercent(callShare)} of the ${spanned.calls} calls of the operations it spans; most affected: ${topOps}. ` +
          `They took ${formatDuration(acc.wastedMs)} in ${traces} trace${traces === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'}.`,
        evidence: {
          window,
          metrics: {
            failures: acc.failures,
            operations,
            services,
            share: Math.round(share * 10_000) / 10_000,
            total_failures: totalFailures,
            operation_calls: spanned.calls,
            call_share: Math.round(callShare * 10_000) / 10_000,
            error_class: errorClass,
            template,
            wasted_ms: Math.round(acc.wastedMs * 10) / 10,
            wasted_tokens: acc.wastedTokens,
            ...(acc.pricedFailures > 0 ? { wasted_cost_usd: Math.round(acc.wastedCostUsd * 1e6) / 1e6 } : {}),
            affected_traces: traces,
            affected_runs: runs,
            by_operation: acc.byOperation.record(10),
            by_service: acc.byService.record(10),
          } satisfies ErrorClusterMetrics,
          exemplar_trace_ids: ev.exemplars.traceIds,
          exemplar_span_ids: ev.exemplars.spanIds,
        },
        runIds: [...ev.affected.runIds],
      };
    });
  }
}

function onePerSubject(observations: Observation[]): Observation[] {
  const best = new Map<string, Observation>();
  for (const o of observations) {
    const key = subjectKey(o.subject);
    const known = best.get(key);
    if (!known || (o.figures?.calls ?? 0) > (known.figures?.calls ?? 0)) best.set(key, o);
  }
  return [...best.values()];
}

/** The error_cluster operator over the event-time stream. */
export function errorCluster(config: ErrorClusterConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  return (source) =>
    defer(() => {
      const detector = new ErrorClusterDetector(config, ctx);
      return source.pipe(eachEvent((event: PipelineEvent) => detector.handle(event)));
    });
}

export const errorClusterProcessorFactory: ProcessorFactory<ErrorClusterConfig> = {
  type: 'error_cluster',
  stage: 'detector',
  configSchema: errorClusterConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: errorCluster(config, ctx) }],
};
