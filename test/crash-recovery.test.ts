/**
 * Nothing lost when the process dies (docs/outputs.md, Exporters): `sidelight run` as a real process, killed with
 * SIGKILL at seeded random moments, restarted with the backend up. Every pain-point change the
 * JSONL file recorded before a kill must reach the backend (Sidelight's own OTLP receiver), in
 * order per pain point; duplicates (a batch the backend accepted just before the kill, before its
 * acknowledgement was recorded) are counted and printed. Timing is never asserted: waits are
 * generous deadlines, and the figures (duplicates, memory) are printed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseKcEventsText } from '../src/kc/run-files.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { serviceSchema } from '../src/config/service-schema.js';
import { startSidecar, type SidecarProcess } from './support/sidecar-process.js';
import { PainPointBackend, ToolWorkload, compareDelivery, eventually, jsonlChanges, seededRandom, sendSpans, type ChangeKey } from './support/crash-harness.js';

const SEED = 16_2026;
const ROUNDS = 20;
/** the backend-down soak: 10 minutes in a real drill, 20 s in CI (same code path) */
const SOAK_SECONDS = Number(process.env.SIDELIGHT_SOAK_SECONDS ?? 20);

let dir: string;
const running: SidecarProcess[] = [];
const backend = new PainPointBackend();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sidelight-crash-'));
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.kill('SIGKILL');
  await backend.down();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(configPath: string): Promise<SidecarProcess> {
  const p = await startSidecar(configPath);
  running.push(p);
  return p;
}

async function stop(p: SidecarProcess, signal: NodeJS.Signals): Promise<void> {
  await p.kill(signal);
  running.splice(running.indexOf(p), 1);
}

function writeConfig(name: string, backendUrl: string, exporterExtra: readonly string[] = []): { configPath: string; jsonl: string } {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const jsonl = join(home, 'painpoints.jsonl');
  const configPath = join(home, 'sidelight.yaml');
  writeFileSync(
    configPath,
    [
      'receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}',
      'processors: {failure_rate: {min_samples: 5}, categorize: {}, recommend: {}}',
      'exporters:',
      `  jsonl: {path: ${JSON.stringify(jsonl)}}`,
      '  otlp_traces:',
      `    endpoint: ${backendUrl}`,
      // the JSONL path records pain-point changes: the backend gets the same ones to compare
      '    emit: painpoints',
      '    max_batch_size: 10',
      '    retry_on_failure: {initial_interval: 10ms, max_interval: 50ms, max_elapsed_time: 300ms}',
      '    shutdown_timeout: 200ms',
      ...exporterExtra.map((line) => `    ${line}`),
      'service:',
      `  data_dir: ${JSON.stringify(join(home, 'data'))}`,
      '  windows: {slide: 1s, sizes: [2s, 4s], coarse_slide: 4s, coarse_sizes: [8s], allowed_lateness: 0s, tick: 100ms}',
      '  painpoints: {resolve_after: 2s}',
      '',
    ].join('\n'),
  );
  return { configPath, jsonl };
}

/** Event time starts two hours back, so the workload can run far faster than the wall clock. */
const eventStart = (): number => Math.floor(Date.now() / 1_000) - 7_200;

/** Sends workload batches until `stop()` says so or the sidecar is gone; returns the batches sent. */
async function drive(httpUrl: string, workload: ToolWorkload, stopWhen: () => boolean, seconds = 1): Promise<number> {
  let sent = 0;
  while (!stopWhen()) {
    if (!(await sendSpans(httpUrl, workload.next(seconds)))) break;
    sent += 1;
  }
  return sent;
}

/** sidelight_spans_processed_total of the sidecar: spans its processors have judged (0 when unreachable) */
async function processedSpans(httpUrl: string): Promise<number> {
  try {
    const text = await (await fetch(`${httpUrl}/metrics`)).text();
    return Number(/^sidelight_spans_processed_total (\S+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Polls /metrics until the otlp_traces write-ahead log holds nothing unacknowledged (gives up quietly after 10 s). */
async function waitForEmptyLog(httpUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${httpUrl}/metrics`)).text();
    if (/^sidelight_exporter_spool_items\{exporter="otlp_traces"\} 0$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Scenario = 'ingest' | 'burst' | 'send' | 'append';
const SCENARIOS: readonly Scenario[] = ['ingest', 'burst', 'send', 'append'];

/** One life of the sidecar: a warm-up, then a workload, and SIGKILL at a seeded moment of the scenario. */
async function liveAndDie(p: SidecarProcess, scenario: Scenario, random: () => number, workload: ToolWorkload, jsonl: string): Promise<string> {
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    p.child.kill('SIGKILL');
  };
  const afterMs = (ms: number) => setTimeout(kill, ms);
  const backendUp = scenario === 'send' || (scenario === 'ingest' && random() < 0.5);
  if (!backendUp) await backend.down();
  // A fresh process judges nothing until its windows fill: twelve seconds of event time first.
  // Then wait (deadlines, not a speed) until this life has judged every warm-up span and appended
  // a change of its own to the JSONL file: however loaded the machine, every kill then has
  // something recorded to lose, and the warm-up's changes are in the log whatever the kill's timing.
  const fileSize = () => (existsSync(jsonl) ? statSync(jsonl).size : 0);
  const sizeBefore = fileSize();
  const spansBefore = workload.spans;
  let n = 0;
  await drive(p.httpUrl, workload, () => ++n > 4, 3);
  const warmUpSpans = workload.spans - spansBefore;
  expect(await eventually(async () => (await processedSpans(p.httpUrl)) >= warmUpSpans, 30_000), `the warm-up's ${warmUpSpans} spans were not all judged within 30 s`).toBe(true);
  expect(await eventually(() => fileSize() > sizeBefore, 30_000), 'the warm-up recorded no change in the JSONL file within 30 s').toBe(true);
  switch (scenario) {
    case 'ingest': {
      // spans arriving: killed mid-request
      const at = Math.round(random() * 600);
      afterMs(at);
      await drive(p.httpUrl, workload, () => killed, 2);
      return `ingest, backend ${backendUp ? 'up' : 'down'}, kill at ${at} ms`;
    }
    case 'burst': {
      // a jump of event time closes many panes at once: a burst of changes, killed while it is handled
      const accepted = await sendSpans(p.httpUrl, workload.next(8));
      const at = Math.round(random() * 40);
      afterMs(at);
      return `burst, backend down, kill ${at} ms after the jump of 8 s (${accepted ? 'accepted' : 'refused'})`;
    }
    case 'send': {
      // the backend up: killed while a batch is in flight, or just after it was accepted
      const at = Math.round(random() * 15);
      backend.onRequest = () => {
        backend.onRequest = undefined;
        afterMs(at);
      };
      await drive(p.httpUrl, workload, () => killed, 2);
      backend.onRequest = undefined;
      return `send, kill ${at} ms after a request reached the backend`;
    }
    case 'append': {
      // the backend down: every change goes to the log only; killed right after a batch was taken
      await sendSpans(p.httpUrl, workload.next(2));
      const at = Math.round(random() * 8);
      afterMs(at);
      await drive(p.httpUrl, workload, () => killed, 2);
      return `append, backend down, kill ${at} ms after a batch was accepted`;
    }
  }
}

describe('SIGKILL at random moments, then a restart with the backend up', () => {
  it(`loses no change the JSONL file recorded, in ${ROUNDS} seeded rounds, keeping the order per pain point`, async () => {
    await backend.up();
    backend.received.length = 0;
    const { configPath, jsonl } = writeConfig('rounds', backend.url);
    const workload = new ToolWorkload(seededRandom(SEED), eventStart(), 'crash-rounds');
    let expected: ChangeKey[] = [];
    let replayedRounds = 0;
    let duplicatesBefore = 0;
    const log: string[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      await backend.up();
      const p = await start(configPath);
      if (/changes in .* to send first/.test(p.stderr())) replayedRounds += 1;
      // recovery: everything recorded before the previous kill reaches the backend
      const delivered = await eventually(() => compareDelivery(expected, backend.received).missing.length === 0, 60_000);
      const report = compareDelivery(expected, backend.received);
      expect(delivered, `round ${round}: missing after restart: ${report.missing.slice(0, 5).join(', ')}`).toBe(true);
      expect(report.outOfOrder, `round ${round}`).toEqual([]);
      // and has recorded the backend's acknowledgements, so this round's duplicates come from its own kill
      await waitForEmptyLog(p.httpUrl);
      const duplicates = compareDelivery([], backend.received).duplicates;
      if (round > 0) log[round - 1] += `; ${duplicates - duplicatesBefore} duplicates after the restart`;
      duplicatesBefore = duplicates;
      if (round === ROUNDS) {
        await stop(p, 'SIGTERM');
        break;
      }
      const random = seededRandom(SEED * 1_000 + round);
      const what = await liveAndDie(p, SCENARIOS[round % SCENARIOS.length] as Scenario, random, workload, jsonl);
      await p.exited;
      running.splice(running.indexOf(p), 1);
      const snapshot = jsonlChanges(jsonl);
      log.push(`round ${round}: ${what}; JSONL holds ${snapshot.changes.length} changes${snapshot.torn > 0 ? ` (${snapshot.torn} torn lines)` : ''}`);
      expected = snapshot.changes;
    }
    const final = compareDelivery(expected, backend.received);
    const distinct = new Set(expected.map((e) => e.key)).size;
    const wanted = new Set(expected.map((e) => e.key));
    const beyondJsonl = new Set(backend.received.filter((r) => !wanted.has(r.key)).map((r) => r.key)).size;
    const produced = new Set(backend.received.map((r) => r.key)).size;
    console.log(
      [
        ...log,
        `crash rounds: ${ROUNDS} SIGKILLs; ${distinct} distinct changes in the JSONL file, ${backend.received.length} arrivals at the backend (${produced} distinct), ` +
          `${final.missing.length} missing, ${final.outOfOrder.length} pain points out of order, ${final.duplicates} duplicates; ` +
          `${beyondJsonl} more changes reached the backend whose JSONL lines died unwritten with a process (or came at the final drain); ` +
          `${replayedRounds} restarts began by sending what the log held`,
      ].join('\n'),
    );
    expect(final.missing).toEqual([]);
    expect(final.outOfOrder).toEqual([]);
    // Not vacuous: every life judged its whole warm-up (its changes all written ahead, whatever the
    // kill's timing) and recorded at least one change in the JSONL file before its kill, and
    // restarts found changes waiting in the log. How many more the JSONL file holds depends on how
    // far each life got before its kill (the machine's speed), so it is bounded by one per life.
    expect(produced).toBeGreaterThan(5 * ROUNDS);
    expect(distinct).toBeGreaterThanOrEqual(ROUNDS);
    expect(replayedRounds).toBeGreaterThanOrEqual(5);
  }, 300_000);
});

describe('a backend down for a long stretch of a paced workload', () => {
  it(`keeps every change (backend down ${SOAK_SECONDS} s), delivers all when it returns, memory flat (printed)`, async () => {
    await backend.up();
    backend.received.length = 0;
    // this workload makes ~11 changes a second (far more than a real orchestrator), ~11 KiB each with
    // their recommendations: ten minutes of it outgrow the default 64 MiB cap (the newest would be
    // dropped, counted), so the drill raises the cap
    const { configPath, jsonl } = writeConfig('soak', backend.url, ['spool_max_bytes: 268435456']);
    await backend.down();
    const p = await start(configPath);
    const workload = new ToolWorkload(seededRandom(SEED + 7), eventStart(), 'soak');
    const memory: string[] = [];
    let peak = { items: 0, mib: 0 };
    let dropped = 0;
    const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const sample = async (keep: boolean) => {
      const text = await (await fetch(`${p.httpUrl}/metrics`)).text();
      const mib = (name: string) => (metric(text, name) / 1024 / 1024).toFixed(0);
      if (keep) memory.push(`${mib('sidelight_process_process_resident_memory_bytes')}/${mib('sidelight_process_nodejs_heap_size_used_bytes')}`);
      const items = metric(text, 'sidelight_exporter_spool_items\\{exporter="otlp_traces"\\}');
      if (items > peak.items) peak = { items, mib: metric(text, 'sidelight_exporter_spool_bytes\\{exporter="otlp_traces"\\}') / 1024 / 1024 };
      dropped = [...text.matchAll(/^sidelight_exporter_dropped_total\{[^}]*exporter="otlp_traces"[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const until = Date.now() + SOAK_SECONDS * 1_000;
    // twenty memory samples over the stretch, whatever its length
    const every = Math.max(1, Math.round(SOAK_SECONDS / 20));
    let seconds = 0;
    let nextSample = 0;
    while (Date.now() < until) {
      // paced: one second of event time every 250 ms
      expect(await sendSpans(p.httpUrl, workload.next(1))).toBe(true);
      if (Date.now() >= nextSample) {
        await sample(seconds % every === 0);
        seconds += 1;
        nextSample = Date.now() + 1_000;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // let the last changes reach the JSONL file, then bring the backend back
    await new Promise((r) => setTimeout(r, 500));
    await sample(true);
    const expected = jsonlChanges(jsonl).changes;
    await backend.up();
    const delivered = await eventually(() => compareDelivery(expected, backend.received).missing.length === 0, 120_000);
    await sample(true);
    const report = compareDelivery(expected, backend.received);
    console.log(
      `backend down ${SOAK_SECONDS} s: ${expected.length} changes recorded, the log peaked at ${peak.items} changes (${peak.mib.toFixed(1)} MiB), ` +
        `${dropped} dropped, ${report.missing.length} missing, ${report.duplicates} duplicates after it returned; ` +
        `sidecar RSS/heap MiB every ${every} s (the last after the backend returned): ${memory.join(' ')}`,
    );
    expect(delivered).toBe(true);
    expect(dropped).toBe(0);
    expect(report.outOfOrder).toEqual([]);
    expect(expected.length).toBeGreaterThan(20);
    await stop(p, 'SIGTERM');
  }, (SOAK_SECONDS + 180) * 1_000);
});

describe('kc_runs after SIGKILL', () => {
  const RUNS = 24;

  /** A kc run folder: three tasks, one failing, at event time `startMs`. */
  function writeRun(root: string, runId: string, startMs: number): string {
    const at = (s: number) => new Date(startMs + s * 1_000).toISOString();
    const task = (n: number, ok: boolean) =>
      JSON.stringify({
        eventType: 'task_execution',
        timestamp: at(10 * n),
        runId,
        taskId: `T-${n}`,
        taskTitle: `Fix task ${n}`,
        provider: 'codex',
        success: ok,
        executionTime: 5_000,
        retryCount: ok ? 0 : 1,
        fallbackCount: 0,
        error: ok ? null : 'Request timed out after 5000ms',
      });
    const events = [
      JSON.stringify({ eventType: 'run_start', timestamp: at(0), runId, project: 'shop', command: 'run' }),
      task(1, true),
      task(2, false),
      task(3, true),
      JSON.stringify({ eventType: 'run_completion', timestamp: at(40), runId, duration: 40_000, tasksCompleted: 2, tasksFailed: 1, totalRetries: 1, totalFallbacks: 0 }),
    ].join('\n');
    mkdirSync(join(root, runId), { recursive: true });
    writeFileSync(join(root, runId, 'events.jsonl'), events + '\n');
    return events;
  }

  interface IngestLog {
    readonly runs: [string, string][];
    readonly partial?: [string, string, number];
  }

  it('ingests every run exactly once across kills mid-ingest (partly pushed runs resumed where they stopped)', async () => {
    const home = join(dir, 'kc');
    const runsDir = join(home, 'runs');
    const stateFile = join(home, 'data', 'kc-runs-ingested.json');
    const spansOf = new Map<string, number>();
    const base = Date.now() - 6 * 3_600_000;
    for (let i = 0; i < RUNS; i++) {
      const runId = `run-${String(i).padStart(3, '0')}`;
      const text = writeRun(runsDir, runId, base + i * 60_000);
      spansOf.set(runId, kcRunToSpans(parseKcEventsText(text), { runId, mapping: serviceSchema.parse({}).attributes, serviceName: 'kc-orchestrator' }).length);
    }
    const configPath = join(home, 'sidelight.yaml');
    writeFileSync(
      configPath,
      [
        `receivers: {kc_runs: {path: ${JSON.stringify(runsDir)}, poll_interval: 50ms, settle_time: 1s, batch_size: 3}}`,
        'processors: {failure_rate: {}}',
        `exporters: {jsonl: {path: ${JSON.stringify(join(home, 'painpoints.jsonl'))}}}`,
        // a small queue: runs are pushed in pieces, so kills also land between the pieces of one run
        `service: {data_dir: ${JSON.stringify(join(home, 'data'))}, queue_size: 8, telemetry: {endpoint: "127.0.0.1:0", logs: {level: warn}}}`,
        '',
      ].join('\n'),
    );
    const readLog = (): IngestLog => {
      try {
        return JSON.parse(readFileSync(stateFile, 'utf8')) as IngestLog;
      } catch {
        return { runs: [] };
      }
    };
    const accounted = (log: IngestLog) => log.runs.reduce((n, [id]) => n + (spansOf.get(id) ?? 0), 0) + (log.partial?.[2] ?? 0);
    const random = seededRandom(SEED + 99);
    const history: string[] = [];
    let previous: IngestLog = { runs: [] };
    for (let kill = 0; kill < 3; kill++) {
      const p = await start(configPath);
      await new Promise((r) => setTimeout(r, Math.round(30 + random() * 250)));
      await stop(p, 'SIGKILL');
      const log = readLog();
      // what a life recorded is never taken back
      expect(log.runs.map(([id]) => id)).toEqual(expect.arrayContaining(previous.runs.map(([id]) => id)));
      history.push(`${log.runs.length} runs${log.partial ? ` + ${log.partial[2]} spans of ${log.partial[0]}` : ''}`);
      previous = log;
    }
    const before = accounted(previous);
    const last = await start(configPath);
    const metricsUrl = /telemetry (http:\/\/[^\s,;]+)/.exec(last.stderr())?.[1] as string;
    expect(await eventually(() => readLog().runs.length === RUNS, 60_000)).toBe(true);
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name}\\{receiver="kc_runs"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const total = [...spansOf.values()].reduce((a, b) => a + b, 0);
    console.log(`kc_runs: ingest log after each SIGKILL: ${history.join('; ')}; the last life pushed ${metric('sidelight_kc_runs_spans_total')} of ${total} spans`);
    // the last life pushes exactly what the earlier lives had not recorded: no run twice, none lost
    expect(metric('sidelight_kc_runs_spans_total')).toBe(total - before);
    expect(metric('sidelight_kc_runs_ingested_total')).toBe(RUNS - previous.runs.length);
    expect(new Set(readLog().runs.map(([id]) => id)).size).toBe(RUNS);
    await stop(last, 'SIGTERM');
  }, 300_000);
});
