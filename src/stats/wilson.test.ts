import { describe, expect, it } from 'vitest';
import { wilsonInterval } from './wilson.js';

describe('wilsonInterval', () => {
  it('gives 30.9 %–49.8 % for 40 failures in 100 calls', () => {
    const w = wilsonInterval(40, 100, 1.96);
    expect(w.lower).toBeCloseTo(0.3094, 4);
    expect(w.upper).toBeCloseTo(0.498, 4);
    expect(w.center).toBeCloseTo((w.lower + w.upper) / 2, 10);
  });

  it('keeps 1 failure in 2 calls wide open: 9.5 %–90.5 %', () => {
    const w = wilsonInterval(1, 2, 1.96);
    expect(w.lower).toBeCloseTo(0.0945, 4);
    expect(w.upper).toBeCloseTo(0.9055, 4);
    expect(w.center).toBeCloseTo(0.5, 10);
  });

  it('has an exact lower bound of 0 with no failures and upper bound 1 when all failed', () => {
    expect(wilsonInterval(0, 10, 1.96)).toMatchObject({ lower: 0 });
    expect(wilsonInterval(0, 10, 1.96).upper).toBeCloseTo(0.2775, 4);
    expect(wilsonInterval(10, 10, 1.96).lower).toBeCloseTo(0.7225, 4);
    expect(wilsonInterval(10, 10, 1.96).upper).toBe(1);
  });

  it('says nothing about zero trials: [0, 1]', () => {
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1, center: 0.5 });
  });

  it('narrows with more samples at the same ratio', () => {
    const small = wilsonInterval(5, 20);
    const big = wilsonInterval(500, 2000);
    expect(small.lower).toBeCloseTo(0.1119, 3);
    expect(big.lower).toBeGreaterThan(small.lower);
    expect(big.upper).toBeLessThan(small.upper);
  });

  it('widens with a larger z (99 % vs 95 %)', () => {
    const w95 = wilsonInterval(40, 100, 1.96);
    const w99 = wilsonInterval(40, 100, 2.576);
    expect(w99.lower).toBeLessThan(w95.lower);
    expect(w99.upper).toBeGreaterThan(w95.upper);
  });
});
