import { describe, expect, it } from 'vitest';
import { addValue, mergeHistogram, newLogHistogram, quantile } from './log-histogram.js';

describe('LogHistogram', () => {
  it('reads a median back within 1 % and 1 exactly', () => {
    const h = newLogHistogram();
    for (const v of [1_000, 1_000, 1_003, 997, 5_000]) addValue(h, v);
    expect(Math.abs((quantile(h, 0.5) as number) / 1_000 - 1)).toBeLessThan(0.01);
    const ones = newLogHistogram();
    addValue(ones, 1);
    expect(quantile(ones, 0.5)).toBe(1);
  });

  it('keeps zeros apart and merges by adding counts', () => {
    const a = newLogHistogram();
    const b = newLogHistogram();
    addValue(a, 0);
    addValue(a, 0);
    addValue(b, 10);
    mergeHistogram(a, b);
    expect(a.count).toBe(3);
    expect(quantile(a, 0)).toBe(0);
    expect(quantile(a, 1)).toBeCloseTo(10, 0);
    expect(quantile(newLogHistogram(), 0.5)).toBeUndefined();
  });
});
