/**
 * The Wilson score interval for a binomial proportion (docs/painpoints.md): failure rates are judged by its
 * lower bound, so a handful of calls never passes for a high rate (1 failure of 2 calls → 9 %–91 %).
 */

export interface WilsonInterval {
  readonly lower: number;
  readonly upper: number;
  /** the interval's midpoint, the proportion shrunk towards 1/2 */
  readonly center: number;
}

/** z for a two-sided 95 % interval */
export const Z_95 = 1.959963984540054;

/**
 * Wilson score interval of `successes` out of `n` trials at normal quantile `z`:
 * center = (p̂ + z²/2n) / (1 + z²/n), half = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).
 * n = 0 says nothing: [0, 1]. Counts outside 0 ≤ successes ≤ n are clamped.
 */
export function wilsonInterval(successes: number, n: number, z = Z_95): WilsonInterval {
  if (!(n > 0)) return { lower: 0, upper: 1, center: 0.5 };
  const k = Math.min(Math.max(successes, 0), n);
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // The exact bounds at p̂ = 0 and p̂ = 1 are 0 and 1; clamping also absorbs rounding error there.
  return { lower: k === 0 ? 0 : Math.max(0, center - half), upper: k === n ? 1 : Math.min(1, center + half), center };
}
