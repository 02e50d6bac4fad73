/**
 * The sidecar under a live load, end to end on loopback: `sidelight run` as its own process
 * (every default processor, a JSONL exporter), fed OTLP/HTTP protobuf requests of 1 000 spans by
 * 4 concurrent clients for BENCH_SECONDS (default 30; 600 for the soak). The traffic is a live
 * orchestrator's (bench/support/live-load.ts): 20 000 agent runs in flight, every span new, bodies
 * in end-time order, event time moving forward with every request (it starts 30 min behind the
 * wall clock so a sidecar faster than the load's event rate never sees the future).
 *
 * Prints, from the sidecar's own /metrics at the end: spans processed through every processor per
 * second of wall time, and apart from them the spans dropped (late, future, queue full, series
 * caps, trace caps); and the sidecar's resident memory at start, peak and end, sampled each second
 * (flat when the last sample is near the middle one). Asserts nothing.
 *
 *   npm run bench -- sidecar           BENCH_SECONDS=600 npm run bench -- sidecar   (soak)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { LiveLoad } from './support/live-load.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const RUNS = Number(process.env['BENCH_RUNS_IN_FLIGHT'] ?? 20_000);
const SPANS_PER_REQUEST = 1_000;
const CLIENTS = 4;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The child's resident memory (MiB) from /proc (Linux); undefined elsewhere. */
function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Sums of the samples of each metric name in Prometheus text. */
function metricSums(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN)/.exec(line);
    if (!m) continue;
    out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[3]));
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-sidecar-bench-'));
  const port = await freePort();
  const config = join(dir, 'sidelight.yaml');
  writeFileSync(
    config,
    [
      `receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:${port}"}}}}`,
      `exporters: {jsonl: {path: "${join(dir, 'painpoints.jsonl')}"}}`,
      `service: {data_dir: "${join(dir, 'data')}"}`,
      '',
    ].join('\n'),
  );
  const dist = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const args = existsSync(dist) ? [dist, 'run', '--config', config] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'run', '--config', config];
  // BENCH_SIDECAR_NODE_ARGS: extra node flags for the sidecar (e.g. --cpu-prof to profile it)
  const nodeArgs = (process.env['BENCH_SIDECAR_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await request(`${base}/readyz`);
      await r.body.text();
      if (r.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error(`the sidecar did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const load = new LiveLoad({ runs: RUNS, startMs: Date.now() - 30 * 60_000 });
  const rss: number[] = [];
  const startRss = rssMiB(child.pid as number);
  const sampler = setInterval(() => {
    const m = rssMiB(child.pid as number);
    if (m !== undefined) rss.push(m);
  }, 1_000);
  const eventStart = load.now;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1_000;
  let sent = 0;
  let refused = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const body = load.next(SPANS_PER_REQUEST);
        const res = await request(`${base}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
        await res.body.arrayBuffer();
        if (res.statusCode === 200) sent += SPANS_PER_REQUEST;
        else if (res.statusCode === 503) {
          refused += SPANS_PER_REQUEST;
          await new Promise((r) => setTimeout(r, 20));
        } else failed += SPANS_PER_REQUEST;
      }
    }),
  );
  // let the queue drain: processed stops growing
  let metrics = metricSums(await (await request(`${base}/metrics`)).body.text());
  for (let last = -1; ; ) {
    const processed = metrics.get('sidelight_spans_processed_total') ?? 0;
    if (processed === last && (metrics.get('sidelight_queue_depth_spans') ?? 0) === 0) break;
    last = processed;
    await new Promise((r) => setTimeout(r, 500));
    metrics = metricSums(await (await request(`${base}/metrics`)).body.text());
  }
  const wall = (performance.now() - t0) / 1_000;
  clearInterval(sampler);
  const endRss = rssMiB(child.pid as number);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });

  const processed = metrics.get('sidelight_spans_processed_total') ?? 0;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const eventSeconds = (load.now - eventStart) / 1_000;
  console.log(`load: ${RUNS} runs in flight, ${SPANS_PER_REQUEST} spans per request, ${CLIENTS} clients, ${SECONDS} s; event time advanced ${eventSeconds.toFixed(0)} s in ${wall.toFixed(0)} s of wall time`);
  console.log(`sent ${n(sent + refused + failed)} spans: accepted ${n(sent)}, answered 503 ${n(refused)}, other errors ${n(failed)}`);
  console.log(`processed through every processor: ${n(processed)} spans = ${n(processed / wall)} spans/s (wall time, queue drained)`);
  console.log(
    `not processed (apart): late ${n(metrics.get('sidelight_late_spans_dropped_total') ?? 0)}, future ${n(metrics.get('sidelight_future_spans_dropped_total') ?? 0)}, ` +
      `queue full ${n(metrics.get('sidelight_queue_refused_spans_total') ?? 0)}; counted in __overflow__ series ${n(metrics.get('sidelight_series_overflow_spans_total') ?? 0)}, ` +
      `trace spans dropped ${n(metrics.get('sidelight_trace_spans_dropped_total') ?? 0)}, traces evicted early ${n(metrics.get('sidelight_traces_evicted_total') ?? 0)}`,
  );
  const peak = Math.max(...rss, startRss ?? 0);
  const mid = rss[Math.floor(rss.length / 2)];
  console.log(`sidecar resident memory: start ${startRss} MiB, peak ${peak} MiB, middle ${mid} MiB, end ${endRss} MiB`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
