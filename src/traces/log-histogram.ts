/**
 * A small mergeable histogram on logarithmic buckets (relative error ≈ 1 %), for medians of retry
 * gaps, gap ratios and gap CVs in window panes: bounded by the value range (≈ 1 200 buckets from
 * 1e-3 to 1e9), never by the number of values.
 */
const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);
/** values at or below this count as zero (a CV of exactly 0, a gap of 0 ms) */
const ZERO = 1e-3;

export interface LogHistogram {
  count: number;
  zeros: number;
  readonly buckets: Map<number, number>;
}

export function newLogHistogram(): LogHistogram {
  return { count: 0, zeros: 0, buckets: new Map() };
}

export function addValue(h: LogHistogram, value: number): void {
  if (!Number.isFinite(value)) return;
  h.count++;
  if (value <= ZERO) {
    h.zeros++;
    return;
  }
  // Bucket i holds [γ^(i−½), γ^(i+½)) and reads back as γ^i: exact for 1 (a ratio of equal gaps).
  const i = Math.round(Math.log(value) / LOG_GAMMA);
  h.buckets.set(i, (h.buckets.get(i) ?? 0) + 1);
}

export function mergeHistogram(into: LogHistogram, from: LogHistogram): void {
  into.count += from.count;
  into.zeros += from.zeros;
  for (const [i, n] of from.buckets) into.buckets.set(i, (into.buckets.get(i) ?? 0) + n);
}

/** The q-quantile (0..1) by rank, as its bucket's centre γ^i; undefined when empty. */
export function quantile(h: LogHistogram, q: number): number | undefined {
  if (h.count === 0) return undefined;
  const rank = Math.min(h.count - 1, Math.max(0, Math.floor(q * (h.count - 1))));
  if (rank < h.zeros) return 0;
  let seen = h.zeros;
  for (const i of [...h.buckets.keys()].sort((a, b) => a - b)) {
    seen += h.buckets.get(i) as number;
    if (rank < seen) return GAMMA ** i;
  }
  return undefined;
}
