import { describe, expect, it } from 'vitest';
import { RecencyMap } from './recency-map.js';

/** The reference: a Map re-inserted on every set, evicted from its front. */
class NaiveRecency {
  readonly map = new Map<string, number>();
  set(key: string, value: number): void {
    this.map.delete(key);
    this.map.set(key, value);
  }
  evictOldest(): string | undefined {
    const key = this.map.keys().next().value;
    if (key !== undefined) this.map.delete(key);
    return key;
  }
}

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RecencyMap', () => {
  it('evicts the least recently set key first, a set key moving to the newest', () => {
    const m = new RecencyMap<number>();
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    m.set('a', 4);
    expect(m.evictOldest()).toBe('b');
    m.delete('c');
    expect(m.evictOldest()).toBe('a');
    expect(m.evictOldest()).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('agrees with a re-inserted Map over random sets, deletes and evictions, its queue bounded', () => {
    const next = random(11);
    const m = new RecencyMap<number>();
    const ref = new NaiveRecency();
    let maxQueued = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `k${Math.floor(next() * 300)}`;
      const op = next();
      if (op < 0.55) {
        m.set(key, i);
        ref.set(key, i);
      } else if (op < 0.6) {
        expect(m.oldest()).toBe(ref.map.get(ref.map.keys().next().value ?? ''));
      } else if (op < 0.8) {
        expect(m.delete(key)).toBe(ref.map.delete(key));
      } else {
        expect(m.evictOldest()).toBe(ref.evictOldest());
      }
      expect(m.size).toBe(ref.map.size);
      expect(m.get(key)).toBe(ref.map.get(key));
      maxQueued = Math.max(maxQueued, m.queued);
    }
    expect(maxQueued).toBeLessThanOrEqual(2 * 300 + 64 + 1);
    const rest: (string | undefined)[] = [];
    for (let k = m.evictOldest(); k !== undefined; k = m.evictOldest()) rest.push(k);
    expect(rest).toEqual([...ref.map.keys()]);
  });

  it('keeps its queue bounded under steady first-in-first-out eviction', () => {
    const m = new RecencyMap<number>();
    const wrong: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      m.set(`t${i}`, i);
      if (m.size > 1_000 && m.evictOldest() !== `t${i - 1_000}`) wrong.push(`t${i}`);
    }
    expect(wrong).toEqual([]);
    expect(m.size).toBe(1_000);
    expect(m.queued).toBe(1_000);
  });
});
