import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kcRunsConfigSchema, kcRunsReceiverFactory, KcRunsReceiver, type KcRunsConfig } from '../src/receivers/kc-runs.js';
import { serviceSchema } from '../src/config/service-schema.js';
import type { ComponentContext, SpanSink } from '../src/component/contracts.js';
import type { SpanRecord } from '../src/model/span.js';
import type { Logger } from '../src/telemetry/logger.js';

const RUNS = fileURLToPath(new URL('./fixtures/kc/runs/', import.meta.url));

let dir: string;
let clock: number;
let logs: string[];
let registry: Registry;

// real timers, but `now()` is the test's clock (settle time is judged on it)
const scheduler: SchedulerLike = Object.assign(Object.create(asyncScheduler) as SchedulerLike, { now: () => clock });
const logger: Logger = {
  debug: () => {},
  info: (m) => logs.push(`info ${m}`),
  warn: (m) => logs.push(`warn ${m}`),
  error: (m) => logs.push(`error ${m}`),
};

function context(s: SchedulerLike = scheduler): ComponentContext {
  return { scheduler: s, metrics: registry, logger, settings: serviceSchema.parse({ data_dir: join(dir, 'data') }), mode: 'live', id: 'kc_runs' };
}

class RecordingSink implements SpanSink {
  readonly batches: SpanRecord[][] = [];
  refuse = 0;
  push(spans: readonly SpanRecord[]): boolean {
    if (this.refuse > 0) {
      this.refuse--;
      return false;
    }
    this.batches.push([...spans]);
    return true;
  }
  get spans(): SpanRecord[] {
    return this.batches.flat();
  }
}

function receiver(sink: SpanSink, overrides: Partial<Record<keyof KcRunsConfig, unknown>> = {}, s?: SchedulerLike): KcRunsReceiver {
  const config = kcRunsConfigSchema.parse({ path: join(dir, 'runs'), ...overrides });
  return kcRunsReceiverFactory.create(config, context(s), sink) as KcRunsReceiver;
}

async function metric(name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-kc-runs-'));
  clock = 1_000_000;
  logs = [];
  registry = new Registry();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kc_runs receiver', () => {
  it('has the documented defaults', () => {
    expect(kcRunsConfigSchema.parse({})).toMatchObject({ path: './.kc-orchestrator/runs', poll_interval: 2_000, max_remembered: 100_000, service_name: 'kc-orchestrator' });
    expect(kcRunsReceiverFactory.type).toBe('kc_runs');
  });

  it('ingests each complete run once and remembers it across restarts', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    const sink = new RecordingSink();
    const r = receiver(sink);
    expect((await r.scan()).ingested).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    expect(sink.spans).toHaveLength(11 + 5);
    expect((await r.scan()).ingested).toEqual([]);
    expect(sink.spans).toHaveLength(16);
    await r.shutdown();

    const state = JSON.parse(await readFile(join(dir, 'data', 'kc-runs-ingested.json'), 'utf8')) as { runs: [string, string][] };
    expect(state.runs.map(([id]) => id)).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);

    const again = new RecordingSink();
    const r2 = receiver(again);
    await r2.start();
    await r2.shutdown();
    expect(again.spans).toHaveLength(0);
    expect(await metric('sidelight_kc_runs_ingested_total')).toBe(2);
  });

  it('pushes a run spans in end-time order with the run id and configured service name', async () => {
    await mkdir(join(dir, 'runs'), { recursive: true });
    await cp(join(RUNS, 'run-2026-01-10-b'), join(dir, 'runs', 'run-2026-01-10-b'), { recursive: true });
    const sink = new RecordingSink();
    await receiver(sink, { service_name: 'kc-ci' }).scan();
    const ends = sink.spans.map((s) => s.endMs);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    expect(new Set(sink.spans.map((s) => `${s.service} ${s.runId}`))).toEqual(new Set(['kc-ci run-2026-01-10-b']));
  });

  it('pushes the older run first whatever the folder names', async () => {
    await mkdir(join(dir, 'runs'), { recursive: true });
    // b ran an hour after a; give b the name that sorts first
    await cp(join(RUNS, 'run-2026-01-10-b'), join(dir, 'runs', 'aaa-later'), { recursive: true });
    await cp(join(RUNS, 'run-2026-01-10-a'), join(dir, 'runs', 'zzz-earlier'), { recursive: true });
    const sink = new RecordingSink();
    expect((await receiver(sink).scan()).ingested).toEqual(['zzz-earlier', 'aaa-later']);
    expect(sink.batches.map((b) => b[0]?.runId)).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
  });

  it('waits for a run without run_completion or summary.json until its file settles', async () => {
    const run = join(dir, 'runs', 'r-open');
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'events.jsonl'), '{"eventType":"run_start","timestamp":"2026-01-10T10:00:00Z","runId":"r-open"}\n');
    const sink = new RecordingSink();
    const r = receiver(sink, { settle_time: '10s' });
    expect((await r.scan()).ingested).toEqual([]);
    clock += 9_999;
    expect((await r.scan()).ingested).toEqual([]);
    clock += 1;
    expect((await r.scan()).ingested).toEqual(['r-open']);
    expect(sink.spans.map((s) => s.name)).toEqual(['kc.run']);
    await r.shutdown();
  });

  it('takes summary.json as the sign a run is complete', async () => {
    const run = join(dir, 'runs', 'r-sum');
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'events.jsonl'), '{"eventType":"task_execution","timestamp":"2026-01-10T10:00:05Z","taskId":"t","taskTitle":"Fix it","provider":"codex","success":true,"executionTime":5000}\n');
    const sink = new RecordingSink();
    const r = receiver(sink);
    expect((await r.scan()).ingested).toEqual([]);
    await writeFile(join(run, 'summary.json'), '{}');
    expect((await r.scan()).ingested).toEqual(['r-sum']);
    expect(sink.spans.map((s) => s.name).sort()).toEqual(['kc.run', 'kc.task', 'kc.task.attempt']);
    await r.shutdown();
  });

  it('retries a refused push at the next scan without duplicating spans', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    const sink = new RecordingSink();
    const r = receiver(sink, { batch_size: 4 });
    sink.refuse = 0;
    // accept the first 2 batches of run a (8 of 11 spans), then refuse
    const original = sink.push.bind(sink);
    let calls = 0;
    sink.push = (spans) => (++calls === 3 ? false : original(spans));
    const first = await r.scan();
    expect(first).toEqual({ ingested: [], waiting: 2 });
    expect(sink.spans).toHaveLength(8);
    const second = await r.scan();
    expect(second.ingested).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    const ids = sink.spans.map((s) => s.spanId);
    expect(ids).toHaveLength(16);
    expect(new Set(ids).size).toBe(16);
    expect(await metric('sidelight_kc_runs_push_refused_total')).toBe(1);
    await r.shutdown();
  });

  it('has the ingest log on disk cover every span before the pipeline receives it (a kill in between loses nor repeats nothing)', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    const stateFile = join(dir, 'data', 'kc-runs-ingested.json');
    const delivered = new Map<string, number>();
    const checks: string[] = [];
    // as the ingest queue: accepts now, hands spans on in a later turn
    const sink: SpanSink = {
      push(spans) {
        const batch = [...spans];
        setImmediate(() => {
          const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { runs: [string, string][]; partial?: [string, string, number] };
          for (const span of batch) {
            const runId = span.runId ?? '';
            const count = (delivered.get(runId) ?? 0) + 1;
            delivered.set(runId, count);
            const covered = state.runs.some(([id]) => id === runId) || (state.partial?.[0] === runId && state.partial[2] >= count);
            if (!covered) checks.push(`${runId} span ${count} delivered before the ingest log recorded it`);
          }
        });
        return true;
      },
    };
    const r = receiver(sink, { batch_size: 4 });
    await r.scan();
    await new Promise((res) => setImmediate(res));
    expect(checks).toEqual([]);
    expect([...delivered.values()]).toEqual([11, 5]);
    await r.shutdown();
  });

  it('resumes a partly pushed run after a restart at the span it stopped, pushing each span once', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    const first = new RecordingSink();
    const r1 = receiver(first, { batch_size: 4 });
    let calls = 0;
    const original = first.push.bind(first);
    first.push = (spans) => (++calls >= 3 ? false : original(spans));
    await r1.scan();
    expect(first.spans).toHaveLength(8);
    // the process dies here: no shutdown, only what the scan wrote
    const second = new RecordingSink();
    const r2 = receiver(second, { batch_size: 4 });
    await r2.start();
    expect(r2.ingestedRuns()).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    const all = [...first.spans, ...second.spans].map((sp) => sp.spanId);
    expect(all).toHaveLength(16);
    expect(new Set(all).size).toBe(16);
    expect(second.spans).toHaveLength(8);
    expect(logs).toContain('info kc_runs: resuming run-2026-01-10-a after the 8 spans pushed before the restart');
    await r1.shutdown().catch(() => undefined);
    await r2.shutdown();
  });

  it('logs and skips a bad run file, and still ingests the good ones', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    await mkdir(join(dir, 'runs', 'r-bad'));
    await writeFile(join(dir, 'runs', 'r-bad', 'events.jsonl'), '{"eventType":"run_completion","timestamp":"2026-01-10T10:00:00Z"}\nnot json\n');
    await writeFile(join(dir, 'runs', 'r-bad', 'summary.json'), '{}');
    const sink = new RecordingSink();
    const r = receiver(sink);
    expect((await r.scan()).ingested).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([expect.stringMatching(/^warn kc_runs: skipping .*r-bad\/events\.jsonl: line 2: invalid JSON/)]);
    await r.scan();
    expect(logs.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(await metric('sidelight_kc_runs_failed_total')).toBe(1);
    await r.shutdown();
  });

  it('logs and counts a run file it cannot read (not merely missing) once, and still ingests the good ones', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    await mkdir(join(dir, 'runs', 'r-loop'));
    await symlink('events.jsonl', join(dir, 'runs', 'r-loop', 'events.jsonl')); // stat fails with ELOOP
    await mkdir(join(dir, 'runs', 'r-empty')); // no file yet: waited for, silently
    const sink = new RecordingSink();
    const r = receiver(sink);
    expect((await r.scan()).ingested).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    await r.scan();
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([expect.stringMatching(/^warn kc_runs: skipping .*r-loop\/events\.jsonl: cannot read it \(ELOOP\)$/)]);
    expect(await metric('sidelight_kc_runs_failed_total')).toBe(1);
    await r.shutdown();
  });

  it('forgets the oldest runs beyond max_remembered and counts them', async () => {
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    const r = receiver(new RecordingSink(), { max_remembered: 1 });
    await r.scan();
    expect(r.ingestedRuns()).toEqual(['run-2026-01-10-b']);
    expect(await metric('sidelight_kc_runs_forgotten_total')).toBe(1);
    await r.shutdown();
  });

  it('survives a corrupt ingest log and a missing runs folder', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'data', 'kc-runs-ingested.json'), '{"version": 1, "runs": [[1]]');
    const sink = new RecordingSink();
    const r = receiver(sink, { poll_interval: '1h' });
    await expect(r.start()).resolves.toEqual([`kc_runs watching ${join(dir, 'runs')}`]);
    expect(logs.some((l) => l.startsWith('warn kc_runs: ignoring invalid ingest log'))).toBe(true);
    expect(logs.some((l) => l.startsWith('info kc_runs: waiting for'))).toBe(true);
    await cp(RUNS, join(dir, 'runs'), { recursive: true });
    expect((await r.scan()).ingested).toHaveLength(2);
    await r.shutdown();
  });

  it('notices a new run through fs.watch without waiting for the poll', async () => {
    await mkdir(join(dir, 'runs'));
    const sink = new RecordingSink();
    const r = receiver(sink, { poll_interval: '1h' }, asyncScheduler);
    await r.start();
    await cp(join(RUNS, 'run-2026-01-10-a'), join(dir, 'runs', 'run-2026-01-10-a'), { recursive: true });
    // bounded wait for the real fs event
    for (let i = 0; i < 250 && sink.spans.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    await r.shutdown();
    expect(sink.spans).toHaveLength(11);
  });
});
