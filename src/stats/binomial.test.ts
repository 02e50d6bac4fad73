import { describe, expect, it } from 'vitest';
import { binomialUpperTail, fisherUpperTail, logFactorial } from './binomial.js';

describe('binomialUpperTail', () => {
  it('gives P(X ≥ 3) = 0.0782 for 17 calls failing 6 % each (a few failures, as background has)', () => {
    // 1 − (0.94^17 + 17·0.06·0.94^16 + 136·0.06²·0.94^15)
    const below = 0.94 ** 17 + 17 * 0.06 * 0.94 ** 16 + 136 * 0.06 ** 2 * 0.94 ** 15;
    expect(binomialUpperTail(3, 17, 0.06)).toBeCloseTo(1 - below, 10);
    expect(binomialUpperTail(3, 17, 0.06)).toBeCloseTo(0.0782, 4);
  });

  it('is 1 at k ≤ 0, 0 above n, and follows p at its ends', () => {
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    expect(binomialUpperTail(1, 10, 0)).toBe(0);
    expect(binomialUpperTail(10, 10, 1)).toBe(1);
    expect(binomialUpperTail(10, 10, 0.5)).toBeCloseTo(0.5 ** 10, 12);
  });

  it('finds 60 failures in 100 calls at a 5 % rate all but impossible, and 5 in 100 ordinary', () => {
    expect(binomialUpperTail(60, 100, 0.05)).toBeLessThan(1e-40);
    expect(binomialUpperTail(5, 100, 0.05)).toBeGreaterThan(0.5);
  });

  it('stays finite and exact for large n, where (1 − p)^n underflows', () => {
    // mean 5 000, sd ≈ 69: 5 000 or more is about one half, 5 300 or more about 7e-6
    expect(binomialUpperTail(5_000, 100_000, 0.05)).toBeCloseTo(0.5, 1);
    const far = binomialUpperTail(5_300, 100_000, 0.05);
    expect(far).toBeGreaterThan(1e-6);
    expect(far).toBeLessThan(2e-5);
  });
});

describe('fisherUpperTail', () => {
  it('gives the hypergeometric tail: 3 of 3 failures in the first 3 of 6 calls is 1 in 20', () => {
    expect(fisherUpperTail(3, 3, 0, 3)).toBeCloseTo(1 / 20, 12);
    // 2 or more of 3 failures among the first 3 of 6: (9 + 1) / 20
    expect(fisherUpperTail(2, 3, 1, 3)).toBeCloseTo(10 / 20, 12);
  });

  it('finds 6 failures in 30 calls beside 1 in 45 unremarkable at the 1 % level, 24 in 40 beside 3 in 60 not', () => {
    const luck = fisherUpperTail(6, 30, 1, 45);
    expect(luck).toBeGreaterThan(0.01);
    expect(luck).toBeLessThan(0.05);
    expect(fisherUpperTail(24, 40, 3, 60)).toBeLessThan(1e-8);
  });

  it('is 1 at or below the fewest failures the first group can hold, 0 above the most', () => {
    expect(fisherUpperTail(0, 10, 5, 10)).toBe(1);
    // 15 failures in 20 calls: the first 10 hold at least 5
    expect(fisherUpperTail(5, 10, 10, 10)).toBe(1);
    expect(fisherUpperTail(11, 10, 0, 10)).toBe(0);
  });

  it('uses ln n! exact below 256 and Stirling above, continuous at the seam', () => {
    let exact = 0;
    for (let i = 2; i <= 300; i++) exact += Math.log(i);
    expect(logFactorial(300)).toBeCloseTo(exact, 8);
    expect(logFactorial(256) - logFactorial(255)).toBeCloseTo(Math.log(256), 10);
  });
});
