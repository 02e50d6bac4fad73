/**
 * Tails of the binomial and of Fisher's exact test: how likely `k` or more failures in `n` calls are
 * when each fails with probability `p`, or as often as the rest of the calls do. The problems stage
 * asks them whether what is left of a failure view outside another's spans is more than the failures
 * the rest of the traffic has (docs/painpoints.md).
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

/** ln n! : summed exactly below EXACT_FACTORIALS, Stirling's series above (error < 1e-12). */
const EXACT_FACTORIALS = 256;
const logFactorials: number[] = [0];
for (let i = 1; i < EXACT_FACTORIALS; i++) logFactorials.push((logFactorials[i - 1] as number) + Math.log(i));

export function logFactorial(n: number): number {
  if (n < EXACT_FACTORIALS) return logFactorials[n] as number;
  const inv = 1 / n;
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + inv / 12 - inv ** 3 / 360 + inv ** 5 / 1260;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * Fisher's exact test, one-sided: the probability that the first of two groups holds `k` or more of
 * their failures, when `k` failures in `n` calls and `restFailures` in `restCalls` fail alike (the
 * hypergeometric upper tail). Small says the first group fails more often than the rest.
 */
export function fisherUpperTail(k: number, n: number, restFailures: number, restCalls: number): number {
  const total = n + restCalls;
  const failures = k + restFailures;
  const lowest = Math.max(0, n - (total - failures));
  const highest = Math.min(n, failures);
  if (k <= lowest) return 1;
  if (k > highest) return 0;
  let logTerm = logChoose(failures, k) + logChoose(total - failures, n - k) - logChoose(total, n);
  let sum = 0;
  for (let i = k; i <= highest; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    if (term <= sum * NEGLIGIBLE) break;
    // pmf(i + 1) / pmf(i)
    logTerm += Math.log(failures - i) + Math.log(n - i) - Math.log(i + 1) - Math.log(total - failures - n + i + 1);
  }
  return Math.min(1, sum);
}
