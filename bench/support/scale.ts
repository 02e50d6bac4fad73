/**
 * BENCH_SCALE (default 1) shrinks a bench's input and repetitions for CI's smoke run
 * (`.ci/run`: BENCH_SCALE=0.05), which checks that every bench still runs, not how fast.
 */
export const BENCH_SCALE = Math.max(0, Number(process.env['BENCH_SCALE'] ?? 1));

/** `n` scaled by BENCH_SCALE, rounded, at least `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * BENCH_SCALE));
}
