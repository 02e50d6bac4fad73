// A run file that changes between the receiver's stat and its read must not be ingested twice.
// readFile is wrapped (vi.mock is per file, hence this file) to touch the file just before reading it.
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { kcRunsConfigSchema, kcRunsReceiverFactory, type KcRunsReceiver } from '../src/receivers/kc-runs.js';
import { serviceSchema } from '../src/config/service-schema.js';
import type { SpanSink } from '../src/component/contracts.js';
import type { SpanRecord } from '../src/model/span.js';

const touchBeforeRead = vi.hoisted(() => ({ times: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const readFile = (async (path: Parameters<typeof fs.readFile>[0], options?: Parameters<typeof fs.readFile>[1]) => {
    if (touchBeforeRead.times > 0 && String(path).endsWith('events.jsonl')) {
      touchBeforeRead.times--;
      // a write landing between stat and read: same bytes, newer mtime (a new fingerprint)
      const later = new Date(Date.now() + 60_000 * (touchBeforeRead.times + 1));
      await fs.utimes(path as string, later, later);
    }
    return fs.readFile(path, options);
  }) as typeof fs.readFile;
  return { ...fs, readFile, default: { ...fs, readFile } };
});

const RUNS = fileURLToPath(new URL('./fixtures/kc/runs/', import.meta.url));
let dir: string;
const clock = 1_000_000;
const scheduler: SchedulerLike = Object.assign(Object.create(asyncScheduler) as SchedulerLike, { now: () => clock });

class RecordingSink implements SpanSink {
  readonly spans: SpanRecord[] = [];
  push(spans: readonly SpanRecord[]): boolean {
    this.spans.push(...spans);
    return true;
  }
}

function receiver(sink: SpanSink): KcRunsReceiver {
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const settings = serviceSchema.parse({ data_dir: join(dir, 'data') });
  const config = kcRunsConfigSchema.parse({ path: join(dir, 'runs'), poll_interval: '1h' });
  return kcRunsReceiverFactory.create(config, { scheduler, metrics: new Registry(), logger, settings, mode: 'live', id: 'kc_runs' }, sink) as KcRunsReceiver;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-kc-growing-'));
  await mkdir(join(dir, 'runs'));
  await cp(join(RUNS, 'run-2026-01-10-a'), join(dir, 'runs', 'run-2026-01-10-a'), { recursive: true });
});
afterEach(async () => {
  touchBeforeRead.times = 0;
  await rm(dir, { recursive: true, force: true });
});

describe('kc_runs receiver, a run file written while it is read', () => {
  it('waits for the next scan and then ingests the run once', async () => {
    const sink = new RecordingSink();
    const r = receiver(sink);
    touchBeforeRead.times = 1;
    expect((await r.scan()).ingested).toEqual([]);
    expect(sink.spans).toHaveLength(0);
    expect((await r.scan()).ingested).toEqual(['run-2026-01-10-a']);
    expect((await r.scan()).ingested).toEqual([]);
    await r.shutdown();
    expect(sink.spans).toHaveLength(11);
  });

  it('ingests an unchanged file at the first scan', async () => {
    const sink = new RecordingSink();
    const r = receiver(sink);
    expect((await r.scan()).ingested).toEqual(['run-2026-01-10-a']);
    expect((await r.scan()).ingested).toEqual([]);
    await r.shutdown();
    expect(sink.spans).toHaveLength(11);
  });
});
