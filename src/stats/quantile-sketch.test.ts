import { describe, expect, it } from 'vitest';
import { DDSketch } from '@datadog/sketches-js';
import { EXACT_LIMIT, QuantileSketch, RELATIVE_ACCURACY } from './quantile-sketch.js';

/** mulberry32: a small seeded generator, so every run sees the same data */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lognormal(rand: () => number, median: number, sigma: number): number {
  const u = Math.max(rand(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return median * Math.exp(sigma * z);
}

/** the value of rank ⌊q·(n − 1)⌋, the convention the sketch uses */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

const QUANTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

function expectWithinBound(values: readonly number[]): void {
  const sketch = new QuantileSketch();
  for (const v of values) sketch.add(v);
  const sorted = [...values].sort((a, b) => a - b);
  expect(sketch.count).toBe(values.length);
  expect(sketch.isExact).toBe(false);
  for (const q of QUANTILES) {
    const exact = exactQuantile(sorted, q);
    const estimate = sketch.quantile(q);
    if (exact === 0) expect(estimate).toBe(0);
    else expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
  }
}

describe('QuantileSketch', () => {
  it('estimates quantiles of lognormal durations within 1 % relative error', () => {
    const rand = seeded(1);
    expectWithinBound(Array.from({ length: 20_000 }, () => lognormal(rand, 250, 1.2)));
  });

  it('estimates quantiles of uniform durations within 1 % relative error', () => {
    const rand = seeded(2);
    expectWithinBound(Array.from({ length: 10_000 }, () => 1 + rand() * 5_000));
  });

  it('estimates quantiles of durations with 30 % zeros within 1 % relative error', () => {
    const rand = seeded(3);
    expectWithinBound(Array.from({ length: 10_000 }, () => (rand() < 0.3 ? 0 : lognormal(rand, 40, 0.8))));
  });

  it('is exact while it holds few values', () => {
    const sketch = new QuantileSketch();
    for (const v of [5, 1, 4, 2, 3]) sketch.add(v);
    expect(sketch.isExact).toBe(true);
    expect(sketch.quantile(0.5)).toBe(3);
    expect(sketch.quantile(1)).toBe(5);
    expect(sketch.min).toBe(1);
    expect(sketch.max).toBe(5);
    expect(sketch.countAbove(3)).toBe(2);
  });

  it('gives the same quantiles for a merge of panes as for a sketch of their union', () => {
    const rand = seeded(4);
    const union = new QuantileSketch();
    const merged = new QuantileSketch();
    // panes of very different sizes: empty, exact, just past the exact limit, large
    for (const size of [0, 3, EXACT_LIMIT, EXACT_LIMIT + 1, 500, 7, 2_000, 1]) {
      const pane = new QuantileSketch();
      for (let i = 0; i < size; i++) {
        const v = rand() < 0.05 ? 0 : lognormal(rand, 800, 1);
        pane.add(v);
        union.add(v);
      }
      merged.merge(pane);
    }
    expect(merged.count).toBe(union.count);
    expect(merged.min).toBe(union.min);
    expect(merged.max).toBe(union.max);
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(union.quantile(q));
    for (const x of [0, 100, 800, 5_000]) expect(merged.countAbove(x)).toBe(union.countAbove(x));
  });

  it('leaves the merged-from sketch unchanged', () => {
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    for (let i = 1; i <= 100; i++) b.add(i);
    const before = b.quantile(0.9);
    a.merge(b);
    a.add(10_000);
    a.merge(b);
    expect(b.count).toBe(100);
    expect(b.quantile(0.9)).toBe(before);
    expect(a.count).toBe(201);
  });

  it('keeps zero durations through merges of sketch-mode panes', () => {
    const zerosOnly = new QuantileSketch();
    for (let i = 0; i < 60; i++) zerosOnly.add(0);
    const slow = new QuantileSketch();
    for (let i = 0; i < 40; i++) slow.add(1_000);
    const merged = new QuantileSketch();
    merged.merge(slow);
    merged.merge(zerosOnly);
    expect(merged.count).toBe(100);
    expect(merged.quantile(0.5)).toBe(0);
    expect(merged.quantile(0.59)).toBe(0);
    expect(merged.quantile(0.61)).toBeCloseTo(1_000, -1);
    expect(merged.countAbove(0)).toBe(40);
  });

  it('counts negative and sub-microsecond durations as zero and ignores non-finite ones', () => {
    const sketch = new QuantileSketch();
    expect(sketch.add(Number.NaN)).toBe(false);
    expect(sketch.add(Number.POSITIVE_INFINITY)).toBe(false);
    sketch.add(-5);
    sketch.add(1e-7);
    sketch.add(10);
    expect(sketch.count).toBe(3);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(sketch.min).toBe(0);
  });

  it('counts values above a threshold as a lower bound within the sketch error', () => {
    const sketch = new QuantileSketch();
    for (let i = 1; i <= 1_000; i++) sketch.add(i);
    const above = sketch.countAbove(500);
    expect(above).toBeLessThanOrEqual(500);
    // values within 2 % of the threshold may be left out, never more
    expect(above).toBeGreaterThanOrEqual(500 - 500 * 2 * RELATIVE_ACCURACY - 1);
    expect(sketch.countAbove(2_000)).toBe(0);
    expect(sketch.countAbove(0)).toBe(1_000);
  });

  it('sums the values it counts above a threshold, exactly while small and within 1 % after', () => {
    const small = new QuantileSketch();
    for (const v of [1, 2, 3, 40, 50]) small.add(v);
    expect(small.sumAbove(3)).toBe(90);
    const sketch = new QuantileSketch();
    for (let i = 1; i <= 1_000; i++) sketch.add(i);
    // it sums the values countAbove counts (the top n: the bin holding 900 is left out), each within 1 %
    const n = sketch.countAbove(900);
    const top = ((1_000 + (1_001 - n)) * n) / 2;
    expect(Math.abs(sketch.sumAbove(900) - top)).toBeLessThanOrEqual(top * RELATIVE_ACCURACY);
    expect(sketch.sumAbove(2_000)).toBe(0);
  });

  it('documents that the bundled DDSketch merge keeps zeroCount (we count zeros ourselves anyway)', () => {
    const a = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    const b = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    a.accept(5);
    b.accept(0);
    b.accept(0);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.zeroCount).toBe(2);
  });
});

describe('merging panes with their bin keys kept', () => {
  /** Everything a reader of the sketch can see, at every rank and around every value. */
  function observed(s: QuantileSketch, values: readonly number[]): unknown {
    const ranks = Array.from({ length: s.count }, (_, i) => s.quantile(s.count > 1 ? i / (s.count - 1) : 0));
    const around = values.flatMap((v) => [v * 0.97, v, v * 1.03]).map((x) => [s.countAbove(x), s.sumAbove(x)]);
    // (the sum is left out: summed pane by pane it may differ from one summed value by value in the last bit)
    return { count: s.count, min: s.min, max: s.max, exact: s.isExact, ranks, around };
  }

  it('gives what adding every value one by one gives, as panes grow between merges (no stale keys)', () => {
    const rand = seeded(11);
    const panes = Array.from({ length: 12 }, () => new QuantileSketch());
    const fed: number[][] = panes.map(() => []);
    for (let round = 0; round < 6; round++) {
      // each pane takes a few more values (zeros too), staying exact or passing the limit
      panes.forEach((pane, i) => {
        const n = 1 + Math.floor(rand() * (i === 3 ? 12 : 5));
        for (let k = 0; k < n; k++) {
          const v = rand() < 0.05 ? 0 : lognormal(rand, 200 * (1 + i), 1.2);
          pane.add(v);
          fed[i]?.push(v);
        }
      });
      // windows over different ranges of the panes, merged again after the panes grew
      for (const [lo, hi] of [[0, 12], [2, 9], [5, 6], [0, 3]] as const) {
        const window = new QuantileSketch();
        for (let i = lo; i < hi; i++) window.merge(panes[i] as QuantileSketch);
        const reference = new QuantileSketch();
        const values = fed.slice(lo, hi).flat();
        for (const v of values) reference.add(v);
        expect(observed(window, values)).toEqual(observed(reference, values));
      }
    }
  });

  it('gives the same after merges of exact sketches and their move into a DDSketch', () => {
    const rand = seeded(5);
    const small = Array.from({ length: 10 }, () => {
      const s = new QuantileSketch();
      for (let k = 0; k < 4; k++) s.add(lognormal(rand, 50, 1));
      return s;
    });
    // the panes' keys are made by a first window, then reused by windows made of windows
    const first = new QuantileSketch();
    for (const s of small) first.merge(s);
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    for (const s of small.slice(0, 5)) a.merge(s);
    for (const s of small.slice(5)) b.merge(s);
    const late = lognormal(rand, 5_000, 0.5);
    a.add(late);
    const both = new QuantileSketch();
    both.merge(a);
    both.merge(b);
    const reference = new QuantileSketch();
    const values: number[] = [];
    for (const s of small.slice(0, 5)) for (let i = 0; i < s.count; i++) values.push(s.quantile(i / (s.count - 1)));
    values.push(late);
    for (const s of small.slice(5)) for (let i = 0; i < s.count; i++) values.push(s.quantile(i / (s.count - 1)));
    for (const v of values) reference.add(v);
    expect(both.isExact).toBe(false);
    expect(observed(both, values)).toEqual(observed(reference, values));
  });
});

describe('QuantileSketch.appendExactTo', () => {
  it('appends the values while exact, and nothing once the DDSketch holds them', () => {
    const s = new QuantileSketch();
    for (const v of [3, 1, 0.0001, 2]) s.add(v);
    const out = [7];
    expect(s.appendExactTo(out)).toBe(true);
    expect(out).toEqual([7, 3, 1, 0, 2]);
    for (let i = 0; i < EXACT_LIMIT; i++) s.add(10 + i);
    const none: number[] = [];
    expect(s.appendExactTo(none)).toBe(false);
    expect(none).toEqual([]);
  });
});
