/**
 * A mergeable quantile sketch of durations in milliseconds (docs/architecture.md, Event time and windows: percentiles come from a
 * mergeable sketch with a relative-error bound, so window panes merge).
 *
 * Wraps `@datadog/sketches-js` DDSketch (relative accuracy 1 %) with three additions:
 * - small sketches hold their values exactly (up to EXACT_LIMIT values): most panes of a sparse
 *   series hold a handful of calls, and an exact array of them is smaller than a DDSketch's
 *   128-bin store; past the limit the values move into the DDSketch, so a merge of panes and a
 *   sketch of their union always hold the same bins (identical quantiles);
 * - zeros are counted here, never in the library's zeroCount (some versions' merge() dropped it);
 *   durations under MIN_POSITIVE_MS count as zero, negative ones (clock skew) too;
 * - values are clamped to MAX_MS so one bogus timestamp cannot grow the dense store without bound.
 */
import { DDSketch } from '@datadog/sketches-js';

export const RELATIVE_ACCURACY = 0.01;
/** values kept exactly before switching to the DDSketch store */
export const EXACT_LIMIT = 32;
/** durations below 1 µs are zero for latency purposes (and keep the store's key range bounded below) */
export const MIN_POSITIVE_MS = 1e-3;
/** about 31 years: bounds the store's key range above */
export const MAX_MS = 1e12;

/** The bin keys of the sketches (every sketch has the same accuracy, so the same mapping). */
const KEYS = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY }).mapping;

export class QuantileSketch {
  /** exact values while small; undefined once the DDSketch holds them */
  private exact: number[] | undefined = [];
  /**
   * the bin keys of `exact`'s first values, made when a merge first moves them into a DDSketch and
   * kept: a pane is merged into a window at every judgement that reads it, and computing each
   * value's key (a logarithm) again every time was a large part of merging latency windows on a
   * kc history (profiled). Values are only appended while exact, so a prefix stays valid. (Not
   * carried into a merge of exact sketches: a window that stays exact would pay for them.)
   */
  private exactKeys: number[] | undefined;
  /** the lowest and highest of `exactKeys` */
  private keyLo = Number.POSITIVE_INFINITY;
  private keyHi = Number.NEGATIVE_INFINITY;
  /** `exact` sorted, made by the first quantile asked for at its size (see quantile) */
  private sorted: number[] | undefined;
  private sketch: DDSketch | undefined;
  /** zeros held in sketch mode (exact mode keeps zeros in `exact`) */
  private zeros = 0;
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  /** Adds one duration (ms). Non-finite values are ignored; the return value says whether it counted. */
  add(ms: number): boolean {
    if (!Number.isFinite(ms)) return false;
    const v = normalize(ms);
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.exact !== undefined) {
      this.exact.push(v);
      if (this.exact.length > EXACT_LIMIT) this.toSketch();
    } else {
      this.acceptIntoSketch(v);
    }
    return true;
  }

  /** Merges `other` into this sketch; `other` is not modified. */
  merge(other: QuantileSketch): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (this.exact !== undefined && other.exact !== undefined && this.exact.length + other.exact.length <= EXACT_LIMIT) {
      const from = other.exact;
      for (let i = 0; i < from.length; i++) this.exact.push(from[i] as number);
      return;
    }
    if (this.exact !== undefined) this.toSketch();
    if (other.exact !== undefined) {
      const keys = other.keysOfExact();
      this.reserve(other.keyLo, other.keyHi);
      for (let i = 0; i < other.exact.length; i++) this.acceptKeyed(other.exact[i] as number, keys[i] as number);
    } else {
      this.zeros += other.zeros;
      if (other.sketch !== undefined && other.sketch.count > 0) (this.sketch as DDSketch).merge(other.sketch);
    }
  }

  /**
   * The value at quantile q ∈ [0, 1], with DDSketch's lower-rank convention: the value of rank
   * ⌊q·(count − 1)⌋ (0-based) in sorted order. Exact while small; within 1 % relative error after.
   * NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0 || !(q >= 0 && q <= 1)) return Number.NaN;
    const rank = quantileRank(q, this.count);
    const exact = this.exact;
    if (exact !== undefined) {
      // sorted once per size, not copied and sorted at every quantile: latency asks a judged
      // window for p95 and p99 several times per judgement (profiled on the 10-day kc history).
      // Values are only appended while exact, so the sorted copy is current while its length is.
      let sorted = this.sorted;
      if (sorted === undefined || sorted.length !== exact.length) {
        sorted = this.sorted = exact.slice().sort(ascending);
      }
      return sorted[rank] as number;
    }
    if (rank < this.zeros) return 0;
    const sketch = this.sketch as DDSketch;
    const key = sketch.store.keyAtRank(rank - this.zeros);
    // The true value lies in [min, max]; clamping only moves the estimate closer to it.
    return Math.min(this.max, Math.max(this.min, sketch.mapping.value(key)));
  }

  /**
   * How many values are certainly greater than `x`. Exact while small; in sketch mode the bin
   * holding `x` is left out (its values are within 2 % of x either side), so this is a lower bound.
   */
  countAbove(x: number): number {
    const exact = this.exact;
    if (exact !== undefined) {
      let n = 0;
      for (let i = 0; i < exact.length; i++) if ((exact[i] as number) > x) n++;
      return n;
    }
    if (x < 0) return this.count;
    const store = (this.sketch as DDSketch).store;
    if (store.count === 0) return 0;
    const firstKey = x < MIN_POSITIVE_MS ? store.minKey : (this.sketch as DDSketch).mapping.key(x) + 1;
    let n = 0;
    for (let key = Math.max(firstKey, store.minKey); key <= store.maxKey; key++) n += store.bins[key - store.offset] ?? 0;
    return n;
  }

  /**
   * How many values may be ≤ `x`: an upper bound. Exact while small; in sketch mode every value of
   * a bin up to the one after x's is counted (zeros too), so a value a rounding of the logarithm
   * put one bin low is never missed. Lets a caller bound a quantile of a union of sketches from
   * below without merging them: if at most r of its values may be ≤ x, the value of rank r is > x.
   */
  countUpTo(x: number): number {
    const exact = this.exact;
    if (exact !== undefined) {
      // an index loop: the array iterator of a for…of here was the largest allocation site of a
      // warm kc history call (latency's ruled-out bounds call this once per pane, ~1 M times)
      let n = 0;
      for (let i = 0; i < exact.length; i++) if ((exact[i] as number) <= x) n++;
      return n;
    }
    if (!(x >= MIN_POSITIVE_MS)) return x >= 0 ? this.zeros + (this.sketch as DDSketch).zeroCount : 0;
    const sketch = this.sketch as DDSketch;
    const store = sketch.store;
    let n = this.zeros + sketch.zeroCount;
    if (store.count === 0) return n;
    const lastKey = Math.min(sketch.mapping.key(x) + 1, store.maxKey);
    for (let key = store.minKey; key <= lastKey; key++) n += store.bins[key - store.offset] ?? 0;
    return n;
  }

  /**
   * The sum of the values countAbove(x) counts: exact while small; in sketch mode each bin counts
   * at its representative value (within 1 %).
   */
  sumAbove(x: number): number {
    if (this.exact !== undefined) {
      let sum = 0;
      for (const v of this.exact) if (v > x) sum += v;
      return sum;
    }
    const sketch = this.sketch as DDSketch;
    const store = sketch.store;
    if (store.count === 0) return 0;
    const firstKey = x < MIN_POSITIVE_MS ? store.minKey : sketch.mapping.key(x) + 1;
    let sum = 0;
    for (let key = Math.max(firstKey, store.minKey); key <= store.maxKey; key++) {
      const n = store.bins[key - store.offset] ?? 0;
      if (n > 0) sum += n * Math.min(this.max, sketch.mapping.value(key));
    }
    return sum;
  }

  /**
   * Appends the values to `out` (in no set order) while they are held exactly and returns true;
   * returns false, appending nothing, once the DDSketch holds them.
   */
  appendExactTo(out: number[]): boolean {
    const exact = this.exact;
    if (exact === undefined) return false;
    for (let i = 0; i < exact.length; i++) out.push(exact[i] as number);
    return true;
  }

  /** true while the values are held exactly */
  get isExact(): boolean {
    return this.exact !== undefined;
  }

  private toSketch(): void {
    const values = this.exact ?? [];
    const keys = this.keysOfExact();
    this.exact = undefined;
    this.exactKeys = undefined;
    this.sorted = undefined;
    this.sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    this.reserve(this.keyLo, this.keyHi);
    for (let i = 0; i < values.length; i++) this.acceptKeyed(values[i] as number, keys[i] as number);
  }

  /**
   * Grows the store once to the keys [lo, hi] before a pane's values are added: the store grows
   * (copying and re-centering its bins) whenever a key falls outside its range, and adding the
   * values one by one grew it at each new extreme. Adding nothing (weight 0) to the lowest and the
   * highest key changes no count and moves no key the values do not reach.
   */
  private reserve(lo: number, hi: number): void {
    if (lo > hi) return;
    const store = (this.sketch as DDSketch).store;
    if (lo < store.minKey) store.add(lo, 0);
    if (hi > store.maxKey) store.add(hi, 0);
  }

  /** The bin keys of every exact value (NaN for a zero), completed from the ones known. */
  private keysOfExact(): readonly number[] {
    const values = this.exact ?? [];
    const keys = (this.exactKeys ??= []);
    for (let i = keys.length; i < values.length; i++) {
      const v = values[i] as number;
      if (v === 0) keys.push(Number.NaN);
      else {
        const k = KEYS.key(v);
        keys.push(k);
        if (k < this.keyLo) this.keyLo = k;
        if (k > this.keyHi) this.keyHi = k;
      }
    }
    return keys;
  }

  private acceptIntoSketch(v: number): void {
    if (v === 0) this.zeros++;
    else (this.sketch as DDSketch).accept(v);
  }

  /** acceptIntoSketch for a value whose key is known: DDSketch.accept's bookkeeping without the logarithm. */
  private acceptKeyed(v: number, key: number): void {
    const sketch = this.sketch as DDSketch;
    if (v === 0) this.zeros++;
    else if (!(v > sketch.mapping.minPossible)) sketch.accept(v);
    else {
      sketch.store.add(key, 1);
      sketch.count += 1;
      sketch.sum += v;
      if (v < sketch.min) sketch.min = v;
      if (v > sketch.max) sketch.max = v;
    }
  }
}

/** The 0-based rank `quantile(q)` reads among `count` sorted values (DDSketch's lower-rank convention). */
export function quantileRank(q: number, count: number): number {
  return Math.floor(q * (count - 1));
}

const ascending = (a: number, b: number): number => a - b;

function normalize(ms: number): number {
  if (ms < MIN_POSITIVE_MS) return 0;
  return ms > MAX_MS ? MAX_MS : ms;
}
