/**
 * Windowed state per series (docs/architecture.md, Event time and windows; docs/input.md). Each series keeps fine panes (`slide` wide) and coarse
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
export interface PaneAggregator<A, I, S = never> {
  create(): A;
  add(acc: A, input: I): void;
  /** merge `from` into `into` (from is not modified) */
  merge(into: A, from: A): void;
  /**
   * Cheap figures of a window (counts a detector probes windows with), folded from its panes
   * without merging them; the fold must not depend on the panes' order. See SeriesView.summary.
   */
  readonly summary?: WindowSummary<A, S>;
}

export interface WindowSummary<A, S> {
  create(): S;
  /** fold one pane's accumulator into `into` (the pane is not modified) */
  add(into: S, pane: A): void;
}

export interface SeriesWindowsOptions<A, I, S = never> {
  readonly aggregator: PaneAggregator<A, I, S>;
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

/** A series' view with window summaries (SeriesWindows' own series). */
export interface SummarizedView<A, S> extends SeriesView<A> {
  /**
   * the aggregator's summary of the same panes, without merging them; shared and cached with the
   * window: the same object is returned while (and only while) the window's merge is the same
   * (never modify it). Throws when the aggregator has no summary.
   */
  summary(spec: WindowSpec, boundary: number): S;
}

/** A pane's accumulator and its creation number (panes are merged in creation order). */
interface Pane<A> {
  readonly acc: A;
  readonly seq: number;
}

/**
 * A window over a pane range, valid while the same panes (by first, last and count) fall in its
 * range and none of them changed; its merge and summary are made when first asked for.
 */
interface CachedWindow<A, S> {
  readonly first: number;
  readonly last: number;
  readonly count: number;
  acc: A | undefined;
  summary: S | undefined;
}

/** cached merges kept per pane list (one per window size in use, and a few ad-hoc sizes) */
const MAX_CACHED_WINDOWS = 16;

/** Index of the first element of sorted `xs` that is ≥ `x` (xs.length when none is). */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One series' panes of one width, sorted by start, with the merged windows cached over them.
 *
 * Hand-written rather than a Map of panes: profiling a sparse kc workload (80 h of event time)
 * showed the window merge's scan of every pane, once per window tried, per series, per boundary,
 * as the top self time. Sorted starts make a window's pane range two binary searches; appends are
 * nearly always at the end (spans come in event-time order, late ones by at most a pane), so the
 * rare out-of-order pane is spliced in, and expired panes leave from the front.
 */
export class PaneList<A, S = never> {
  /** pane starts, ascending */
  readonly starts: number[] = [];
  /** the panes, in the order of `starts` */
  readonly panes: Pane<A>[] = [];
  /** windows by window size; an entry is dropped as soon as a pane in its range changes */
  readonly cache = new Map<number, CachedWindow<A, S>>();
  /**
   * the window a size held before its latest one: a detector that merges a size at two ends (a
   * baseline ending before the judged part, the judged window itself) keeps both
   */
  private readonly older = new Map<number, CachedWindow<A, S>>();
  private created = 0;
  /** index range [lo, hi) of the panes of the window `entry` returned last (scratch, saves an allocation per lookup) */
  private lo = 0;
  private hi = 0;

  /** The pane starting at `start`, created (in start order) when missing. */
  pane(start: number, create: () => A): A {
    const n = this.starts.length;
    let i: number;
    if (n === 0 || (this.starts[n - 1] as number) < start) i = n;
    else if (this.starts[n - 1] === start) return (this.panes[n - 1] as Pane<A>).acc;
    else {
      i = lowerBound(this.starts, start);
      if (this.starts[i] === start) return (this.panes[i] as Pane<A>).acc;
    }
    const pane: Pane<A> = { acc: create(), seq: this.created++ };
    if (i === n) {
      this.starts.push(start);
      this.panes.push(pane);
    } else {
      this.starts.splice(i, 0, start);
      this.panes.splice(i, 0, pane);
    }
    return pane.acc;
  }

  /** A pane at `start` changed: cached windows whose pane range holds it are stale. */
  changed(start: number): void {
    for (const [size, c] of this.cache) if (c.first <= start && start <= c.last) this.cache.delete(size);
    for (const [size, c] of this.older) if (c.first <= start && start <= c.last) this.older.delete(size);
  }

  /** Drops panes starting before `floor`. */
  dropBefore(floor: number): void {
    if (this.starts.length === 0 || (this.starts[0] as number) >= floor) return;
    const k = lowerBound(this.starts, floor);
    this.starts.splice(0, k);
    this.panes.splice(0, k);
  }

  get size(): number {
    return this.starts.length;
  }

  /** The merge of the panes starting in [start, end), cached under `size` while they are unchanged. */
  merge(agg: PaneAggregator<A, unknown, S>, size: number, start: number, end: number): A {
    const w = this.entry(size, start, end);
    return (w.acc ??= this.mergeRange(agg, this.lo, this.hi));
  }

  /**
   * The aggregator's summary of the panes starting in [start, end), cached with their merge (same
   * entry, so the same object while the merge is the same). Probing windows by summary instead of
   * merge: profiling an 80 h kc replay showed merges of windows that were only counted (the shortest
   * window holding min_samples) as the top cost of retry_patterns and latency.
   */
  summary(agg: PaneAggregator<A, unknown, S>, size: number, start: number, end: number): S {
    const fold = agg.summary;
    if (fold === undefined) throw new Error('this aggregator has no window summary');
    const w = this.entry(size, start, end);
    if (w.summary === undefined) {
      const out = fold.create();
      for (let i = this.lo; i < this.hi; i++) fold.add(out, (this.panes[i] as Pane<A>).acc);
      w.summary = out;
    }
    return w.summary;
  }

  /** The cached window of `size` over the panes in [start, end), made (empty) when missing or stale; sets lo / hi. */
  private entry(size: number, start: number, end: number): CachedWindow<A, S> {
    const starts = this.starts;
    const lo = lowerBound(starts, start);
    const hi = lo < starts.length && (starts[lo] as number) < end ? lowerBound(starts, end) : lo;
    this.lo = lo;
    this.hi = hi;
    const count = hi - lo;
    const first = count > 0 ? (starts[lo] as number) : Number.POSITIVE_INFINITY;
    const last = count > 0 ? (starts[hi - 1] as number) : Number.NEGATIVE_INFINITY;
    const cached = this.cache.get(size);
    if (cached && cached.count === count && cached.first === first && cached.last === last) return cached;
    const older = this.older.get(size);
    if (older && older.count === count && older.first === first && older.last === last) {
      this.older.delete(size);
      if (cached) this.older.set(size, cached);
      this.cache.set(size, older);
      return older;
    }
    if (cached) this.older.set(size, cached);
    else if (this.cache.size >= MAX_CACHED_WINDOWS) {
      this.cache.clear();
      this.older.clear();
    }
    const w: CachedWindow<A, S> = { first, last, count, acc: undefined, summary: undefined };
    this.cache.set(size, w);
    return w;
  }

  /** Merges panes [lo, hi) in creation order. */
  private mergeRange(agg: PaneAggregator<A, unknown, S>, lo: number, hi: number): A {
    const out = agg.create();
    let inOrder = true;
    for (let i = lo + 1; i < hi; i++) {
      if ((this.panes[i] as Pane<A>).seq < (this.panes[i - 1] as Pane<A>).seq) {
        inOrder = false;
        break;
      }
    }
    if (inOrder) {
      for (let i = lo; i < hi; i++) agg.merge(out, (this.panes[i] as Pane<A>).acc);
    } else {
      // a pane was created out of start order: merge in creation order, as a Map of panes iterated
      // (order matters to capped label counts and exemplar lists)
      for (const pane of this.panes.slice(lo, hi).sort((a, b) => a.seq - b.seq)) agg.merge(out, pane.acc);
    }
    return out;
  }
}

class Series<A, I, S> implements SummarizedView<A, S> {
  readonly fine = new PaneList<A, S>();
  readonly coarse = new PaneList<A, S>();
  whole: A | undefined;
  lastTimeMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly subject: Subject,
    readonly key: string,
    private readonly owner: SeriesWindows<A, I, S>,
  ) {}

  window(spec: WindowSpec, boundary: number): A {
    return this.owner.mergeWindow(this, spec, boundary);
  }

  summary(spec: WindowSpec, boundary: number): S {
    return this.owner.summarizeWindow(this, spec, boundary);
  }

  all(): A | undefined {
    return this.whole;
  }
}

export class SeriesWindows<A, I, S = never> {
  private readonly series = new Map<string, Series<A, I, S>>();
  private readonly agg: PaneAggregator<A, I, S>;
  private readonly create: () => A;
  private readonly slide: number;
  private readonly coarseSlide: number;
  private readonly longestFine: number;
  private readonly longestCoarse: number;
  private readonly metrics: WindowMetrics | undefined;
  readonly specs: readonly WindowSpec[];
  /** spans that went to the overflow series */
  overflowed = 0;

  constructor(private readonly options: SeriesWindowsOptions<A, I, S>) {
    this.agg = options.aggregator;
    this.create = () => this.agg.create();
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

  private addToPane(panes: PaneList<A, S>, start: number, input: I): void {
    this.agg.add(panes.pane(start, this.create), input);
    panes.changed(start);
  }

  /** Every tracked series. */
  all(): Iterable<SummarizedView<A, S>> {
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
      s.fine.dropBefore(fineFloor);
      s.coarse.dropBefore(coarseFloor);
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
  mergeWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): A {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).merge(this.agg as PaneAggregator<A, unknown, S>, spec.sizeMs, end - spec.sizeMs, end);
  }

  /** @internal the aggregator's summary of the panes `mergeWindow` would merge (cached with it). */
  summarizeWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): S {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).summary(this.agg as PaneAggregator<A, unknown, S>, spec.sizeMs, end - spec.sizeMs, end);
  }
}

/**
 * docs/architecture.md, Event time and windows: a series is judged on the shortest window holding at least `minSamples` calls.
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

/**
 * The shortest window whose summary is `enough`, or undefined; no window is merged (see
 * PaneList.summary), so the caller merges only the window it judges.
 */
export function shortestSummaryWith<S>(
  view: { summary(spec: WindowSpec, boundary: number): S },
  specs: readonly WindowSpec[],
  boundary: number,
  enough: (summary: S) => boolean,
): WindowSpec | undefined {
  for (const spec of specs) if (enough(view.summary(spec, boundary))) return spec;
  return undefined;
}
