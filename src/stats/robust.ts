/**
 * Robust statistics for the anomaly detector (docs/painpoints.md): median / MAD robust z-scores and an EWMA
 * control chart. Median and MAD ignore the outliers they are looking for, where mean and standard
 * deviation would be dragged towards them.
 */
import { median as quickselectMedian } from 'simple-statistics';

/** 1 / Φ⁻¹(3/4): scales the MAD into a standard-deviation estimate for normal data. */
export const MAD_TO_SIGMA = 1.482602218505602;

/** Median of `values` (NaN for none). Does not modify the input. */
export function median(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : quickselectMedian(values as number[]);
}

/** Median absolute deviation from the median (raw, not scaled to σ). NaN for no values. */
export function medianAbsoluteDeviation(values: readonly number[], center = median(values)): number {
  if (values.length === 0) return Number.NaN;
  return median(values.map((v) => Math.abs(v - center)));
}

export interface RobustScaleOptions {
  /** the scale is at least this fraction of |median|: a near-constant series must not fire on tiny moves */
  readonly floorRatio: number;
  /** the scale is at least this much in absolute terms (a series of zeros has MAD 0) */
  readonly absoluteFloor: number;
}

/**
 * The σ estimate z-scores divide by: 1.4826·MAD, floored. With MAD = 0 (a constant series, or one
 * where over half the values are equal) a raw z would be infinite for any change at all.
 */
export function robustScale(mad: number, center: number, options: RobustScaleOptions): number {
  const scaled = Number.isFinite(mad) ? MAD_TO_SIGMA * mad : 0;
  const relative = Number.isFinite(center) ? options.floorRatio * Math.abs(center) : 0;
  return Math.max(scaled, relative, options.absoluteFloor, Number.MIN_VALUE);
}

export interface RobustSummary {
  readonly median: number;
  readonly mad: number;
  /** the floored σ estimate (robustScale) */
  readonly scale: number;
}

/**
 * Median, MAD and scale of `values` (does not modify them), from simple-statistics' quickselect
 * median. bench/robust.bench.ts measured it against the hand-written one-sort version this file
 * used to carry (a natively sorted copy, the MAD by walking outward from the median): the same
 * numbers, and no slower at the history lengths the anomaly detector keeps (2–15 µs at 60
 * values for both, noisy on a shared 2-core machine), so the library does the job.
 */
export function robustSummary(values: readonly number[], options: RobustScaleOptions): RobustSummary {
  const m = median(values);
  const mad = medianAbsoluteDeviation(values, m);
  return { median: m, mad, scale: robustScale(mad, m, options) };
}

/** (value − median) / scale */
export function robustZ(value: number, summary: RobustSummary): number {
  return (value - summary.median) / summary.scale;
}

/** One EWMA step: λ·value + (1 − λ)·previous; the first value seeds the average. */
export function ewmaNext(previous: number | undefined, value: number, lambda: number): number {
  return previous === undefined || !Number.isFinite(previous) ? value : lambda * value + (1 - lambda) * previous;
}

export interface ControlLimits {
  readonly lower: number;
  readonly upper: number;
}

/**
 * Asymptotic EWMA control-chart limits: center ± L·σ·√(λ / (2 − λ)). The EWMA of in-control data
 * has that standard deviation, so it leaves the band only under a sustained shift.
 */
export function ewmaLimits(center: number, sigma: number, lambda: number, sigmas: number): ControlLimits {
  const width = sigmas * sigma * Math.sqrt(lambda / (2 - lambda));
  return { lower: center - width, upper: center + width };
}
