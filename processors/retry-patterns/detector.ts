/**
 * The retry_patterns operator: trace calls and chains into per-series windows, each series judged
 * at each watermark on the shortest window every rule needs (window counts first, a window merged
 * only when a rule needs it), and offline the whole input at the end.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { ComponentContext } from '../../src/component/contracts.js';
import type { Judgement, TraceStreamEvent } from '../../src/model/events.js';
import { judgeUpTo, oneShot, previously, type JudgeLoop } from '../../src/windows/judging.js';
import type { Observation, PainPointKind, Severity, Subject } from '../../src/model/painpoint.js';
import { OVERFLOW_SUBJECT, seriesSubjects, subjectLabel } from '../../src/model/series.js';
import { SubjectsByFields } from '../../src/traces/span-subjects.js';
import { SeriesWindows, type SeriesView, type StandingEntry, type SummarizedView } from '../../src/windows/series-windows.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import type { SpanRecord } from '../../src/model/span.js';
import { priceTableFor } from '../../src/model/cost.js';
import type { RetryPatternsConfig } from './config.js';
import { addTrace, retryStatsAggregator, type RetryCounts, type RetryInput, type RetryStats } from './stats.js';
import {
  baselineSpec,
  exhaustionOnCounts,
  judgeAmplification,
  judgeExhaustion,
  judgeNoBackoff,
  judgeNonRetryable,
  judgeStormRate,
  nonRetryableOnCounts,
  stormRateOnCounts,
  type Finding,
  type Held,
} from './rules.js';
import { countedObservation, observation } from './evidence.js';

/**
 * What one judgement learnt of each window (by index in the window specs), so every rule reads a
 * window's count or summary once; a window is merged only when a rule's counts say it fires or
 * the rule needs more than counts (profiling NativeAgentLightning on an 80 h kc replay showed the
 * merges of windows that were only counted at ~40 % of retry_patterns' time). The view's reads
 * are made in the same order as a rule-by-rule probe would make them, so the series records the
 * same windows and is woken at the same boundaries; a repeated probe the view would answer
 * without recording anything new is answered here (profiling the kc history showed the probes,
 * five rules × every window, and the closures that made them, at a third of the judgement).
 * One per operator, reset per judgement (judgements do not nest).
 */
class WindowProbe {
  private view!: SummarizedView<RetryStats, RetryCounts>;
  private boundary = 0;
  /** the window's summary once read (its contents are then a dependency) */
  private readonly summaries: (RetryCounts | undefined)[];
  /** the lowest sample count the window was found short of (+∞: none) */
  private readonly shortOf: number[];

  constructor(readonly specs: readonly WindowSpec[]) {
    this.summaries = new Array<RetryCounts | undefined>(specs.length).fill(undefined);
    this.shortOf = new Array<number>(specs.length).fill(Number.POSITIVE_INFINITY);
  }

  reset(view: SummarizedView<RetryStats, RetryCounts>, boundary: number): void {
    this.view = view;
    this.boundary = boundary;
    this.summaries.fill(undefined);
    this.shortOf.fill(Number.POSITIVE_INFINITY);
  }

  /** view.atLeast: once the summary is read, the window's samples are its calls and chains (weight 1 each) */
  atLeast(i: number, min: number): boolean {
    const s = this.summaries[i];
    if (s !== undefined) return s.calls + s.chains >= min;
    // short of a lower count already: the view would record nothing new
    if (min >= (this.shortOf[i] as number)) return false;
    const enough = this.view.atLeast(this.specs[i] as WindowSpec, this.boundary, min);
    if (!enough) this.shortOf[i] = min;
    return enough;
  }

  counts(i: number): RetryCounts {
    let s = this.summaries[i];
    if (s === undefined) this.summaries[i] = s = this.view.summary(this.specs[i] as WindowSpec, this.boundary);
    return s;
  }

  window(i: number): RetryStats {
    this.counts(i);
    return this.view.window(this.specs[i] as WindowSpec, this.boundary);
  }

  /** `window`, merged when first read (SeriesView.deferredWindow): for evidence of a finding decided on counts */
  deferred(i: number): () => RetryStats {
    this.counts(i);
    return this.view.deferredWindow(this.specs[i] as WindowSpec, this.boundary);
  }

  /** the shortest window with at least `gate` samples (probed by count first) whose counts hold `min` calls and `n` of `field` */
  pick(gate: number, min: number, field: keyof RetryCounts, n: number): number {
    for (let i = 0; i < this.specs.length; i++) {
      if (!this.atLeast(i, gate)) continue;
      const c = this.counts(i);
      if (c.calls >= min && c[field] >= n) return i;
    }
    return -1;
  }
}

/** A finding a rule made on a merged window, and the severity it was held at. */
interface MadeFinding {
  readonly kind: Finding['kind'];
  readonly was: Severity | undefined;
  readonly finding: Finding | undefined;
}

/** The rules' windows, the probe and the findings made of one operator. */
interface RetryJudge {
  readonly specs: readonly WindowSpec[];
  /** per short window (index), the index of its storm baseline window, -1 when none */
  readonly baselines: readonly number[];
  readonly probe: WindowProbe;
  readonly config: RetryPatternsConfig;
  readonly band: number;
  /**
   * Findings by the merged window they were made on: a window's merge is the same object while
   * its panes are unchanged (SeriesView.window), and on the kc history half the judgements that
   * fire read a window an earlier judgement of the series read, when another of its windows woke
   * it (profiled: building the finding, its texts and tables, was the rules' top self time). A
   * finding is a function of the window (one series: one label), the rule and the held severity.
   * Weak: entries go with the windows, which the window cache bounds.
   */
  readonly made: WeakMap<RetryStats, MadeFinding[]>;
}

function retryJudge(specs: readonly WindowSpec[], config: RetryPatternsConfig, band: number): RetryJudge {
  const baselines = specs.map((spec) => {
    const long = baselineSpec(specs, spec, config.baseline_window_factor);
    return long === undefined ? -1 : specs.indexOf(long);
  });
  return { specs, baselines, probe: new WindowProbe(specs), config, band, made: new WeakMap() };
}

/**
 * Judges one series at a boundary on its windows; every rule picks its own shortest sufficient
 * window, by its counts (RetryCounts, summed from the panes), and merges it only to judge it; the
 * storm rate, exhaustion and non-retryable rules decide on the counts alone (kind, severity, key
 * metric), and their window is merged for the text and evidence of an observation written.
 * A threshold passed at the previous judgement is held by its band (docs/painpoints.md).
 */
function judgeSeries(judge: RetryJudge, view: SummarizedView<RetryStats, RetryCounts> & { readonly standing: readonly StandingEntry[] }, boundary: number): Observation[] {
  const { specs, probe, config } = judge;
  probe.reset(view, boundary);
  const min = config.min_samples;
  const label = subjectLabel(view.subject);
  const out: Observation[] = [];

  // retry_storm: the rate rule first (it says more), else amplification.
  let stormed = false;
  const shortAt = probe.pick(min, min, 'calls', 0);
  if (shortAt >= 0) {
    const longAt = judge.baselines[shortAt] as number;
    if (longAt >= 0) {
      const short = { spec: specs[shortAt] as WindowSpec, acc: probe.counts(shortAt) };
      const long = { spec: specs[longAt] as WindowSpec, acc: probe.counts(longAt) };
      const head = stormRateOnCounts(short, long, config);
      if (head !== undefined) {
        // the window is merged for the evidence of an observation written only
        const merged = probe.deferred(shortAt);
        const make = () => found(judgeStormRate({ spec: short.spec, acc: merged() }, long, label, config));
        out.push(countedObservation(head, view.subject, short.spec.name, boundary, make, () => merged().runs));
        stormed = true;
      }
    }
  }
  if (!stormed) {
    const at = probe.pick(config.amplification_min_chains, 0, 'amplifiedChains', config.amplification_min_chains);
    if (at >= 0) {
      const acc = probe.window(at);
      const storm = findingOn(judge, acc, 'retry_storm', undefined, () => judgeAmplification(acc, label, config));
      if (storm !== undefined) out.push(observation(storm, view.subject, (specs[at] as WindowSpec).name, boundary, acc.runs));
    }
  }

  const exAt = probe.pick(min, min, 'chains', config.exhaustion_min_chains);
  if (exAt >= 0) {
    const held = heldOf(view, 'retry_exhaustion', judge.band);
    const head = exhaustionOnCounts(probe.counts(exAt), config, held);
    if (head !== undefined) {
      const merged = probe.deferred(exAt);
      out.push(countedObservation(head, view.subject, (specs[exAt] as WindowSpec).name, boundary, () => found(judgeExhaustion(merged(), label, config, held)), () => merged().runs));
    }
  }
  const nrAt = probe.pick(min, min, 'nonRetryableRetries', config.non_retryable_min_retries);
  if (nrAt >= 0) {
    const held = heldOf(view, 'retry_non_retryable', judge.band);
    const head = nonRetryableOnCounts(probe.counts(nrAt), config, held);
    if (head !== undefined) {
      const merged = probe.deferred(nrAt);
      out.push(countedObservation(head, view.subject, (specs[nrAt] as WindowSpec).name, boundary, () => found(judgeNonRetryable(merged(), label, config, held)), () => merged().runs));
    }
  }
  const nbAt = probe.pick(min, min, 'timedChains', config.no_backoff_min_chains);
  if (nbAt >= 0) {
    const acc = probe.window(nbAt);
    const f = findingOn(judge, acc, 'retry_no_backoff', undefined, () => judgeNoBackoff(acc, label, config));
    if (f !== undefined) out.push(observation(f, view.subject, (specs[nbAt] as WindowSpec).name, boundary, acc.runs));
  }
  return out;
}

/** A finding its counts said the rule makes (the merged window holds the same counts). */
function found<F extends Finding>(f: F | undefined): F {
  if (f === undefined) throw new Error('retry_patterns: a rule decided on a window\'s counts did not fire on its merge');
  return f;
}

/** The finding `make` makes on window `acc`, made once per window, rule and held severity. */
function findingOn(judge: RetryJudge, acc: RetryStats, kind: Finding['kind'], was: Severity | undefined, make: () => Finding | undefined): Finding | undefined {
  let list = judge.made.get(acc);
  if (list !== undefined) {
    for (const m of list) if (m.kind === kind && m.was === was) return m.finding;
  } else judge.made.set(acc, (list = []));
  const finding = make();
  list.push({ kind, was, finding });
  return finding;
}

function heldOf(view: { readonly standing: readonly StandingEntry[] }, kind: PainPointKind, band: number): Held {
  return { was: previously(view, kind)?.severity, band };
}

/** Offline: the whole input, judged once at the end (no rate baseline there: amplification only for storms). */
function judgeWhole(view: SeriesView<RetryStats>, time: number, config: RetryPatternsConfig): Observation[] {
  const s = view.all();
  if (s === undefined) return [];
  const label = subjectLabel(view.subject);
  const out: Observation[] = [];
  for (const f of [
    judgeAmplification(s, label, config),
    judgeExhaustion(s, label, config),
    judgeNonRetryable(s, label, config),
    judgeNoBackoff(s, label, config),
  ]) {
    if (f !== undefined) out.push(observation(f, view.subject, 'all', time, s.runs));
  }
  return out;
}

function isOverflow(subject: Subject): boolean {
  return subject.service === OVERFLOW_SUBJECT.service;
}

export function retryPatterns(config: RetryPatternsConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  const dimensions = ctx.settings.series.dimensions;
  const prices = priceTableFor(ctx.settings.pricing);
  const costOf = (span: SpanRecord) => prices.usd(span);
  const subjects = new SubjectsByFields((span) => seriesSubjects(span, dimensions));
  return (source) =>
    new Observable<Judgement>((subscriber) => {
      const windows = new SeriesWindows<RetryStats, RetryInput, RetryCounts>({
        aggregator: retryStatsAggregator,
        windows: ctx.settings.windows,
        maxSeries: ctx.settings.series.max_series,
        name: 'retry_patterns',
        metrics: ctx.metrics,
        keepAll: ctx.mode === 'offline',
        judging: ctx.judging,
      });
      const judge = retryJudge(windows.specs, config, ctx.settings.painpoints.band);
      const loop: JudgeLoop<RetryStats, RetryCounts> = {
        mode: ctx.judging ?? 'changed',
        order: 'key',
        judge: (view, boundary) => (isOverflow(view.subject) ? [] : judgeSeries(judge, view, boundary)),
      };
      let lastBoundary = Number.NEGATIVE_INFINITY;
      const sorted = () => [...windows.all()].filter((v) => !isOverflow(v.subject)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return source.subscribe({
        next(event) {
          switch (event.type) {
            case 'trace':
              addTrace(windows, event.trace, (span) => subjects.of(span), config, costOf);
              return;
            case 'watermark': {
              lastBoundary = event.time;
              const out: Judgement[] = [];
              judgeUpTo(windows, event.from, event.time, loop, out);
              for (const j of out) subscriber.next(j);
              return;
            }
            case 'end':
              if (ctx.mode === 'offline' && lastBoundary !== Number.NEGATIVE_INFINITY) {
                for (const view of sorted()) for (const o of judgeWhole(view, lastBoundary, config)) subscriber.next(oneShot(o));
              }
              return;
            case 'drain':
              return;
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
