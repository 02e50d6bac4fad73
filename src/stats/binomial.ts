/**
 * The binomial upper tail P(X ≥ k), X ~ Binomial(n, p): how likely `k` or more failures in `n` calls are
 * when each fails with probability `p`. The problems stage asks it whether what is left of a failure
 * view outside another's spans is more than the failures every operation has (docs/painpoints.md).
 */

/** Terms below this share of the running sum, past the mean, end the sum (they cannot move it). */
const NEGLIGIBLE = 1e-12;

/** P(X ≥ k) for X ~ Binomial(n, p); exact (summed in log space, so large n does not underflow). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logOdds = Math.log(p) - Math.log1p(-p);
  // log pmf(k) = log C(n, k) + k log p + (n − k) log(1 − p), C(n, k) as a sum of logs
  let logC = 0;
  const small = Math.min(k, n - k);
  for (let i = 1; i <= small; i++) logC += Math.log(n - small + i) - Math.log(i);
  let logTerm = logC + k * Math.log(p) + (n - k) * Math.log1p(-p);
  const mean = n * p;
  let sum = 0;
  for (let i = k; i <= n; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    if (i > mean && term <= sum * NEGLIGIBLE) break;
    logTerm += Math.log(n - i) - Math.log(i + 1) + logOdds;
  }
  return Math.min(1, sum);
}
