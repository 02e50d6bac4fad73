/**
 * Windowed state per series (SPEC §1, §2). Each series keeps fine panes (`slide` wide) and coarse
 * panes (`coarse_slide` wide) of an accumulator; a window is the merge of the closed panes it
 * covers. The number of series is capped: spans of further series go to `__overflow__`, counted,
 * as the Collector's spanmetrics connector does. Memory = series × panes, never total spans.
 */
import type { Registry } from 'prom-client';
import type { Subject } from '../model/painpoint.js';
import type { WindowsSettings } from '../config/service-schema.js';
import { OVERFLOW_SUBJECT, subjectKey } from '../model/series.js';
import { paneStart, type WindowSpec, windowSpecs } from './window-spec.js';
import { windowMetrics, type WindowMetrics } from './window-metrics.js';

/** How a processor accumulates its inputs in a pane, and merges panes into a window. */
export interface PaneAggregator<A, I> {
  create(): A;
  add(acc: A, input: I): void;
  /** merge `from` into `into` (from is not modified) */
  merge(into: A, from: A): void;
}

export interface SeriesWindowsOptions<A, I> {
  readonly aggregator: PaneAggregator<A, I>;
  readonly windows: WindowsSettings;
  readonly maxSeries: number;
  /** processor name, for metric labels */
  readonly name: string;
  readonly metrics?: Registry;
  /** keep a whole-input accumulator per series (offline: every detector also judges the whole input) */
  readonly keepAll?: boolean;
}

/** One series' view for a detector. */
export interface SeriesView<A> {
  readonly subject: Subject;
  readonly key: string;
  /** merge of the closed panes of `spec` in the window ending at `boundary` (exclusive); shared and cached: never modify it */
  window(spec: WindowSpec, boundary: number): A;
  /** the whole input since start; undefined unless keepAll */
  all(): A | undefined;
  /** end time of the newest span added (epoch ms) */
  readonly lastTimeMs: number;
}

/** A pane's accumulator and the add count at its last change, so cached merges know when they are stale. */
interface Pane<A> {
  readonly acc: A;
  version: number;
}

/** A merged window, valid while the same panes (by first, last, count and newest version) fall in its range. */
interface CachedWindow<A> {
  first: number;
  last: number;
  count: number;
  version: number;
  acc: A;
}

/** cached merges kept per series (one per window size in use, and a few ad-hoc sizes) */
const MAX_CACHED_WINDOWS = 16;

class Series<A, I> implements SeriesView<A> {
  readonly fine = new Map<number, Pane<A>>();
  readonly coarse = new Map<number, Pane<A>>();
  readonly cache = new Map<string, CachedWindow<A>>();
  whole: A | undefined;
  lastTimeMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly subject: Subject,
    readonly key: string,
    private readonly owner: SeriesWindows<A, I>,
  ) {}

  window(spec: WindowSpec, boundary: number): A {
    return this.owner.mergeWindow(this, spec, boundary);
  }

  all(): A | undefined {
    return this.whole;
  }
}

export class SeriesWindows<A, I> {
  private readonly series = new Map<string, Series<A, I>>();
  private readonly agg: PaneAggregator<A, I>;
  private readonly slide: number;
  private readonly coarseSlide: number;
  private readonly longestFine: number;
  private readonly longestCoarse: number;
  private readonly metrics: WindowMetrics | undefined;
  readonly specs: readonly WindowSpec[];
  /** spans that went to the overflow series */
  overflowed = 0;
  /** inputs added so far: the version stamp of pane changes */
  private adds = 0;

  constructor(private readonly options: SeriesWindowsOptions<A, I>) {
    this.agg = options.aggregator;
    this.slide = options.windows.slide;
    this.coarseSlide = options.windows.coarse_slide;
    this.longestFine = Math.max(...options.windows.sizes);
    this.longestCoarse = Math.max(0, ...options.windows.coarse_sizes);
    this.specs = windowSpecs(options.windows);
    this.metrics = options.metrics ? windowMetrics(options.metrics) : undefined;
  }

  get size(): number {
    return this.series.size;
  }

  /** Adds one input at event time `timeMs` to every subject's series. */
  add(subjects: readonly Subject[], timeMs: number, input: I): void {
    for (const subject of subjects) this.addOne(subject, timeMs, input);
  }

  private addOne(subject: Subject, timeMs: number, input: I): void {
    let key = subjectKey(subject);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.options.maxSeries) {
        this.overflowed++;
        this.metrics?.overflowSpans.inc({ processor: this.options.name });
        key = subjectKey(OVERFLOW_SUBJECT);
        subject = OVERFLOW_SUBJECT;
        s = this.series.get(key);
      }
      if (!s) {
        s = new Series(subject, key, this);
        this.series.set(key, s);
        this.metrics?.seriesTracked.set({ processor: this.options.name }, this.series.size);
      }
    }
    this.addToPane(s.fine, paneStart(timeMs, this.slide), input);
    if (this.longestCoarse > 0) this.addToPane(s.coarse, paneStart(timeMs, this.coarseSlide), input);
    if (this.options.keepAll) {
      s.whole ??= this.agg.create();
      this.agg.add(s.whole, input);
    }
    if (timeMs > s.lastTimeMs) s.lastTimeMs = timeMs;
  }

  private addToPane(panes: Map<number, Pane<A>>, start: number, input: I): void {
    let pane = panes.get(start);
    if (pane === undefined) {
      pane = { acc: this.agg.create(), version: 0 };
      panes.set(start, pane);
    }
    this.agg.add(pane.acc, input);
    pane.version = ++this.adds;
  }

  /** Every tracked series. */
  all(): Iterable<SeriesView<A>> {
    return this.series.values();
  }

  /**
   * Called at each watermark boundary: drops panes no window can reach any more, and series with
   * no pane left (unless the whole input is kept).
   */
  advance(boundary: number): void {
    const fineFloor = boundary - this.longestFine;
    const coarseFloor = paneStart(boundary, this.coarseSlide) - this.longestCoarse;
    let panes = 0;
    for (const [key, s] of this.series) {
      for (const start of s.fine.keys()) if (start < fineFloor) s.fine.delete(start);
      for (const start of s.coarse.keys()) if (start < coarseFloor) s.coarse.delete(start);
      if (s.fine.size === 0 && s.coarse.size === 0 && !this.options.keepAll) this.series.delete(key);
      panes += s.fine.size + s.coarse.size;
    }
    this.metrics?.panesOpen.set({ processor: this.options.name }, panes);
    this.metrics?.seriesTracked.set({ processor: this.options.name }, this.series.size);
  }

  /**
   * @internal merge of the panes a window covers; coarse windows end at the last closed coarse pane.
   * Detectors judge every series at every boundary while most windows hold the same panes as at
   * the previous one, so the merge is cached and rebuilt only when its panes change. The result
   * is shared: callers must not modify it.
   */
  mergeWindow(s: Series<A, I>, spec: WindowSpec, boundary: number): A {
    const coarse = spec.paneMs !== this.slide;
    const panes = coarse ? s.coarse : s.fine;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    const start = end - spec.sizeMs;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let count = 0;
    let version = 0;
    for (const [paneStartMs, pane] of panes) {
      if (paneStartMs < start || paneStartMs >= end) continue;
      count++;
      if (paneStartMs < first) first = paneStartMs;
      if (paneStartMs > last) last = paneStartMs;
      if (pane.version > version) version = pane.version;
    }
    const key = `${spec.paneMs}:${spec.sizeMs}`;
    const cached = s.cache.get(key);
    if (cached && cached.count === count && cached.first === first && cached.last === last && cached.version === version) return cached.acc;
    const out = this.agg.create();
    if (count > 0) {
      for (const [paneStartMs, pane] of panes) {
        if (paneStartMs >= start && paneStartMs < end) this.agg.merge(out, pane.acc);
      }
    }
    if (!cached && s.cache.size >= MAX_CACHED_WINDOWS) s.cache.clear();
    s.cache.set(key, { first, last, count, version, acc: out });
    return out;
  }
}

/**
 * SPEC §1: a series is judged on the shortest window holding at least `minSamples` calls.
 * Returns that window and its accumulator, or undefined when no window has enough.
 */
export function shortestWindowWith<A>(
  view: SeriesView<A>,
  specs: readonly WindowSpec[],
  boundary: number,
  count: (acc: A) => number,
  minSamples: number,
): { spec: WindowSpec; acc: A } | undefined {
  for (const spec of specs) {
    const acc = view.window(spec, boundary);
    if (count(acc) >= minSamples) return { spec, acc };
  }
  return undefined;
}
