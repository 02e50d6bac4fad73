/**
 * The sidecar under a live load, end to end on loopback: `sidelight run` as its own process
 * (every default processor, a JSONL exporter), fed OTLP/HTTP protobuf requests of 1 000 spans by
 * 4 concurrent clients for BENCH_SECONDS (default 30; 600 for the soak). The traffic is a live
 * orchestrator's (bench/support/live-load.ts): 20 000 agent runs in flight (BENCH_RUNS_IN_FLIGHT), every span new, bodies
 * in end-time order, event time moving forward with every request (it starts 30 min behind the
 * wall clock so a sidecar faster than the load's event rate never sees the future).
 *
 * Prints, from the sidecar's own /metrics at the end: spans processed through every processor per
 * second of wall time (and per second of the sidecar's CPU time, which a loaded machine inflates far
 * less), and apart from them the spans dropped (late, future, queue full, series
 * caps, trace caps); and the sidecar's resident memory at start, peak and end, sampled each second
 * (flat when the last sample is near the middle one). Asserts nothing.
 *
 *   npm run bench -- sidecar           BENCH_SECONDS=600 npm run bench -- sidecar   (soak)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { cliArgs } from '../test/support/sidecar-process.js';
import { LiveLoad } from './support/live-load.js';
import { scaled } from './support/measure.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
/** runs in flight; BENCH_SCALE scales the default */
const RUNS = Number(process.env['BENCH_RUNS_IN_FLIGHT'] ?? scaled(20_000, 100));
const SPANS_PER_REQUEST = 1_000;
const CLIENTS = 4;

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

/**
 * CPU seconds (user + system, every thread) the child has used, from /proc (Linux; clock ticks of
 * 1/100 s, USER_HZ on every common build); undefined elsewhere.
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
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

/**
 * /metrics, asked again when the connection is reset: after minutes of load a kept-alive
 * connection the sidecar closed can be reused once (the load's own requests count those apart).
 */
async function readMetrics(base: string): Promise<Map<string, number>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return metricSums(await (await request(`${base}/metrics`)).body.text());
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET')) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
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
  // the build when it is newer than every source (else the sources through tsx: a stale dist/ would
  // measure old code); tsx by its path, as the sidecar runs in the temp folder
  const cli = cliArgs().map((a) => (a === 'tsx' ? import.meta.resolve('tsx') : a));
  if (cli[0] === '--import') console.log('sidecar: from the sources through tsx (dist/ is missing or older than the sources: `npm run build`)');
  const args = [...cli, 'run', '--config', config];
  // BENCH_SIDECAR_NODE_ARGS: extra node flags for the sidecar (e.g. --cpu-prof to profile it)
  const nodeArgs = (process.env['BENCH_SIDECAR_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  // A sidecar that crashes fails the bench (CI's smoke run is there to catch it), with its stderr.
  const alive = () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the sidecar exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
  };
  // run-all's BENCH_TIMEOUT ends this process with SIGTERM: take the sidecar along
  const onTerm = () => {
    child.kill('SIGTERM');
    process.exit(1);
  };
  process.once('SIGTERM', onTerm);
  let sampler: NodeJS.Timeout | undefined;
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      alive();
      try {
        const r = await request(`${base}/readyz`);
        await r.body.text();
        if (r.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (i > 600) throw new Error(`the sidecar did not start in 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const load = new LiveLoad({ runs: RUNS, startMs: Date.now() - 30 * 60_000 });
    const rss: number[] = [];
    const startRss = rssMiB(child.pid as number);
    sampler = setInterval(() => {
      const m = rssMiB(child.pid as number);
      if (m !== undefined) rss.push(m);
      // a soak prints its resident memory each minute, so a run cut short still says how it grew
      if (SECONDS >= 120 && rss.length % 60 === 0) console.log(`  ${rss.length / 60} min: RSS ${m ?? '?'} MiB`);
    }, 1_000);
    const eventStart = load.now;
    const cpu0 = cpuSeconds(child.pid as number);
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1_000;
    let sent = 0;
    let refused = 0;
    let failed = 0;
    let reset = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < deadline) {
          alive();
          const body = load.next(SPANS_PER_REQUEST);
          let res;
          try {
            res = await request(`${base}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
            await res.body.arrayBuffer();
          } catch (err) {
            // A kept-alive connection the sidecar closed as it was reused (a loaded client can miss the
            // keep-alive window): counted, as an exporter would retry it. Anything else fails the bench.
            const code = (err as { code?: string }).code;
            if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') throw err;
            alive();
            reset += SPANS_PER_REQUEST;
            continue;
          }
          if (res.statusCode === 200) sent += SPANS_PER_REQUEST;
          else if (res.statusCode === 503) {
            refused += SPANS_PER_REQUEST;
            await new Promise((r) => setTimeout(r, 20));
          } else failed += SPANS_PER_REQUEST;
        }
      }),
    );
    // let the queue drain: processed stops growing
    let metrics = await readMetrics(base);
    for (let last = -1; ; ) {
      const processed = metrics.get('sidelight_spans_processed_total') ?? 0;
      if (processed === last && (metrics.get('sidelight_queue_depth_spans') ?? 0) === 0) break;
      last = processed;
      await new Promise((r) => setTimeout(r, 500));
      metrics = await readMetrics(base);
    }
    alive();
    const wall = (performance.now() - t0) / 1_000;
    const cpu1 = cpuSeconds(child.pid as number);
    const cpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
    clearInterval(sampler);
    const endRss = rssMiB(child.pid as number);

    const processed = metrics.get('sidelight_spans_processed_total') ?? 0;
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    const eventSeconds = (load.now - eventStart) / 1_000;
    console.log(`load: ${RUNS} runs in flight, ${SPANS_PER_REQUEST} spans per request, ${CLIENTS} clients, ${SECONDS} s; event time advanced ${eventSeconds.toFixed(0)} s in ${wall.toFixed(0)} s of wall time`);
    console.log(`sent ${n(sent + refused + failed + reset)} spans: accepted ${n(sent)}, answered 503 ${n(refused)}, other errors ${n(failed)}, connection reset ${n(reset)}`);
    console.log(
      `processed through every processor: ${n(processed)} spans = ${n(processed / wall)} spans/s (wall time, queue drained)` +
        (cpu !== undefined ? `; the sidecar used ${cpu.toFixed(1)} s of CPU: ${n(processed / cpu)} spans per CPU second` : ''),
    );
    console.log(
      `not processed (apart): late ${n(metrics.get('sidelight_late_spans_dropped_total') ?? 0)}, future ${n(metrics.get('sidelight_future_spans_dropped_total') ?? 0)}, ` +
        `queue full ${n(metrics.get('sidelight_queue_refused_spans_total') ?? 0)}; counted in __overflow__ series ${n(metrics.get('sidelight_series_overflow_spans_total') ?? 0)}, ` +
        `trace spans dropped ${n(metrics.get('sidelight_trace_spans_dropped_total') ?? 0)}, traces evicted early ${n(metrics.get('sidelight_traces_evicted_total') ?? 0)}`,
    );
    const peak = Math.max(...rss, startRss ?? 0);
    const mid = rss[Math.floor(rss.length / 2)];
    console.log(`sidecar resident memory: start ${startRss} MiB, peak ${peak} MiB, middle ${mid} MiB, end ${endRss} MiB`);
  } finally {
    process.off('SIGTERM', onTerm);
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
