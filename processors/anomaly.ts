/**
 * anomaly (docs/painpoints.md): a statistical outlier in a series no other kind covers. Per series (docs/input.md)
 * and closed `step` window (default 1 m, non-overlapping), two metrics:
 * - tokens_per_call: (input + output tokens) / calls reporting tokens — category cost;
 * - call_rate: calls per step — category performance; judged only on steady traffic (history
 *   median ≥ min_baseline_calls) and busy windows (≥ min_calls), so batch jobs that wake up
 *   once an hour are not anomalies.
 * Latency and failures are left to latency_* and failure_* kinds.
 *
 * A window is outlying when, against the series' last `history_windows` values (at least
 * `min_history` of them), its robust z = (value − median) / σ̂ is ≥ z_threshold, or the EWMA is
 * above its upper control limit (median + ewma_sigmas·σ̂·√(λ/(2−λ))) while the value itself is
 * ≥ 2σ̂ above the median (otherwise one outlier's echo in the EWMA, or a smooth trend such as a
 * growing agent context, would count). σ̂ = max(1.4826·MAD, scale_floor_ratio·|median|, floor):
 * with MAD = 0 a constant series would fire on any change. Only rises count: fewer tokens or
 * calls cost nothing, and a run that ends is not a pain point. The anomaly fires on `consecutive`
 * outlying windows in a row (low; medium at z ≥ z_medium, held by the band once medium) and keeps
 * firing while they continue.
 * Outlying values join the history, so a lasting new level becomes the baseline. Windows with no
 * token-reporting calls add no tokens_per_call value (sparse LLM series are judged call by call
 * window); call_rate counts every step from the series' first call, empty ones as 0.
 *
 * Offline there is nothing more to judge at the end: one whole-input value has no history.
 */
import { defer, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { SpanRecord } from '../src/model/span.js';
import type { Category, Observation, Subject } from '../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../src/model/events.js';
import { eachEvent, judgeUpTo, previously, reaches, type Held, type JudgeLoop } from '../src/windows/judging.js';
import type { ComponentContext, ProcessorFactory } from '../src/component/contracts.js';
import { zDuration, formatDuration } from '../src/config/duration.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectKey, subjectLabel } from '../src/model/series.js';
import { SeriesWindows, type JudgedSeries, type PaneAggregator } from '../src/windows/series-windows.js';
import type { WindowSpec } from '../src/windows/window-spec.js';
import { ewmaLimits, ewmaNext, robustSummary, robustZ, type ControlLimits, type RobustSummary } from '../src/stats/robust.js';
import { formatFigure, formatPercent, formatRatio, MAX_RUN_IDS } from '../src/model/evidence-format.js';
import { ANOMALY_METRICS, type AnomalyMetric, type AnomalyMetrics } from '../src/model/evidence/index.js';
import { ExemplarList, spanTokens } from './failure-evidence.js';

export const anomalyConfigSchema = z.strictObject({
  /** width of the closed windows a value is taken over, and the judging period (a multiple of the slide) */
  step: zDuration.default(60_000),
  /** which metrics to watch */
  metrics: z.array(z.enum(ANOMALY_METRICS)).default([...ANOMALY_METRICS]),
  /** windows of history needed before judging */
  min_history: z.number().int().min(3).default(10),
  /** windows of history kept per series and metric */
  history_windows: z.number().int().min(3).max(1_000).default(60),
  /** robust z at which a window is outlying */
  z_threshold: z.number().positive().default(4),
  /** robust z from which the anomaly is medium (else low) */
  z_medium: z.number().positive().default(8),
  /** outlying windows in a row needed to fire */
  consecutive: z.number().int().positive().default(2),
  /** EWMA smoothing factor λ */
  ewma_lambda: z.number().gt(0).max(1).default(0.25),
  /** EWMA control limits at this many σ */
  ewma_sigmas: z.number().positive().default(3),
  /** σ̂ is at least this fraction of |median|: with 0.25, z 4 means twice the median */
  scale_floor_ratio: z.number().min(0).default(0.25),
  /** call_rate: calls needed in the window judged */
  min_calls: z.number().int().positive().default(20),
  /** call_rate: judged only when the history median is at least this many calls per step */
  min_baseline_calls: z.number().min(0).default(5),
  /** cap on tracked series; further series go to `__overflow__`, which is never reported */
  max_series: z.number().int().positive().default(5_000),
  /** exemplar trace ids per observation */
  max_exemplars: z.number().int().min(0).max(50).default(5),
});
export type AnomalyConfig = z.output<typeof anomalyConfigSchema>;

/** Placeholders of a verdict that could not be outlying (never read: no observation is made of it). */
const NO_SUMMARY: RobustSummary = { median: Number.NaN, mad: Number.NaN, scale: Number.NaN };
const NO_LIMITS: ControlLimits = { lower: Number.NaN, upper: Number.NaN };

/** An EWMA breach counts only when the window itself is this many σ̂ above the median. */
const EWMA_MIN_Z = 2;

interface TokenExemplar {
  readonly traceId: string;
  readonly spanId: string;
  readonly tokens: number;
}

export interface AnomalyAcc {
  calls: number;
  /** calls that reported token usage */
  tokenCalls: number;
  tokens: number;
  /** the calls with the most tokens, most first */
  topTokens: TokenExemplar[];
  /** the first calls (call-rate exemplars) */
  first: ExemplarList;
  runIds: string[];
}

function addTopToken(list: TokenExemplar[], e: TokenExemplar, max: number): void {
  if (max === 0 || list.some((x) => x.traceId === e.traceId)) return;
  if (list.length >= max && e.tokens <= (list[list.length - 1] as TokenExemplar).tokens) return;
  const at = list.findIndex((x) => x.tokens < e.tokens);
  list.splice(at === -1 ? list.length : at, 0, e);
  if (list.length > max) list.pop();
}

function addRunId(list: string[], id: string): void {
  if (list.length < MAX_RUN_IDS && !list.includes(id)) list.push(id);
}

function anomalyAggregator(maxExemplars: number): PaneAggregator<AnomalyAcc, SpanRecord> {
  return {
    create: () => ({ calls: 0, tokenCalls: 0, tokens: 0, topTokens: [], first: new ExemplarList(maxExemplars), runIds: [] }),
    add(acc, span) {
      acc.calls++;
      acc.first.add(span);
      addRunId(acc.runIds, span.runId);
      if (span.inputTokens === undefined && span.outputTokens === undefined) return;
      const tokens = spanTokens(span);
      acc.tokenCalls++;
      acc.tokens += tokens;
      addTopToken(acc.topTokens, { traceId: span.traceId, spanId: span.spanId, tokens }, maxExemplars);
    },
    merge(into, from) {
      into.calls += from.calls;
      into.tokenCalls += from.tokenCalls;
      into.tokens += from.tokens;
      for (const e of from.topTokens) addTopToken(into.topTokens, e, maxExemplars);
      into.first.merge(from.first);
      for (const id of from.runIds) addRunId(into.runIds, id);
    },
  };
}

/** Judgement of one value against a metric's history. */
interface Verdict {
  readonly outlying: boolean;
  readonly streak: number;
  readonly z: number;
  readonly summary: RobustSummary;
  readonly ewma: number;
  readonly limits: ControlLimits;
  readonly history: number;
}

/** A metric's recent values per series, bounded to history_windows. */
class MetricHistory {
  readonly values: number[] = [];
  ewma: number | undefined;
  streak = 0;

  constructor(private readonly cap: number) {}

  push(value: number): void {
    this.values.push(value);
    if (this.values.length > this.cap) this.values.shift();
  }
}

interface SeriesHistory {
  readonly tokens: MetricHistory;
  readonly calls: MetricHistory;
  /** end of the last step judged for this series */
  lastStepEnd: number;
  /** end of the last step the series had calls in */
  lastActive: number;
}

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

class AnomalyDetector {
  private readonly windows: SeriesWindows<AnomalyAcc, SpanRecord>;
  private readonly histories = new Map<string, SeriesHistory>();
  private readonly stepSpec: WindowSpec;
  private readonly loop: JudgeLoop<AnomalyAcc, never>;
  /** series not given a history because max_series histories exist */
  historiesOverflowed = 0;

  constructor(
    private readonly config: AnomalyConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.stepSpec = { name: formatDuration(config.step), sizeMs: config.step, paneMs: ctx.settings.windows.slide };
    // A series is judged at the end of a step with calls and of the step after (a value back to
    // none); the empty steps between are caught up when it is next judged (catchUp).
    this.windows = new SeriesWindows({
      aggregator: anomalyAggregator(config.max_exemplars),
      windows: ctx.settings.windows,
      maxSeries: config.max_series,
      name: ctx.id,
      metrics: ctx.metrics,
      reads: [{ spec: this.stepSpec, offsetMs: 0 }],
      gridMs: config.step,
      judging: ctx.judging,
    });
    this.loop = { mode: ctx.judging ?? 'changed', judge: (view, stepEnd) => this.judgeSeries(view, stepEnd) };
  }

  handle(event: PipelineEvent): Judgement[] {
    if (event.type === 'span') {
      const span = event.span;
      this.windows.add(seriesSubjects(span, this.ctx.settings.series.dimensions), span.endMs, span);
      return [];
    }
    if (event.type !== 'watermark') return [];
    const out: Judgement[] = [];
    judgeUpTo(this.windows, event.from, event.time, this.loop, out);
    return out;
  }

  private judgeSeries(view: JudgedSeries<AnomalyAcc, never>, stepEnd: number): Observation[] {
    const out: Observation[] = [];
    if (view.key === OVERFLOW_KEY) return out;
    const acc = view.window(this.stepSpec, stepEnd);
    const h = this.historyFor(view.key, acc.calls > 0, stepEnd);
    if (!h) return out;
    this.catchUp(h, stepEnd);
    h.lastStepEnd = stepEnd;
    if (acc.calls > 0) h.lastActive = stepEnd;

    // medium, once reached, is held by its band (docs/painpoints.md)
    const held: Held = { was: previously(view, 'anomaly')?.severity, band: this.ctx.settings.painpoints.band };
    if (this.config.metrics.includes('tokens_per_call') && acc.tokenCalls > 0) {
      const value = acc.tokens / acc.tokenCalls;
      const v = this.judge(h.tokens, value, false, false);
      if (v.streak >= this.config.consecutive) out.push(this.observation(view.subject, 'tokens_per_call', value, v, acc, stepEnd, held));
    }
    if (this.config.metrics.includes('call_rate')) {
      const value = acc.calls;
      // judged only on busy steps (≥ min_calls in the window) of steady traffic (the history's
      // median ≥ min_baseline_calls): below min_calls nothing is outlying, so the history's median
      // and MAD are not needed (for sparse series that is every step)
      const v = this.judge(h.calls, value, true, true, value >= this.config.min_calls);
      if (v.streak >= this.config.consecutive) out.push(this.observation(view.subject, 'call_rate', value, v, acc, stepEnd, held));
    }
    return out;
  }

  /**
   * The steps since the series was last judged had no calls: call_rate saw 0 in each (never
   * outlying: only rises count), so each pushed a 0, moved the EWMA towards 0 and ended a streak;
   * tokens_per_call saw nothing. Applied at once when the series is next judged, so empty event
   * time costs nothing.
   */
  private catchUp(h: SeriesHistory, stepEnd: number): void {
    const missed = Math.round((stepEnd - h.lastStepEnd) / this.config.step) - 1;
    if (!(missed > 0)) return;
    const m = h.calls;
    for (let i = 0; i < Math.min(missed, this.config.history_windows); i++) m.push(0);
    if (m.ewma !== undefined) m.ewma *= (1 - this.config.ewma_lambda) ** missed;
    m.streak = 0;
  }

  /** The series' history, created on its first step with calls; undefined before that or beyond max_series. */
  private historyFor(key: string, active: boolean, stepEnd: number): SeriesHistory | undefined {
    let known = this.histories.get(key);
    if (known !== undefined && this.idle(known, stepEnd)) {
      this.histories.delete(key);
      known = undefined;
    }
    if (known || !active) return known;
    if (this.histories.size >= this.config.max_series) this.evictIdle(stepEnd);
    if (this.histories.size >= this.config.max_series) {
      this.historiesOverflowed++;
      return undefined;
    }
    const cap = this.config.history_windows;
    const h: SeriesHistory = { tokens: new MetricHistory(cap), calls: new MetricHistory(cap), lastStepEnd: stepEnd - this.config.step, lastActive: stepEnd };
    this.histories.set(key, h);
    return h;
  }

  /** A series silent for a whole history span has a stale baseline: its history is dropped. */
  private idle(h: SeriesHistory, stepEnd: number): boolean {
    return h.lastActive < stepEnd - this.config.history_windows * this.config.step;
  }

  private evictIdle(stepEnd: number): void {
    for (const [key, h] of this.histories) if (this.idle(h, stepEnd)) this.histories.delete(key);
  }

  /**
   * Judges `value` against the history, then adds it. Counts (`poisson`) vary by about √median on
   * their own, so σ̂ is at least that. Not `possible`, or (`steady`) a history median below
   * min_baseline_calls: recorded, never outlying.
   */
  private judge(m: MetricHistory, value: number, poisson: boolean, steady: boolean, possible = true): Verdict {
    const c = this.config;
    if (!possible || m.values.length < c.min_history) {
      // cannot be outlying: the same state change as below, without the history's statistics
      m.streak = 0;
      const history = m.values.length;
      m.ewma = ewmaNext(m.ewma, value, c.ewma_lambda);
      m.push(value);
      return { outlying: false, streak: 0, z: 0, summary: NO_SUMMARY, ewma: m.ewma, limits: NO_LIMITS, history };
    }
    const base = robustSummary(m.values, { floorRatio: c.scale_floor_ratio, absoluteFloor: 1 });
    const summary = poisson && base.median > 0 ? { ...base, scale: Math.max(base.scale, Math.sqrt(base.median)) } : base;
    const ewma = ewmaNext(m.ewma, value, c.ewma_lambda);
    const enough = m.values.length >= c.min_history;
    const z = enough ? robustZ(value, summary) : 0;
    const limits = enough ? ewmaLimits(summary.median, summary.scale, c.ewma_lambda, c.ewma_sigmas) : { lower: Number.NaN, upper: Number.NaN };
    const eligible = !steady || summary.median >= c.min_baseline_calls;
    const outlying = enough && eligible && (z >= c.z_threshold || (ewma > limits.upper && z >= EWMA_MIN_Z));
    m.streak = outlying ? m.streak + 1 : 0;
    const history = m.values.length;
    m.ewma = ewma;
    m.push(value);
    return { outlying, streak: m.streak, z, summary, ewma, limits, history };
  }

  private observation(subject: Subject, metric: AnomalyMetric, value: number, v: Verdict, acc: AnomalyAcc, time: number, held: Held): Observation {
    const label = subjectLabel(subject);
    const window = this.stepSpec.name;
    const tokens = metric === 'tokens_per_call';
    const category: Category = tokens ? 'cost' : 'performance';
    const times = v.summary.median > 0 ? `${formatRatio(value / v.summary.median)} its median of ${formatFigure(v.summary.median)}` : `against a median of 0`;
    const what = tokens ? `${formatFigure(value)} tokens per call` : `${value} calls`;
    const exemplars = tokens ? acc.topTokens : acc.first.items;
    const excessTokens = tokens ? Math.max(0, Math.round((value - v.summary.median) * acc.tokenCalls)) : 0;
    const excessCalls = tokens ? 0 : Math.max(0, Math.round(value - v.summary.median));
    // its impact: the share of the window's tokens, or calls, above the median
    const impact = tokens
      ? `; ${excessTokens} tokens above the median over ${acc.tokenCalls} calls, ${formatPercent(acc.tokens > 0 ? excessTokens / acc.tokens : 0)} of its ${acc.tokens} tokens in the window.`
      : `; ${excessCalls} calls above the median, ${formatPercent(value > 0 ? excessCalls / value : 0)} of its calls in the window.`;
    return {
      kind: 'anomaly',
      subject,
      severity: reaches(v.z, this.config.z_medium, 'medium', held) ? 'medium' : 'low',
      category,
      title: tokens
        ? `${label} uses ${what} over the last ${window}, ${times}`
        : `${label} is called ${value} times over the last ${window}, ${times}`,
      description:
        `${tokens ? 'Token usage' : 'Call rate'} of ${label} is ${what} in the ${window} window, ${v.streak} windows in a row above normal: ` +
        `robust z ${round(v.z, 1)} against the median ${formatFigure(v.summary.median)} (MAD ${formatFigure(v.summary.mad)}) of the last ${v.history} windows, ` +
        `EWMA ${formatFigure(v.ewma)} against an upper control limit of ${formatFigure(v.limits.upper)}` +
        impact,
      evidence: {
        window,
        metrics: {
          metric,
          value: round(value),
          median: round(v.summary.median),
          mad: round(v.summary.mad),
          scale: round(v.summary.scale),
          robust_z: round(v.z),
          ewma: round(v.ewma),
          ewma_upper_limit: round(v.limits.upper),
          ewma_lower_limit: round(v.limits.lower),
          history: v.history,
          consecutive_windows: v.streak,
          calls: acc.calls,
          ...(tokens ? { tokens: acc.tokens, token_calls: acc.tokenCalls, wasted_tokens: excessTokens } : { excess_calls: excessCalls }),
        } satisfies AnomalyMetrics,
        exemplar_trace_ids: exemplars.map((e) => e.traceId),
        exemplar_span_ids: exemplars.map((e) => e.spanId),
      },
      keyMetric: value,
      time,
      runIds: [...acc.runIds],
    };
  }
}

/**
 * The step must tile the judging boundaries and fit in the fine panes kept; and an anomaly seen at
 * the end of one step must not resolve before the next step can see it again.
 */
function checkStep(config: AnomalyConfig, ctx: ComponentContext): void {
  const { slide, sizes, judge_every } = ctx.settings.windows;
  const clockStep = Math.max(slide, judge_every ?? slide);
  if (config.step % clockStep !== 0 || config.step > Math.max(...sizes)) {
    throw new Error(
      `processors.anomaly.step: ${formatDuration(config.step)} must be a multiple of service.windows.slide and judge_every (${formatDuration(clockStep)}) and at most the longest window (${formatDuration(Math.max(...sizes))})`,
    );
  }
  const resolveAfter = ctx.settings.painpoints.resolve_after;
  if (config.step > resolveAfter) {
    throw new Error(`processors.anomaly.step: ${formatDuration(config.step)} must be at most service.painpoints.resolve_after (${formatDuration(resolveAfter)})`);
  }
}

/** The anomaly operator over the event-time stream. */
export function anomaly(config: AnomalyConfig, ctx: ComponentContext): OperatorFunction<PipelineEvent, Judgement> {
  checkStep(config, ctx);
  return (source) =>
    defer(() => {
      const detector = new AnomalyDetector(config, ctx);
      return source.pipe(eachEvent((event: PipelineEvent) => detector.handle(event)));
    });
}

export const anomalyProcessorFactory: ProcessorFactory<AnomalyConfig> = {
  type: 'anomaly',
  stage: 'detector',
  configSchema: anomalyConfigSchema,
  create: (config, ctx) => [{ input: 'spans', operator: anomaly(config, ctx) }],
};
