/** A seeded random source for the workloads: same seed, same spans, on every machine. */

export interface Rng {
  /** uniform in [0, 1) */
  (): number;
}

/** mulberry32: small, fast, and good enough to draw traffic from. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function normal(r: Rng): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** A log-normal duration with the given median and log-space spread (latencies are log-normal). */
export function logNormal(r: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(r));
}

/** Exponential gap with the given mean (arrivals of a Poisson process). */
export function exponential(r: Rng, mean: number): number {
  return -mean * Math.log(Math.max(1 - r(), 1e-12));
}

export function between(r: Rng, low: number, high: number): number {
  return low + (high - low) * r();
}

export function intBetween(r: Rng, low: number, high: number): number {
  return Math.floor(between(r, low, high + 1));
}

/** One item drawn by weight. */
export function pick<T>(r: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return (items[items.length - 1] as readonly [T, number])[0];
}
