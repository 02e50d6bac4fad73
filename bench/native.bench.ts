/**
 * NativeAgentLightning in-process vs `sidelight analyze` as a spawned process, on the same
 * ~5 000 kc events (runs with failures, retries and fallbacks). Run: `npx tsx bench/native.bench.ts`.
 * Prints the median of each over ITERATIONS runs, and their ratio. Nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAgentLightning } from '../src/library/native-agent-lightning.js';
import { countEvents, generateKcRuns } from '../test/fixtures/kc/generate-runs.js';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 9);
/**
 * Event-time scale of the generated runs. The engine's cost grows with the event time the input
 * spans (windows slide every 10 s), so realistic kc timings (1 = ~60 h for 5 000 events) are far
 * slower than the compressed default (0.01 = ~35 min); BENCH_TIME_SCALE=1 measures the former.
 */
const TIME_SCALE = Number(process.env['BENCH_TIME_SCALE'] ?? 0.01);
const TARGET_EVENTS = 5_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  // ~215 events per run of 100 tasks (selection + execution per task, some fallbacks)
  const runs = generateKcRuns({ runs: Math.round(TARGET_EVENTS / 215), tasksPerRun: 100, seed: 2026, timeScale: TIME_SCALE });
  const events = countEvents(runs);

  const dir = await mkdtemp(join(tmpdir(), 'sidelight-native-bench-'));
  for (const run of runs) {
    await mkdir(join(dir, 'runs', run.runId), { recursive: true });
    await writeFile(join(dir, 'runs', run.runId, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }

  const agl = new NativeAgentLightning();
  const first = await agl.invokeAgentLightning('# bench', runs); // warm-up (JIT, config parse)
  if (!first.success) throw new Error(`native invoke failed: ${first.error}`);
  const native: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    const r = await agl.invokeAgentLightning('# bench', runs);
    native.push(performance.now() - t0);
    if (!r.success) throw new Error(r.error);
  }

  const dist = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const [cmd, prefix] = existsSync(dist) ? [process.execPath, [dist]] : [process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')]];
  const args = [...prefix, 'analyze', join(dir, 'runs'), '--format', 'json'];
  const spawned: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    const p = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    spawned.push(performance.now() - t0);
    if (p.status !== 0) throw new Error(`analyze process exited ${p.status}: ${p.stderr}`);
  }
  await rm(dir, { recursive: true, force: true });

  const n = median(native);
  const s = median(spawned);
  const first0 = Date.parse(String(runs[0]?.events[0]?.['timestamp']));
  const lastRun = runs[runs.length - 1];
  const last0 = Date.parse(String(lastRun?.events[lastRun.events.length - 1]?.['timestamp']));
  console.log(`kc events: ${events} in ${runs.length} runs over ${((last0 - first0) / 60_000).toFixed(0)} min of event time (time scale ${TIME_SCALE}); ${ITERATIONS} iterations each`);
  console.log(`native invokeAgentLightning  median ${n.toFixed(1)} ms  (min ${Math.min(...native).toFixed(1)}, max ${Math.max(...native).toFixed(1)})`);
  console.log(`spawned ${existsSync(dist) ? 'node dist/src/cli/main.js' : 'node --import tsx src/cli/main.ts'} analyze  median ${s.toFixed(1)} ms  (min ${Math.min(...spawned).toFixed(1)}, max ${Math.max(...spawned).toFixed(1)})`);
  console.log(`ratio spawned / native: ${(s / n).toFixed(1)}x`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
