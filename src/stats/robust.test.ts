import { describe, expect, it } from 'vitest';
import { MAD_TO_SIGMA, ewmaLimits, ewmaNext, median, medianAbsoluteDeviation, robustScale, robustSummary, robustZ } from './robust.js';

describe('robust statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, without reordering the input', () => {
    const input = [5, 1, 3];
    expect(median(input)).toBe(3);
    expect(input).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('computes the MAD, unmoved by one wild value', () => {
    // deviations from median 3: 2, 1, 0, 1, 997 → median 1
    expect(medianAbsoluteDeviation([1, 2, 3, 4, 1000])).toBe(1);
  });

  it('floors the scale of a constant series so a tiny change is not an outlier', () => {
    const s = robustSummary([1000, 1000, 1000, 1000, 1001], { floorRatio: 0.25, absoluteFloor: 1 });
    expect(s.mad).toBe(0);
    expect(s.scale).toBe(250);
    expect(robustZ(1010, s)).toBeCloseTo(0.04, 6);
    expect(robustZ(3000, s)).toBe(8);
  });

  it('uses 1.4826 × MAD when it is above the floors', () => {
    expect(robustScale(10, 20, { floorRatio: 0.1, absoluteFloor: 1 })).toBeCloseTo(10 * MAD_TO_SIGMA, 10);
    expect(robustScale(0, 0, { floorRatio: 0.1, absoluteFloor: 2 })).toBe(2);
  });

  it('seeds the EWMA with the first value, then moves by λ', () => {
    expect(ewmaNext(undefined, 10, 0.25)).toBe(10);
    expect(ewmaNext(10, 20, 0.25)).toBe(12.5);
  });

  it('puts EWMA limits at center ± L·σ·√(λ/(2−λ))', () => {
    const l = ewmaLimits(100, 10, 0.25, 3);
    expect(l.upper).toBeCloseTo(100 + 30 * Math.sqrt(0.25 / 1.75), 10);
    expect(l.lower).toBeCloseTo(100 - 30 * Math.sqrt(0.25 / 1.75), 10);
  });

  it('gives robustSummary the very numbers of median() then medianAbsoluteDeviation(), from one sorted copy', () => {
    const opts = { floorRatio: 0.1, absoluteFloor: 1 };
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cases: number[][] = [[7], [1, 2], [2, 1, 2], [0, 0, 0, 5], [-3, 4, 0.1, 0.2, 1e-9, 7e12]];
    for (let c = 0; c < 500; c++) {
      const n = 1 + Math.floor(rand() * 70);
      const kind = c % 4;
      cases.push(
        Array.from({ length: n }, () =>
          kind === 0 ? Math.floor(rand() * 5) : kind === 1 ? rand() * 1e4 - 5e3 : kind === 2 ? Math.exp(rand() * 20) / 3 : rand() * 0.3 + 0.1,
        ),
      );
    }
    for (const values of cases) {
      const copy = [...values];
      const s = robustSummary(values, opts);
      const m = median(values);
      const mad = medianAbsoluteDeviation(values, m);
      expect(Object.is(s.median, m)).toBe(true);
      expect(Object.is(s.mad, mad)).toBe(true);
      expect(s.scale).toBe(robustScale(mad, m, opts));
      expect(values).toEqual(copy);
    }
  });

  it('keeps robustSummary of empty, non-finite and negative-zero histories as before', () => {
    const opts = { floorRatio: 0.1, absoluteFloor: 1 };
    for (const values of [[], [Number.NaN, 1, 2], [1, Infinity, 3, -Infinity], [-0, 0, -0], [5, -0, 0]]) {
      const s = robustSummary(values, opts);
      const m = median(values);
      expect(Object.is(s.median, m)).toBe(true);
      expect(Object.is(s.mad, medianAbsoluteDeviation(values, m))).toBe(true);
    }
  });
});
