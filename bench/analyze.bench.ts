/**
 * `sidelight analyze` on a dense OTLP/JSON file: 3 minutes (BENCH_MINUTES) of a live orchestrator's traffic
 * (bench/support/live-load.ts: 300 agent runs in flight, ~300 000 spans, every trace new, event
 * time moving forward), one ExportTraceServiceRequest of 1 000 spans per line. Runs the CLI's own
 * code (runAnalyze: read, decode, analyze with every default processor, write the JSON report) in
 * this process, so process start and module loading are not counted; prints spans/s for the first
 * run and the median of BENCH_RUNS (default 3) more, and the analysis alone apart. Asserts nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAnalyze } from '../src/analyze/command.js';
import { readInputs } from '../src/analyze/inputs.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { LiveLoad } from './support/live-load.js';

const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 3));
const MINUTES = Number(process.env['BENCH_MINUTES'] ?? 3);
const RUNS_IN_FLIGHT = Number(process.env['BENCH_RUNS_IN_FLIGHT'] ?? 300);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-analyze-bench-'));
  const file = join(dir, 'traffic.otlp.json');
  const load = new LiveLoad({ runs: RUNS_IN_FLIGHT, startMs: Date.UTC(2026, 0, 5, 9), seed: 3 });
  const start = load.now;
  const lines: string[] = [];
  while (load.now - start < MINUTES * 60_000) lines.push(load.nextJson(1_000));
  writeFileSync(file, lines.join('\n') + '\n');
  const spans = load.spansMade;
  const sink = { write: () => true };
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    const code = await runAnalyze([file], { format: 'json', out: join(dir, 'report.json') }, { stdout: sink, stderr: process.stderr, isTTY: false, cwd: dir });
    times.push(performance.now() - t0);
    if (code !== 0) throw new Error(`analyze exited ${code}`);
  }
  const read = await readInputs([file], { cwd: dir });
  const analysis: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await analyzeSpans([...read.spans].sort((a, b) => a.endMs - b.endMs));
    analysis.push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  const rate = (ms: number) => Math.round((spans / ms) * 1_000).toLocaleString('en-US');
  console.log(`file: ${spans.toLocaleString('en-US')} spans over ${MINUTES} min of event time, ${RUNS_IN_FLIGHT} runs in flight, ${lines.length} OTLP/JSON lines`);
  console.log(`analyze (read, decode, analyze, write the JSON report): first run ${rate(times[0] as number)} spans/s, then median ${rate(median(times.slice(1)))} spans/s over ${RUNS} runs`);
  console.log(`of which the analysis alone (analyzeSpans): median ${rate(median(analysis))} spans/s`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
