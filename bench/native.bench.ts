/**
 * NativeAgentLightning, the in-process drop-in for kc's Agent Lightning CLI, on kc run histories
 * at kc's real timing (tasks a minute or two apart, runs spread over hours or days; nothing
 * compressed), against the 150–450 ms a call of the CLI it replaces costs:
 *
 * - last-5-runs: what `kc improve` passes by default, the last 5 runs (~180 events over 8 h);
 * - history: ~8 000 events in ~37 runs over 10 days;
 * - one-run: one run of ~2 000 events (~930 tasks, about a day).
 *
 * For each: p50 and p95 of BENCH_CALLS (default 10) warm calls in this process (after 2 warm-up
 * calls), and, for last-5-runs, import('sidelight') + the first call in a fresh process (the one a
 * `kc improve` process makes), p50 and p95 of BENCH_FRESH (default 5) processes, from dist/ (build
 * first: `npm run build`: the entry is the bundled file a user installs), with the CPU time each
 * took (all threads: a loaded machine inflates it far less than wall time). The load average is
 * printed before and after: on a shared machine it says how much of the wall time was a queue.
 * Nothing is asserted. Each call converts kc events, validates them, analyzes, and builds kc's
 * legacy result; input generation and JSON reading are not timed. BENCH_SCALE (default 1) shrinks
 * every input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAgentLightning } from '../src/library/native-agent-lightning.js';
import { countEvents, generateKcHistory, generateKcRuns, type GeneratedRun } from '../test/fixtures/kc/generate-runs.js';
import { BENCH_SCALE as SCALE, cpuMs } from './support/measure.js';

const CALLS = Math.max(1, Number(process.env['BENCH_CALLS'] ?? 10));
const FRESH = Math.max(0, Number(process.env['BENCH_FRESH'] ?? 5));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

function span(runs: readonly GeneratedRun[]): string {
  const first = Date.parse(String(runs[0]?.events[0]?.['timestamp']));
  const lastRun = runs[runs.length - 1];
  const last = Date.parse(String(lastRun?.events[lastRun.events.length - 1]?.['timestamp']));
  const hours = (last - first) / 3_600_000;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`;
}

const inputs: Record<string, GeneratedRun[]> = {
  'last-5-runs': generateKcHistory({ events: Math.max(40, Math.round(182 * SCALE)), days: 8 / 24, tasksPerRun: 17, seed: 5 }),
  history: generateKcHistory({ events: Math.round(8_000 * SCALE), days: 10 * Math.min(1, SCALE * 4), seed: 7 }),
  'one-run': generateKcRuns({ runs: 1, tasksPerRun: Math.round(930 * SCALE), seed: 11 }),
};

async function warm(name: string, runs: GeneratedRun[]): Promise<void> {
  const agl = new NativeAgentLightning();
  for (let i = 0; i < 2; i++) {
    const r = await agl.invokeAgentLightning('# bench', runs);
    if (!r.success) throw new Error(`${name}: ${r.error}`);
  }
  const times: number[] = [];
  const cpu: number[] = [];
  let painPoints = 0;
  for (let i = 0; i < CALLS; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    const r = await agl.invokeAgentLightning('# bench', runs);
    times.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
    if (r.success) painPoints = r.painPoints.length;
  }
  console.log(
    `${name.padEnd(12)} ${String(countEvents(runs)).padStart(5)} events, ${String(runs.length).padStart(2)} runs over ${span(runs).padStart(9)}: ` +
      `p50 ${percentile(times, 0.5).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms over ${CALLS} warm calls ` +
      `(CPU p50 ${percentile(cpu, 0.5).toFixed(1)} ms; ${painPoints} pain points)`,
  );
}

/** import('sidelight') and the first call, timed inside a fresh node process. */
function fresh(runs: GeneratedRun[]): void {
  const entry = join(ROOT, 'dist', 'src', 'index.js');
  if (FRESH === 0) return;
  if (!existsSync(entry)) {
    console.log('fresh process: skipped (no dist/; run `npm run build`)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-native-bench-'));
  const input = join(dir, 'runs.json');
  writeFileSync(input, JSON.stringify(runs));
  const script = `
    import { readFileSync } from 'node:fs';
    const runs = JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { NativeAgentLightning } = await import(${JSON.stringify(new URL(`file://${entry}`).href)});
    const t1 = performance.now();
    const r = await new NativeAgentLightning().invokeAgentLightning('# bench', runs);
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    if (!r.success) throw new Error(r.error);
    console.log(JSON.stringify({ importMs: t1 - t0, callMs: t2 - t1, cpuMs: (c.user + c.system) / 1000 }));`;
  const results: { importMs: number; callMs: number; cpuMs: number }[] = [];
  for (let i = 0; i < FRESH; i++) {
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`fresh process failed: ${p.stderr}`);
    results.push(JSON.parse(p.stdout.trim().split('\n').pop() as string) as { importMs: number; callMs: number; cpuMs: number });
  }
  rmSync(dir, { recursive: true, force: true });
  const total = results.map((r) => r.importMs + r.callMs);
  const cpu = results.map((r) => r.cpuMs);
  console.log(
    `fresh process, last-5-runs: import + first call p50 ${percentile(total, 0.5).toFixed(0)} ms, p95 ${percentile(total, 0.95).toFixed(0)} ms ` +
      `(import ${percentile(results.map((r) => r.importMs), 0.5).toFixed(0)} ms, first call ${percentile(results.map((r) => r.callMs), 0.5).toFixed(0)} ms; ` +
      `CPU p50 ${percentile(cpu, 0.5).toFixed(0)} ms, p95 ${percentile(cpu, 0.95).toFixed(0)} ms; ${FRESH} processes; node start not counted)`,
  );
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ');

async function main(): Promise<void> {
  console.log('the CLI it replaces: 150–450 ms per call (a process spawn); kc\'s own JS module: 4–8 ms');
  console.log(`load average (1 / 5 / 15 min) before: ${load()}`);
  for (const [name, runs] of Object.entries(inputs)) await warm(name, runs);
  fresh(inputs['last-5-runs'] as GeneratedRun[]);
  console.log(`load average after: ${load()}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
