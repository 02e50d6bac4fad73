/**
 * Offline engine throughput: `analyzeSpans` (every detector, categorize, lifecycle, recommend) on
 * two workloads, so the numbers are tracked as the engine changes. Run: `npx tsx bench/engine.bench.ts`.
 *
 * - dense: a 10-minute OTLP-like agent workload (span trees made with the OpenTelemetry SDK: an
 *   agent task with two LLM calls and two tool calls every 150 ms, web_search failing for part of
 *   it): many spans per pane, few boundaries;
 * - sparse: ~5 000 kc events in 23 runs at realistic kc timings (~80 h of event time): few spans
 *   per pane, ~29 000 boundaries, where the cost is event time × series rather than spans.
 *
 * Prints spans/s (median of RUNS runs, after one warm-up), the median time and the median CPU time
 * (all threads). Nothing is asserted.
 * BENCH_RUNS (default 5) sets the runs; BENCH_KC_TIME_SCALE (default 1) the kc timings; BENCH_SCALE
 * (default 1) the number of tasks and kc runs.
 */
import type { SpanRecord } from '../src/model/span.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { generateKcRuns } from '../test/fixtures/kc/generate-runs.js';
import { agentWorkload } from '../test/support/agent-workload.js';
import { recordTraces } from '../test/support/readable-to-record.js';
import { cpuMs, scaled } from './support/measure.js';

const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 5));
const KC_TIME_SCALE = Number(process.env['BENCH_KC_TIME_SCALE'] ?? 1);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function denseWorkload(): SpanRecord[] {
  const t0 = Date.UTC(2026, 0, 5, 9);
  // 10 minutes: 4 000 tasks of 5 spans; web_search fails in 60 % of the tasks of minutes 4 to 7
  return recordTraces([
    ...agentWorkload({ start: t0, tasks: scaled(1_600), every: 150, failEveryFive: 0 }),
    ...agentWorkload({ start: t0 + 240_000, tasks: scaled(1_200), every: 150, failEveryFive: 3 }),
    ...agentWorkload({ start: t0 + 420_000, tasks: scaled(1_200), every: 150, failEveryFive: 0 }),
  ]);
}

function sparseKcWorkload(): SpanRecord[] {
  const runs = kcRunDataSchema.parse(generateKcRuns({ runs: scaled(23), tasksPerRun: 100, seed: 2026, timeScale: KC_TIME_SCALE }));
  const spans: SpanRecord[] = [];
  for (const run of runs) for (const s of kcRunToSpans(run.events, { runId: run.runId })) spans.push(s);
  return spans;
}

function eventTime(spans: readonly SpanRecord[]): string {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of spans) {
    if (s.endMs < lo) lo = s.endMs;
    if (s.endMs > hi) hi = s.endMs;
  }
  const minutes = (hi - lo) / 60_000;
  return minutes < 120 ? `${minutes.toFixed(0)} min` : `${(minutes / 60).toFixed(0)} h`;
}

async function measure(name: string, spans: readonly SpanRecord[]): Promise<void> {
  await analyzeSpans(spans); // warm-up (JIT)
  const times: number[] = [];
  const cpu: number[] = [];
  let painpoints = 0;
  for (let i = 0; i < RUNS; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    const r = await analyzeSpans(spans);
    times.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
    painpoints = r.painpoints.length;
  }
  const ms = median(times);
  console.log(
    `${name.padEnd(7)} ${String(spans.length).padStart(6)} spans over ${eventTime(spans).padStart(6)} of event time: ` +
      `${Math.round((spans.length / ms) * 1000).toLocaleString('en-US').padStart(9)} spans/s, median ${ms.toFixed(1)} ms ` +
      `(min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; CPU median ${median(cpu).toFixed(1)} ms; ${RUNS} runs; ${painpoints} pain points)`,
  );
}

async function main(): Promise<void> {
  await measure('dense', denseWorkload());
  await measure('sparse', sparseKcWorkload());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
