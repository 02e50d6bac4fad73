/**
 * End-to-end delivery latency through the running sidecar, with and without the write-ahead log:
 * `sidelight run` as its own process (failure_rate, categorize, recommend; an otlp_traces
 * exporter), a backend (Sidelight's own OTLP/HTTP receiver) on loopback, and a paced workload of
 * failing tool calls (one second of event time per request, every STEP_MS of wall time).
 *
 * Latency of a change = its arrival at the backend minus the start of the request whose spans
 * closed the pane that made it: decode, judging, the exporter's queue, the log (write, fsync,
 * read back) and the HTTP send. The idle watermark is off (tick 1 h), so only requests close
 * panes, and a change arriving between request k and request k + 1 is request k's. A change
 * slower than STEP_MS would be counted for a later request (too short): the maximum printed shows
 * whether that could have happened. Three sidecars in turn: memory only (`spool: false`), the log
 * with an fsync per commit (the default), the log without fsync. Beside it, the p50 of the
 * request's own round trip (its 200), the part no exporter setting touches. Asserts nothing.
 *
 *   npm run bench -- delivery        BENCH_STEPS=400 BENCH_STEP_MS=300 npm run bench -- delivery
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSidecar } from '../test/support/sidecar-process.js';
import { PainPointBackend, ToolWorkload, seededRandom, sendSpans } from '../test/support/crash-harness.js';
import { scaled } from './support/measure.js';

/** measured requests; BENCH_SCALE scales the default */
const STEPS = Number(process.env['BENCH_STEPS'] ?? scaled(100, 5));
const STEP_MS = Number(process.env['BENCH_STEP_MS'] ?? 500);
/** steps before measuring: the windows fill and the first pain points open */
const WARM_UP = 15;

const MODES = [
  { name: 'memory only (spool: false)', exporter: ['spool: false'] },
  { name: 'write-ahead, fsync per commit (default)', exporter: [] },
  { name: 'write-ahead, no fsync (spool_fsync: false)', exporter: ['spool_fsync: false'] },
] as const;

interface Arrival {
  readonly at: number;
  readonly changes: number;
}

async function measure(dir: string, mode: (typeof MODES)[number], seed: number): Promise<string> {
  const backend = new PainPointBackend();
  await backend.up();
  const arrivals: Arrival[] = [];
  let counted = 0;
  backend.onRequest = () => {
    arrivals.push({ at: performance.now(), changes: backend.received.length - counted });
    counted = backend.received.length;
  };
  const home = mkdtempSync(join(dir, 'mode-'));
  const configPath = join(home, 'sidelight.yaml');
  writeFileSync(
    configPath,
    [
      'receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}',
      'processors: {failure_rate: {min_samples: 5}, categorize: {}, recommend: {}}',
      'exporters:',
      '  otlp_traces:',
      `    endpoint: ${backend.url}`,
      ...mode.exporter.map((line) => `    ${line}`),
      'service:',
      `  data_dir: ${JSON.stringify(join(home, 'data'))}`,
      '  windows: {slide: 1s, sizes: [2s, 4s], coarse_slide: 4s, coarse_sizes: [8s], allowed_lateness: 0s, tick: 1h}',
      '  painpoints: {resolve_after: 2s}',
      '  telemetry: {logs: {level: warn}}',
      '',
    ].join('\n'),
  );
  const sidecar = await startSidecar(configPath);
  const workload = new ToolWorkload(seededRandom(seed), Math.floor(Date.now() / 1_000) - 7_200, 'delivery-bench');
  const posts: number[] = [];
  const answered: number[] = [];
  try {
    for (let step = 0; step < WARM_UP + STEPS; step++) {
      const started = performance.now();
      if (step >= WARM_UP) posts.push(started);
      if (!(await sendSpans(sidecar.httpUrl, workload.next(1)))) throw new Error(`the sidecar refused request ${step}: ${sidecar.stderr()}`);
      if (step >= WARM_UP) answered.push(performance.now() - started);
      const rest = STEP_MS - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  } finally {
    await sidecar.kill('SIGTERM');
    await backend.down();
  }
  const latencies: number[] = [];
  for (const a of arrivals) {
    let k = posts.length - 1;
    while (k >= 0 && (posts[k] as number) > a.at) k -= 1;
    if (k < 0) continue; // a warm-up change
    for (let i = 0; i < a.changes; i++) latencies.push(a.at - (posts[k] as number));
  }
  const quantile = (values: number[], p: number) => {
    const sorted = [...values].sort((x, y) => x - y);
    return (sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number)).toFixed(1).padStart(6);
  };
  const q = (p: number) => quantile(latencies, p);
  return (
    `${mode.name.padEnd(44)} ${String(latencies.length).padStart(5)} changes  p50 ${q(0.5)} ms  p90 ${q(0.9)} ms  p99 ${q(0.99)} ms  max ${q(1)} ms` +
    `  (the request's own answer: p50 ${quantile(answered, 0.5)} ms)`
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-delivery-bench-'));
  try {
    console.log(`span request → pain-point change at the backend, through the sidecar process: ${STEPS} requests, one every ${STEP_MS} ms`);
    for (const mode of MODES) console.log(await measure(dir, mode, 16));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
