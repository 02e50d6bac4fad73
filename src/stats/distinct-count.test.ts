import { describe, expect, it } from 'vitest';
import { DistinctCount, hashUnit } from './distinct-count.js';

describe('DistinctCount', () => {
  it('counts exactly below k distinct values, ignoring repeats', () => {
    const d = new DistinctCount(64);
    for (let i = 0; i < 50; i++) {
      d.add(`trace-${i}`);
      d.add(`trace-${i}`);
    }
    expect(d.estimate()).toBe(50);
  });

  it('estimates within 30 % above k and stays at k hashes', () => {
    const d = new DistinctCount(64);
    for (let i = 0; i < 10_000; i++) d.add(`trace-${i}`);
    expect(d.estimate()).toBeGreaterThan(7_000);
    expect(d.estimate()).toBeLessThan(13_000);
  });

  it('merges to the count of the union', () => {
    const a = new DistinctCount(64);
    const b = new DistinctCount(64);
    for (let i = 0; i < 30; i++) a.add(`t${i}`);
    for (let i = 20; i < 50; i++) b.add(`t${i}`);
    a.merge(b);
    expect(a.estimate()).toBe(50);
    expect(b.estimate()).toBe(30);
  });

  it('hashes into [0, 1)', () => {
    for (const s of ['', 'a', '__proto__', 'x'.repeat(1000)]) {
      const h = hashUnit(s);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(1);
    }
  });
});
