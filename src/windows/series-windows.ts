/**
 * Windowed state per series (docs/architecture.md, Event time and windows; docs/input.md). Each series keeps fine panes (`slide` wide) and coarse
 * panes (`coarse_slide` wide) of an accumulator; a window is the merge of the closed panes it
 * covers. The number of series is capped: spans of further series go to `__overflow__`, counted,
 * as the Collector's spanmetrics connector does. Memory = series × panes, never total spans.
 *
 * Change-driven (docs/engine.md): each series is on an agenda at the next boundary where a pane
 * with data enters or leaves a window the detector reads; detectors judge only the series due
 * (src/windows/judging.ts), and a series' last judgement stands in between.
 */
import type { Registry } from 'prom-client';
import FlatQueue from 'flatqueue';
import type { Observation, Subject } from '../model/painpoint.js';
import type { WindowsSettings } from '../config/service-schema.js';
import { OVERFLOW_SUBJECT, subjectKey } from '../model/series.js';
import { paneStart, type WindowSpec, windowSpecs } from './window-spec.js';
import { registerWindowSource, windowMetrics, type WindowMetrics } from './window-metrics.js';

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
  /**
   * The sample count an input adds (calls, successful calls, traces…), kept as running sums per
   * pane list so a window's count is two binary searches: `atLeast` probes windows by it, and a
   * judgement that only learnt "fewer than min samples" is woken only when that could change.
   * Default: 1 per input.
   */
  weight?(input: I): number;
}

export interface WindowSummary<A, S> {
  create(): S;
  /** fold one pane's accumulator into `into` (the pane is not modified) */
  add(into: S, pane: A): void;
  /**
   * For a summary that is a sum of counts: a pane's counts in a fixed order (written into `out`
   * from `at`), and the summary of summed counts. Windows are then summarized from running sums
   * over the panes, two lookups instead of a fold over every pane of the window.
   */
  readonly additive?: {
    readonly width: number;
    counts(pane: A, out: number[], at: number): void;
    /** the summary of summed counts (`sums` is scratch, reused: read it, never keep it) */
    fromCounts(sums: readonly number[]): S;
  };
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
  /** every window the detector reads (default: each configured window, ending at the boundary) */
  readonly reads?: readonly WindowRead[];
  /** the detector's judging period (default: the event clock's step) */
  readonly gridMs?: number;
  /** `every` (the reference mode) judges every series at every boundary: no agenda is kept */
  readonly judging?: 'changed' | 'every';
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
  /**
   * whether the window holds at least `min` samples (the aggregator's weight), without merging or
   * summarizing it; a judgement that learns only "fewer" is not woken by the window's changes
   * until its count could reach `min`
   */
  atLeast(spec: WindowSpec, boundary: number, min: number): boolean;
}

/** A series' view with window summaries (SeriesWindows' own series). */
export interface SummarizedView<A, S> extends SeriesView<A> {
  /**
   * the aggregator's summary of the same panes, without merging them; shared and cached with the
   * window: the same object is returned while (and only while) the window's merge is the same
   * (never modify it). Throws when the aggregator has no summary.
   */
  summary(spec: WindowSpec, boundary: number): S;
  /**
   * Visits the accumulators of the closed panes `window` would merge, in no set order, without
   * merging them (never modify them); read as `window` is. For a rule that can prove from the
   * panes alone, more cheaply than by merging them, that it cannot fire.
   */
  forEachPane(spec: WindowSpec, boundary: number, visit: (pane: A) => void): void;
  /**
   * `window`'s merge, made when the returned function is first called (then kept), read as
   * `window` is now. For evidence built only for the few observations written: the panes are
   * taken now and merged later, which is the merge `window` returns now because a pane in a read
   * window is closed and never changes again (the event clock drops a span whose pane closed).
   * Windows fed late inputs (a pane already in a window changed) are merged at once.
   */
  deferredWindow(spec: WindowSpec, boundary: number): () => A;
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

/**
 * A window size's cached windows: the latest, and the one it held before (a detector that merges a
 * size at two ends, a baseline ending before the judged part and the judged window itself, keeps
 * both). A short list scanned by size rather than Maps: profiling the 10-day kc history showed the
 * Map lookups of each window probe as the top self time of the window module.
 */
interface CacheSlot<A, S> {
  readonly size: number;
  latest: CachedWindow<A, S> | undefined;
  older: CachedWindow<A, S> | undefined;
}

/** scratch for summed counts (PaneList.summedCounts), read by `fromCounts` before the next use */
const scratchSums: number[] = [];

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
  /** the panes' accumulators, in the order of `starts` */
  readonly panes: A[] = [];
  /** the panes' creation numbers (panes are merged in creation order), in the order of `starts` */
  private readonly seqs: number[] = [];
  /** cached windows by window size; a window is dropped as soon as a pane in its range changes */
  private slots: CacheSlot<A, S>[] = [];
  private created = 0;
  /** no cached window holds a pane starting after this */
  private cachedLast = Number.NEGATIVE_INFINITY;
  /** index range [lo, hi) of the panes of the window `entry` returned last (scratch, saves an allocation per lookup) */
  private lo = 0;
  private hi = 0;
  /** running sums of the panes' sample counts: sums[i] = weight of panes 0..i, plus `dropped` */
  private readonly sums: number[] = [];
  /** weight of the panes dropped from the front */
  private dropped = 0;
  /** index of the pane `pane()` returned last */
  lastIndex = -1;
  /**
   * running sums of additive summary counts, `width` per pane (panes 0..i summed, plus the
   * dropped ones); valid below `sumsValidTo`, recomputed from there when asked
   */
  private vsums: number[] = [];
  private vdropped: number[] = [];
  private sumsValidTo = 0;

  /** The pane starting at `start`, created (in start order) when missing. */
  pane(start: number, create: () => A): A {
    const n = this.starts.length;
    let i: number;
    if (n === 0 || (this.starts[n - 1] as number) < start) i = n;
    else if (this.starts[n - 1] === start) {
      this.lastIndex = n - 1;
      return this.panes[n - 1] as A;
    } else {
      i = lowerBound(this.starts, start);
      if (this.starts[i] === start) {
        this.lastIndex = i;
        return this.panes[i] as A;
      }
    }
    const acc = create();
    const before = i > 0 ? (this.sums[i - 1] as number) : this.dropped;
    if (i === n) {
      this.starts.push(start);
      this.panes.push(acc);
      this.seqs.push(this.created++);
      this.sums.push(before);
    } else {
      this.starts.splice(i, 0, start);
      this.panes.splice(i, 0, acc);
      this.seqs.splice(i, 0, this.created++);
      this.sums.splice(i, 0, before);
    }
    this.lastIndex = i;
    if (i < this.sumsValidTo) this.sumsValidTo = i;
    return acc;
  }

  /** Adds `w` samples to the pane at index `i` (nearly always the last). */
  addWeight(i: number, w: number): void {
    if (w === 0) return;
    for (let j = i; j < this.sums.length; j++) (this.sums as number[])[j] = (this.sums[j] as number) + w;
  }

  /** Samples in the panes starting in [start, end). */
  count(start: number, end: number): number {
    const lo = lowerBound(this.starts, start);
    const hi = lowerBound(this.starts, end);
    if (hi <= lo) return 0;
    return (this.sums[hi - 1] as number) - (lo > 0 ? (this.sums[lo - 1] as number) : this.dropped);
  }

  /** A pane at `start` changed: cached windows whose pane range holds it are stale. */
  changed(start: number): void {
    if (this.lastIndex >= 0 && this.lastIndex < this.sumsValidTo && this.starts[this.lastIndex] === start) this.sumsValidTo = this.lastIndex;
    else if (this.sumsValidTo > 0) this.sumsValidTo = Math.min(this.sumsValidTo, lowerBound(this.starts, start));
    // inputs nearly always go to a pane after every cached window (windows hold closed panes)
    if (start > this.cachedLast) return;
    for (const slot of this.slots) {
      const latest = slot.latest;
      if (latest !== undefined && latest.first <= start && start <= latest.last) slot.latest = undefined;
      const older = slot.older;
      if (older !== undefined && older.first <= start && start <= older.last) slot.older = undefined;
    }
  }

  /** Drops panes starting before `floor`. */
  dropBefore(floor: number): void {
    if (this.starts.length === 0 || (this.starts[0] as number) >= floor) return;
    const k = lowerBound(this.starts, floor);
    this.dropped = this.sums[k - 1] as number;
    const width = this.vdropped.length;
    if (width > 0) {
      if (this.sumsValidTo >= k) {
        for (let j = 0; j < width; j++) this.vdropped[j] = this.vsums[(k - 1) * width + j] as number;
        this.vsums.splice(0, k * width);
        this.sumsValidTo -= k;
      } else {
        // the sums are rebuilt from the first pane kept: fold the dropped panes into the base
        this.vdropped = [];
        this.vsums = [];
        this.sumsValidTo = 0;
      }
    }
    this.starts.splice(0, k);
    this.panes.splice(0, k);
    this.seqs.splice(0, k);
    this.sums.splice(0, k);
  }

  get size(): number {
    return this.starts.length;
  }

  /** The merge of the panes starting in [start, end), cached under `size` while they are unchanged. */
  merge(agg: PaneAggregator<A, unknown, S>, size: number, start: number, end: number): A {
    const w = this.entry(size, start, end);
    return (w.acc ??= mergePanes(agg, this.panes, this.seqs, this.lo, this.hi));
  }

  /**
   * `merge`, made on first call of the returned function from the panes in the range now (see
   * SummarizedView.deferredWindow): profiling the 10-day kc history showed the merges of windows
   * whose failure rate fires, for evidence written for 5 % of them, as failure_rate's top self time.
   */
  deferredMerge(agg: PaneAggregator<A, unknown, S>, size: number, start: number, end: number): () => A {
    const w = this.entry(size, start, end);
    const known = w.acc;
    if (known !== undefined) return () => known;
    const panes = this.panes.slice(this.lo, this.hi);
    const seqs = this.seqs.slice(this.lo, this.hi);
    let merged: A | undefined;
    return () => (merged ??= mergePanes(agg, panes, seqs, 0, panes.length));
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
      const additive = fold.additive;
      if (additive !== undefined) w.summary = additive.fromCounts(this.summedCounts(additive, this.lo, this.hi));
      else {
        const out = fold.create();
        for (let i = this.lo; i < this.hi; i++) fold.add(out, this.panes[i] as A);
        w.summary = out;
      }
    }
    return w.summary;
  }

  /** Counts summed over panes [lo, hi), from the running sums (brought up to date first), in scratchSums. */
  private summedCounts(additive: NonNullable<WindowSummary<A, S>['additive']>, lo: number, hi: number): number[] {
    const width = additive.width;
    if (this.vdropped.length !== width) {
      // first use, or the base was reset by a drop: start over from the first pane kept
      this.vdropped = new Array<number>(width).fill(0);
      this.vsums = [];
      this.sumsValidTo = 0;
    }
    const n = this.panes.length;
    if (this.sumsValidTo < n) {
      this.vsums.length = n * width;
      for (let i = this.sumsValidTo; i < n; i++) {
        additive.counts(this.panes[i] as A, this.vsums, i * width);
        for (let j = 0; j < width; j++) {
          const before = i > 0 ? (this.vsums[(i - 1) * width + j] as number) : (this.vdropped[j] as number);
          this.vsums[i * width + j] = (this.vsums[i * width + j] as number) + before;
        }
      }
      this.sumsValidTo = n;
    }
    const out = scratchSums;
    out.length = width;
    for (let j = 0; j < width; j++) {
      const top = hi > 0 ? (this.vsums[(hi - 1) * width + j] as number) : (this.vdropped[j] as number);
      const below = lo > 0 ? (this.vsums[(lo - 1) * width + j] as number) : (this.vdropped[j] as number);
      out[j] = hi > lo ? top - below : 0;
    }
    return out;
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
    const slots = this.slots;
    let slot: CacheSlot<A, S> | undefined;
    for (let i = 0; i < slots.length; i++) {
      if ((slots[i] as CacheSlot<A, S>).size === size) {
        slot = slots[i];
        break;
      }
    }
    if (slot !== undefined) {
      const latest = slot.latest;
      if (latest !== undefined && latest.count === count && latest.first === first && latest.last === last) return latest;
      const older = slot.older;
      if (older !== undefined && older.count === count && older.first === first && older.last === last) {
        slot.older = latest;
        slot.latest = older;
        return older;
      }
      if (latest !== undefined) slot.older = latest;
    } else {
      if (slots.length >= MAX_CACHED_WINDOWS) slots.length = 0;
      slot = { size, latest: undefined, older: undefined };
      slots.push(slot);
    }
    const w: CachedWindow<A, S> = { first, last, count, acc: undefined, summary: undefined };
    slot.latest = w;
    if (last > this.cachedLast) this.cachedLast = last;
    return w;
  }

  /** Visits the panes starting in [start, end). */
  forEach(start: number, end: number, visit: (pane: A) => void): void {
    const hi = lowerBound(this.starts, end);
    for (let i = lowerBound(this.starts, start); i < hi; i++) visit(this.panes[i] as A);
  }

}

/** Merges `panes` [lo, hi) (in start order, created as numbered by `seqs`) in creation order. */
function mergePanes<A, S>(agg: PaneAggregator<A, unknown, S>, panes: readonly A[], seqs: readonly number[], lo: number, hi: number): A {
  const out = agg.create();
  let inOrder = true;
  for (let i = lo + 1; i < hi; i++) {
    if ((seqs[i] as number) < (seqs[i - 1] as number)) {
      inOrder = false;
      break;
    }
  }
  if (inOrder) {
    for (let i = lo; i < hi; i++) agg.merge(out, panes[i] as A);
  } else {
    // a pane was created out of start order: merge in creation order, as a Map of panes iterated
    // (order matters to capped label counts and exemplar lists)
    const order: number[] = [];
    for (let i = lo; i < hi; i++) order.push(i);
    order.sort((a, b) => (seqs[a] as number) - (seqs[b] as number));
    for (const i of order) agg.merge(out, panes[i] as A);
  }
  return out;
}


/**
 * A window a detector reads: `spec` ending `offsetMs` before the judged boundary. Declaring every
 * read is what lets a series be judged only when one of them changed (docs/engine.md): a pane
 * with data enters or leaves a read window only at boundaries computed from its start.
 */
export interface WindowRead {
  readonly spec: WindowSpec;
  readonly offsetMs: number;
}

/**
 * What a judgement read, DEP_STRIDE numbers per window read, flat: a window (pane width, size)
 * ending `offset` before the judged boundary, and `gate` > 0 when only "fewer than `gate` samples"
 * was learnt from it (atLeast), 0 when its contents were used. Flat numbers rather than an object
 * per read: profiling the kc history showed the window module's allocations per judgement among
 * the garbage collector's work.
 */
type Dependencies = number[];
const DEP_STRIDE = 4;
const DEP_PANE = 0;
const DEP_SIZE = 1;
const DEP_OFFSET = 2;
const DEP_GATE = 3;

class Series<A, I, S> implements SummarizedView<A, S> {
  readonly fine = new PaneList<A, S>();
  readonly coarse = new PaneList<A, S>();
  whole: A | undefined;
  lastTimeMs = Number.NEGATIVE_INFINITY;
  /** the boundary it is on the agenda for (+∞: none) */
  due = Number.POSITIVE_INFINITY;
  /** false once the series was dropped (its agenda entries are stale) */
  alive = true;
  /** what the last judgement of this series observed, for clears (see judging.ts) */
  standing: readonly StandingEntry[] = [];
  /** what the last judgement read (undefined before the first) */
  deps: Dependencies | undefined;
  /** the boundary being judged while reads are recorded, else NaN */
  recording = Number.NaN;
  /** a pane already inside the windows changed (a late input): judge at the next boundary */
  touched = false;
  /** what the judgement before the last one read (see SeriesWindows.afterJudging) */
  previousDeps: Dependencies | undefined;
  /** an input was added since its next change was last computed */
  added = false;

  constructor(
    readonly subject: Subject,
    readonly key: string,
    /** creation number: the iteration order of the series map */
    readonly seq: number,
    private readonly owner: SeriesWindows<A, I, S>,
  ) {}

  window(spec: WindowSpec, boundary: number): A {
    this.record(spec, boundary, 0);
    return this.owner.mergeWindow(this, spec, boundary);
  }

  summary(spec: WindowSpec, boundary: number): S {
    this.record(spec, boundary, 0);
    return this.owner.summarizeWindow(this, spec, boundary);
  }

  forEachPane(spec: WindowSpec, boundary: number, visit: (pane: A) => void): void {
    this.record(spec, boundary, 0);
    this.owner.visitWindow(this, spec, boundary, visit);
  }

  deferredWindow(spec: WindowSpec, boundary: number): () => A {
    this.record(spec, boundary, 0);
    return this.owner.deferWindow(this, spec, boundary);
  }

  atLeast(spec: WindowSpec, boundary: number, min: number): boolean {
    const enough = this.owner.countWindow(this, spec, boundary) >= min;
    this.record(spec, boundary, enough ? 0 : min);
    return enough;
  }

  all(): A | undefined {
    return this.whole;
  }

  private record(spec: WindowSpec, boundary: number, gate: number): void {
    if (this.recording !== this.recording) return;
    const offset = this.recording - boundary;
    const deps = this.deps as Dependencies;
    for (let i = 0; i < deps.length; i += DEP_STRIDE) {
      if (deps[i + DEP_SIZE] === spec.sizeMs && deps[i + DEP_PANE] === spec.paneMs && deps[i + DEP_OFFSET] === offset) {
        // contents used beat a count learnt earlier
        if (gate === 0) deps[i + DEP_GATE] = 0;
        return;
      }
    }
    deps.push(spec.paneMs, spec.sizeMs, offset, gate);
  }
}

/** One kind + subject a series' last judgement observed, with the severity it gave. */
export interface StandingEntry {
  readonly kind: Observation['kind'];
  readonly subject: Subject;
  readonly key: string;
  readonly severity: Observation['severity'];
}

function sameDeps(a: Dependencies | undefined, b: Dependencies | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A series as the judging loop sees it. */
export interface JudgedSeries<A, S> extends SummarizedView<A, S> {
  readonly seq: number;
  /** false once the series was dropped */
  readonly alive: boolean;
  standing: readonly StandingEntry[];
}

function bySeq(a: { readonly seq: number }, b: { readonly seq: number }): number {
  return a.seq - b.seq;
}

/** The smallest multiple of `unit` strictly greater than `t`. */
function nextMultipleAfter(t: number, unit: number): number {
  return Math.floor(t / unit) * unit + unit;
}

/** Ceiling of `t` to a multiple of `unit`. */
function ceilTo(t: number, unit: number): number {
  return Math.ceil(t / unit) * unit;
}

export class SeriesWindows<A, I, S = never> {
  private readonly series = new Map<string, Series<A, I, S>>();
  private readonly agg: PaneAggregator<A, I, S>;
  private readonly create: () => A;
  private readonly weight: (input: I) => number;
  private readonly slide: number;
  private readonly coarseSlide: number;
  /** how far back the furthest fine / coarse read reaches (size + offset); panes older are dropped */
  private readonly fineReach: number;
  private readonly coarseReach: number;
  private readonly keepFine: boolean;
  private readonly keepCoarse: boolean;
  private readonly metrics: WindowMetrics | undefined;
  /** series by due boundary; entries whose boundary no longer matches the series' are stale */
  private readonly agenda = new FlatQueue<Series<A, I, S>>();
  /** the subject of the last input and its own series (see seriesOf) */
  private lastSubject: Subject | undefined;
  private lastSeries: Series<A, I, S> | undefined;
  /** the list takeDue returns (reused) */
  private readonly dueList: Series<A, I, S>[] = [];
  private created = 0;
  /** the last boundary judged (or passed) */
  private cursor = Number.NEGATIVE_INFINITY;
  readonly specs: readonly WindowSpec[];
  /** the judging period: boundaries are its multiples */
  readonly gridMs: number;
  /** the event clock's step: pane expiry follows the clock as the judge-every reference does */
  private readonly clockStep: number;
  /** spans that went to the overflow series */
  overflowed = 0;
  /** inputs added to a pane already in a read window (see deferWindow) */
  private lateInputs = 0;

  constructor(private readonly options: SeriesWindowsOptions<A, I, S>) {
    this.agg = options.aggregator;
    this.create = () => this.agg.create();
    this.weight = options.aggregator.weight?.bind(options.aggregator) ?? (() => 1);
    const w = options.windows;
    this.slide = w.slide;
    this.coarseSlide = w.coarse_slide;
    this.specs = windowSpecs(w);
    this.clockStep = Math.max(w.slide, w.judge_every ?? w.slide);
    this.gridMs = options.gridMs ?? this.clockStep;
    const reads = options.reads ?? this.specs.map((spec) => ({ spec, offsetMs: 0 }));
    const fine = reads.filter((r) => r.spec.paneMs === w.slide);
    const coarse = reads.filter((r) => r.spec.paneMs !== w.slide);
    if (coarse.some((r) => r.spec.paneMs !== w.coarse_slide)) throw new Error('a window read must be on fine or coarse panes');
    this.fineReach = Math.max(0, ...fine.map((r) => r.spec.sizeMs + r.offsetMs));
    // a coarse read at an offset ends at the start of the coarse pane holding boundary − offset
    this.coarseReach = Math.max(0, ...coarse.map((r) => r.spec.sizeMs + ceilTo(r.offsetMs, w.coarse_slide)));
    this.keepFine = fine.length > 0;
    this.keepCoarse = coarse.length > 0;
    this.metrics = options.metrics ? windowMetrics(options.metrics) : undefined;
    if (options.metrics) registerWindowSource(options.metrics, { name: options.name, panes: () => this.paneCount(), series: () => this.series.size });
  }

  get size(): number {
    return this.series.size;
  }

  /** Adds one input at event time `timeMs` to every subject's series. */
  add(subjects: readonly Subject[], timeMs: number, input: I): void {
    for (const subject of subjects) this.addOne(subject, timeMs, input);
  }

  private addOne(subject: Subject, timeMs: number, input: I): void {
    let s = this.lastSeries;
    if (subject !== this.lastSubject || s === undefined || !s.alive) s = this.seriesOf(subject);
    this.addToSeries(s, timeMs, input);
  }

  /**
   * The series `subject`'s inputs go to (made when missing; the overflow series past max_series).
   * The last subject's own series is remembered: consecutive inputs of one subject object (a
   * detector's kept subject arrays) then skip the key lookups.
   */
  private seriesOf(subject: Subject): Series<A, I, S> {
    const key = subjectKey(subject);
    let s = this.series.get(key);
    if (s === undefined && this.series.size >= this.options.maxSeries) {
      // not remembered: the subject gets its own series once there is room
      this.overflowed++;
      this.metrics?.overflowSpans.inc({ processor: this.options.name });
      const overflowKey = subjectKey(OVERFLOW_SUBJECT);
      s = this.series.get(overflowKey);
      if (s === undefined) {
        s = new Series(OVERFLOW_SUBJECT, overflowKey, this.created++, this);
        this.series.set(overflowKey, s);
      }
      return s;
    }
    if (s === undefined) {
      s = new Series(subject, key, this.created++, this);
      this.series.set(key, s);
    }
    this.lastSubject = subject;
    this.lastSeries = s;
    return s;
  }

  private addToSeries(s: Series<A, I, S>, timeMs: number, input: I): void {
    const w = this.weight(input);
    const next = nextMultipleAfter(this.cursor, this.gridMs);
    // The earliest boundary at which the input can matter: when its pane enters a window (checked
    // then against what the series' last judgement read), or at once if its pane is already in one.
    let due = Number.POSITIVE_INFINITY;
    if (this.keepFine) {
      const p = paneStart(timeMs, this.slide);
      this.addToPane(s.fine, p, input, w);
      const enters = ceilTo(p + 1, this.gridMs);
      if (enters < next) this.touch(s);
      due = Math.max(enters, next);
    }
    if (this.keepCoarse) {
      const p = paneStart(timeMs, this.coarseSlide);
      this.addToPane(s.coarse, p, input, w);
      const enters = ceilTo(p + this.coarseSlide, this.gridMs);
      if (enters < next) this.touch(s);
      due = Math.min(due, Math.max(enters, next));
    }
    if (this.options.keepAll) {
      s.whole ??= this.agg.create();
      this.agg.add(s.whole, input);
    }
    if (timeMs > s.lastTimeMs) s.lastTimeMs = timeMs;
    s.added = true;
    this.schedule(s, due);
  }

  private touch(s: Series<A, I, S>): void {
    s.touched = true;
    this.lateInputs++;
  }

  private addToPane(panes: PaneList<A, S>, start: number, input: I, weight: number): void {
    this.agg.add(panes.pane(start, this.create), input);
    panes.addWeight(panes.lastIndex, weight);
    panes.changed(start);
  }

  private schedule(s: Series<A, I, S>, due: number): void {
    if (!(due < s.due) || this.options.judging === 'every') return;
    s.due = due;
    this.agenda.push(s, due);
  }

  /** The series of `subject`, if it is tracked (it is not created). */
  get(subject: Subject): SummarizedView<A, S> | undefined {
    return this.series.get(subjectKey(subject));
  }

  /** Every tracked series, in creation order. */
  all(): Iterable<SummarizedView<A, S>> {
    return this.series.values();
  }

  /** Every tracked series in iteration order (judge-every-boundary mode). */
  allSeries(): Iterable<JudgedSeries<A, S>> {
    return this.series.values();
  }

  /** The earliest boundary at which some series may need judging, +∞ when none. */
  nextDue(): number {
    const agenda = this.agenda;
    while (agenda.length > 0) {
      const s = agenda.peek() as Series<A, I, S>;
      if (s.alive && s.due === agenda.peekValue()) return s.due;
      agenda.pop(); // stale: the series was rescheduled or dropped
    }
    return Number.POSITIVE_INFINITY;
  }

  /**
   * The series to judge at `boundary`, in creation order: those on the agenda for it whose last
   * judgement read something that changes there (the others are put back at their next change).
   * The list is this instance's own, refilled by the next call: read it before calling again.
   */
  takeDue(boundary: number): JudgedSeries<A, S>[] {
    // one list per instance, refilled at each call: a judging loop reads it before the next call
    const out = this.dueList;
    out.length = 0;
    const agenda = this.agenda;
    while (agenda.length > 0 && (agenda.peekValue() as number) <= boundary) {
      const s = agenda.pop() as Series<A, I, S>;
      if (!s.alive || s.due !== boundary) continue;
      s.due = Number.POSITIVE_INFINITY;
      // Without an input since its next change was computed, the series is due where that change
      // is: computing it again gives this boundary (profiling the kc history showed this
      // recomputation, once per judgement, as the top self time of the agenda).
      if (s.deps === undefined || s.touched || !s.added) {
        out.push(s);
        continue;
      }
      const next = this.nextChange(s, boundary - 1);
      s.added = false;
      if (next === boundary) out.push(s);
      else this.schedule(s, next);
    }
    // A short list by insertion sort, which allocates nothing (Array.prototype.sort copied the
    // list at every call, profiled on the kc history); a long one (a dense live load) by sort.
    if (out.length > 16) out.sort(bySeq);
    else for (let i = 1; i < out.length; i++) {
      const x = out[i] as Series<A, I, S>;
      let j = i - 1;
      while (j >= 0 && (out[j] as Series<A, I, S>).seq > x.seq) {
        out[j + 1] = out[j] as Series<A, I, S>;
        j--;
      }
      out[j + 1] = x;
    }
    return out;
  }

  /**
   * Before judging at `boundary`: drops the panes the judge-every-boundary reference would have
   * dropped at the previous clock boundary (none of them is in a read window any more), and starts
   * recording what the judgement reads.
   */
  beforeJudging(view: JudgedSeries<A, S>, boundary: number): void {
    const s = view as Series<A, I, S>;
    this.dropExpired(s, boundary - this.clockStep);
    // the list before last is read by nobody now: reused for this judgement's reads
    const recycled = s.previousDeps;
    s.previousDeps = s.deps;
    if (recycled !== undefined) recycled.length = 0;
    s.deps = recycled ?? [];
    s.recording = boundary;
    s.touched = false;
  }

  /**
   * After judging at `boundary`: drops expired panes, forgets a series with none left (unless the
   * whole input is kept), else schedules it at the next boundary where what it read changes.
   */
  afterJudging(view: JudgedSeries<A, S>, boundary: number): void {
    const s = view as Series<A, I, S>;
    s.recording = Number.NaN;
    this.dropExpired(s, boundary);
    if (s.fine.size === 0 && s.coarse.size === 0 && !this.options.keepAll) {
      s.alive = false;
      this.series.delete(s.key);
      return;
    }
    // Judged with the others of its group (judgeTogether) while it was not due: when it read what
    // it read before and got no input since, its next change is the one it is on the agenda for
    // (the panes dropped since cross no edge after this boundary). Profiling error_cluster, whose
    // series are all judged whenever one changes, showed the recomputation as a top self time.
    if (!s.added && s.due > boundary && s.due !== Number.POSITIVE_INFINITY && sameDeps(s.previousDeps, s.deps)) return;
    s.added = false;
    s.due = Number.POSITIVE_INFINITY;
    this.schedule(s, this.nextChange(s, boundary));
  }

  /**
   * Drops every series' expired panes, and series with none left, as if each had been judged at
   * `boundary`: for consumers that read windows without judging (per-operation metrics).
   */
  advance(boundary: number): void {
    for (const s of [...this.series.values()]) {
      this.dropExpired(s, boundary);
      if (s.fine.size === 0 && s.coarse.size === 0 && !this.options.keepAll) {
        s.alive = false;
        this.series.delete(s.key);
      }
    }
    this.passed(boundary);
  }

  /** Marks every boundary up to `boundary` as passed: later inputs are due after it. */
  passed(boundary: number): void {
    if (boundary > this.cursor) this.cursor = boundary;
  }

  private dropExpired(s: Series<A, I, S>, clockBoundary: number): void {
    // called twice per judgement and nearly always with nothing to drop: the first start is
    // compared first (the coarse floor, a pane start, is at most clockBoundary − coarseReach)
    const fine = s.fine.starts;
    if (fine.length > 0 && (fine[0] as number) < clockBoundary - this.fineReach) s.fine.dropBefore(clockBoundary - this.fineReach);
    const coarse = s.coarse.starts;
    if (coarse.length > 0 && (coarse[0] as number) < clockBoundary - this.coarseReach) s.coarse.dropBefore(paneStart(clockBoundary, this.coarseSlide) - this.coarseReach);
  }

  /**
   * The first boundary after `boundary` at which something the series' last judgement read
   * changes: a pane entering or leaving a window whose contents it used, a window it found short
   * of samples reaching its minimum, or the series' last pane expiring (it is dropped then).
   */
  private nextChange(s: Series<A, I, S>, boundary: number): number {
    let next = this.options.keepAll ? Number.POSITIVE_INFINITY : this.expiry(s);
    if (!(next > boundary)) next = nextMultipleAfter(boundary, this.gridMs);
    const deps = s.deps;
    if (deps === undefined) return next;
    const grid = this.gridMs;
    // a pane crosses an edge after `boundary` when its start + edge is after the grid boundary at
    // or before `boundary` (see nextCrossing)
    const floor = Math.floor(boundary / grid) * grid;
    for (let i = 0; i < deps.length; i += DEP_STRIDE) {
      const paneMs = deps[i + DEP_PANE] as number;
      const sizeMs = deps[i + DEP_SIZE] as number;
      const offset = deps[i + DEP_OFFSET] as number;
      const gate = deps[i + DEP_GATE] as number;
      const fine = paneMs === this.slide;
      const list = fine ? s.fine : s.coarse;
      const add = fine ? 1 : this.coarseSlide;
      if (gate === 0) {
        const starts = list.starts;
        const enter = offset + add;
        let k = upperBound(starts, floor - enter);
        if (k < starts.length) next = Math.min(next, ceilTo((starts[k] as number) + enter, grid));
        const leave = enter + sizeMs;
        k = upperBound(starts, floor - leave);
        if (k < starts.length) next = Math.min(next, ceilTo((starts[k] as number) + leave, grid));
      } else {
        next = Math.min(next, this.nextReaching(list, paneMs, sizeMs, offset, gate, add, boundary, next));
      }
    }
    return next;
  }

  /** The boundary at which the reference drops the series' last pane. */
  private expiry(s: Series<A, I, S>): number {
    let at = Number.NEGATIVE_INFINITY;
    const lastFine = s.fine.starts[s.fine.starts.length - 1];
    if (lastFine !== undefined) at = ceilTo(lastFine + this.fineReach + 1, this.clockStep);
    const lastCoarse = s.coarse.starts[s.coarse.starts.length - 1];
    if (lastCoarse !== undefined) at = Math.max(at, ceilTo(lastCoarse + this.coarseReach + this.coarseSlide, this.clockStep));
    return ceilTo(at, this.gridMs);
  }

  /** The first boundary after `boundary` (and before `limit`) at which a pane entering `d`'s window brings it to `d.gate` samples. */
  private nextReaching(list: PaneList<A, S>, paneMs: number, sizeMs: number, offset: number, gate: number, add: number, boundary: number, limit: number): number {
    const starts = list.starts;
    const grid = this.gridMs;
    let i = firstCrossingAfter(starts, offset + add, boundary, grid);
    for (; i < starts.length; i++) {
      const at = ceilTo((starts[i] as number) + offset + add, grid);
      if (at >= limit) break;
      const end = paneMs === this.slide ? at - offset : paneStart(at - offset, paneMs);
      if (list.count(end - sizeMs, end) >= gate) return at;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Panes held, over every series. */
  paneCount(): number {
    let panes = 0;
    for (const s of this.series.values()) panes += s.fine.size + s.coarse.size;
    return panes;
  }

  /**
   * @internal merge of the panes a window covers; coarse windows end at the last closed coarse pane.
   * The merge is cached and rebuilt only when its panes change. The result is shared: callers must
   * not modify it.
   */
  mergeWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): A {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).merge(this.agg as PaneAggregator<A, unknown, S>, spec.sizeMs, end - spec.sizeMs, end);
  }

  /** @internal `mergeWindow`, deferred (at once when a late input ever changed a pane in a window) */
  deferWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): () => A {
    if (this.lateInputs > 0) {
      const merged = this.mergeWindow(s, spec, boundary);
      return () => merged;
    }
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).deferredMerge(this.agg as PaneAggregator<A, unknown, S>, spec.sizeMs, end - spec.sizeMs, end);
  }

  /** @internal the aggregator's summary of the panes `mergeWindow` would merge (cached with it). */
  summarizeWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): S {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).summary(this.agg as PaneAggregator<A, unknown, S>, spec.sizeMs, end - spec.sizeMs, end);
  }

  /** @internal visits the panes `mergeWindow` would merge. */
  visitWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number, visit: (pane: A) => void): void {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    (coarse ? s.coarse : s.fine).forEach(end - spec.sizeMs, end, visit);
  }

  /** @internal the samples in the panes `mergeWindow` would merge. */
  countWindow(s: Series<A, I, S>, spec: WindowSpec, boundary: number): number {
    const coarse = spec.paneMs !== this.slide;
    const end = coarse ? paneStart(boundary, spec.paneMs) : boundary;
    return (coarse ? s.coarse : s.fine).count(end - spec.sizeMs, end);
  }
}

/**
 * Index of the first pane in `starts` whose crossing of an edge (the first grid boundary ≥
 * start + edge) is after `boundary`. A read of `size` at offset `o` over panes of width w holds
 * the pane starting at p at boundary B when, for fine panes, p + o < B ≤ p + o + size, and for
 * coarse ones (windows end at the start of B − o's coarse pane) when p + o + w ≤ B < p + o +
 * size + w: the pane enters at the first boundary ≥ p + o + add and leaves at the first ≥ p + o +
 * size + add, add being 1 for fine panes (a strict bound on integer times) and w for coarse ones.
 * Starts and edges are whole milliseconds, so that crossing is after `boundary` exactly when
 * start + edge is after the last grid boundary at or before `boundary`: one binary search.
 */
function firstCrossingAfter(starts: readonly number[], edge: number, boundary: number, grid: number): number {
  return upperBound(starts, Math.floor(boundary / grid) * grid - edge);
}

/** Index of the first element of sorted `xs` that is > `x` (xs.length when none is). */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * docs/architecture.md, Event time and windows: a series is judged on the shortest window holding at least `minSamples` calls.
 * Returns that window and its accumulator, or undefined when no window has enough. `count` must
 * never exceed the aggregator's weight sum (by default the number of inputs): windows are first
 * probed with `atLeast`, so a series is not woken by windows too short to matter.
 */
export function shortestWindowWith<A>(
  view: SeriesView<A>,
  specs: readonly WindowSpec[],
  boundary: number,
  count: (acc: A) => number,
  minSamples: number,
): { spec: WindowSpec; acc: A } | undefined {
  for (const spec of specs) {
    if (!view.atLeast(spec, boundary, minSamples)) continue;
    const acc = view.window(spec, boundary);
    if (count(acc) >= minSamples) return { spec, acc };
  }
  return undefined;
}

/**
 * The shortest window whose summary is `enough`, or undefined; no window is merged (see
 * PaneList.summary), so the caller merges only the window it judges. With `gate`, a lower bound
 * on the samples (aggregator weight) any `enough` window holds, windows short of it are probed by
 * count only. `from`: the first of `specs` to probe (the caller knows the ones before fall short).
 */
export function shortestSummaryWith<S>(
  view: { summary(spec: WindowSpec, boundary: number): S; atLeast(spec: WindowSpec, boundary: number, min: number): boolean },
  specs: readonly WindowSpec[],
  boundary: number,
  enough: (summary: S) => boolean,
  gate = 0,
  from = 0,
): WindowSpec | undefined {
  for (let i = from; i < specs.length; i++) {
    const spec = specs[i] as WindowSpec;
    if (gate > 0 && !view.atLeast(spec, boundary, gate)) continue;
    if (enough(view.summary(spec, boundary))) return spec;
  }
  return undefined;
}
