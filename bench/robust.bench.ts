/**
 * Robust statistics of the anomaly detector: robustSummary (simple-statistics' quickselect median,
 * then the median of the deviations) against the plain form, two comparator sorts of copies.
 * `npx tsx bench/robust.bench.ts`. Prints µs per summary at history lengths the detector keeps
 * (history_windows, default 60) and checks both give the same numbers. BENCH_SCALE scales the rounds.
 */
import { robustScale, robustSummary, type RobustScaleOptions } from '../src/stats/robust.js';
import { lognormal, seeded } from '../test/support/latency-traces.js';
import { scaled } from './support/measure.js';

const OPTIONS: RobustScaleOptions = { floorRatio: 0.25, absoluteFloor: 1e-9 };
const rand = seeded(7);

function sortedMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function twoSorts(values: readonly number[]) {
  const m = sortedMedian(values);
  const mad = sortedMedian(values.map((v) => Math.abs(v - m)));
  return { median: m, mad, scale: robustScale(mad, m, OPTIONS) };
}

function microsPerCall(fn: (v: readonly number[]) => unknown, inputs: readonly (readonly number[])[], rounds: number): number {
  for (let r = 0; r < 3; r++) for (const v of inputs) fn(v); // warm-up
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const v of inputs) fn(v);
  return Number(process.hrtime.bigint() - start) / 1_000 / (rounds * inputs.length);
}

for (const length of [10, 60, 240, 1_000]) {
  // token counts per call: mostly ~1 000, some outliers, many ties (integers)
  const inputs = Array.from({ length: 200 }, () => Array.from({ length }, () => Math.round(lognormal(rand, 1_000, 0.3))));
  for (const v of inputs) {
    const a = robustSummary(v, OPTIONS);
    const b = twoSorts(v);
    if (a.median !== b.median || a.mad !== b.mad) throw new Error(`different numbers at length ${length}: ${JSON.stringify([a, b])}`);
  }
  const rounds = scaled(Math.max(20, Math.round(2_000_000 / length / inputs.length)));
  const lib = microsPerCall((v) => robustSummary(v, OPTIONS), inputs, rounds);
  const plain = microsPerCall(twoSorts, inputs, rounds);
  console.log(`history ${String(length).padStart(5)}: robustSummary ${lib.toFixed(2)} µs, two comparator sorts ${plain.toFixed(2)} µs, same numbers`);
}
