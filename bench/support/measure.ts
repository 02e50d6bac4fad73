/**
 * Shared by the benches: the smoke-run scale and CPU time.
 *
 * BENCH_SCALE (default 1) shrinks a bench's input and repetitions for CI's smoke run
 * (`.ci/run`: BENCH_SCALE=0.05), which checks that every bench still runs, not how fast.
 */
export const BENCH_SCALE = Math.max(0, Number(process.env['BENCH_SCALE'] ?? 1));

/** `n` scaled by BENCH_SCALE, rounded, at least `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * BENCH_SCALE));
}

/**
 * CPU time this process has used (user + system, every thread), in ms. On a shared, loaded machine
 * wall time measures the queue for a core; CPU time is what the work itself cost.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1_000;
}
