/**
 * The `kc_runs` receiver: watches kc-orchestrator's runs folder (`.kc-orchestrator/runs/<runId>/
 * events.jsonl`) like the Collector's filelog receiver watches logs, and ingests each run once,
 * when it is complete, as the span records of docs/kc-runs.md.
 *
 * Discovery is fs.watch (fast path) plus a poll every `poll_interval` (the fallback fs.watch
 * needs: it misses events on network file systems and in folders created after start). A run is
 * complete when its events.jsonl holds a `run_completion` event, or summary.json is present, or the
 * file has not changed for `settle_time`. What was ingested (run id → size/mtime hash) survives
 * restarts in `state_file`, written atomically (temp file + rename).
 *
 * Exactly once across a crash: the ingest log is written, synchronously, in the same event-loop
 * turn as the pushes it records, and the pipeline's queue hands spans on only in a later turn. So
 * a kill before the rename leaves the pushed spans unprocessed (the run is ingested after the
 * restart), and a kill after it finds the run recorded. A run pushed only partly (the queue was
 * full) is recorded with the count pushed, and resumed there.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { zDuration } from '../config/duration.js';
import type { ComponentContext, Receiver, ReceiverFactory, SpanSink } from '../component/contracts.js';
import type { SpanRecord } from '../model/span.js';
import { isRunCompletion, type KcEvent } from '../kc/events.js';
import { KC_EVENTS_FILE, KC_SUMMARY_FILE, parseKcEventsText } from '../kc/run-files.js';
import { kcRunToSpans, KC_SERVICE_NAME } from '../kc/run-to-spans.js';

export const kcRunsConfigSchema = z.strictObject({
  /** the runs folder: one sub-folder per run holding events.jsonl */
  path: z.string().min(1).default('./.kc-orchestrator/runs'),
  /** how often the folder is scanned (fs.watch events trigger a scan sooner) */
  poll_interval: zDuration.default(2_000),
  /** a run without run_completion or summary.json is complete once its file is unchanged this long */
  settle_time: zDuration.default(10_000),
  /** ingest log; default `<service.data_dir>/kc-runs-ingested.json` */
  state_file: z.string().min(1).optional(),
  /** runs remembered in the ingest log; the oldest are forgotten first (counted) */
  max_remembered: z.number().int().positive().default(100_000),
  /** resource service.name of the spans made from runs */
  service_name: z.string().min(1).default(KC_SERVICE_NAME),
  /** events files bigger than this are skipped (logged) */
  max_file_size: z.number().int().positive().default(256 * 1024 * 1024),
  /** spans per push into the pipeline queue */
  batch_size: z.number().int().positive().default(1_000),
});
export type KcRunsConfig = z.output<typeof kcRunsConfigSchema>;

/** fs.watch handles kept at most, for run folders still being written (the poll covers the rest). */
const MAX_RUN_WATCHERS = 64;
/** runs mapped but not yet accepted by the queue, held at most (more wait on disk for the next scan) */
const MAX_READY_RUNS = 64;

interface Candidate {
  fingerprint: string;
  /** scheduler time the fingerprint was first seen */
  since: number;
  /** parse result for this fingerprint, cached so a settled-but-unchanged file is read once */
  parsed?: { events: KcEvent[] } | { error: string };
}

interface ReadyRun {
  readonly runId: string;
  readonly fingerprint: string;
  readonly spans: readonly SpanRecord[];
  /** spans already accepted by the sink */
  pushed: number;
}

export interface ScanResult {
  /** runs whose spans were all pushed during this scan */
  readonly ingested: readonly string[];
  /** runs waiting because the queue was full */
  readonly waiting: number;
}

const STATE_VERSION = 1;
const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  runs: z.array(z.tuple([z.string(), z.string()])),
  /** the run pushed only partly: id, fingerprint, spans pushed */
  partial: z.tuple([z.string(), z.string(), z.number().int().nonnegative()]).optional(),
});

const firstEnd = (run: ReadyRun): number => run.spans[0]?.endMs ?? 0;

function fingerprintOf(size: number, mtimeMs: number): string {
  return createHash('sha256').update(`${size}:${mtimeMs}`).digest('hex').slice(0, 16);
}

function counter(registry: Registry, name: string, help: string): Counter<'receiver'> {
  const existing = registry.getSingleMetric(name);
  return (existing as Counter<'receiver'> | undefined) ?? new Counter({ name, help, labelNames: ['receiver'], registers: [registry] });
}

export function defaultStateFile(dataDir: string, id: string): string {
  const suffix = id.includes('/') ? '-' + id.slice(id.indexOf('/') + 1).replace(/[^A-Za-z0-9_.-]/g, '_') : '';
  return join(dataDir, `kc-runs-ingested${suffix}.json`);
}

export class KcRunsReceiver implements Receiver {
  private readonly root: string;
  private readonly stateFile: string;
  /** run id → fingerprint of the ingested file, oldest first */
  private readonly remembered = new Map<string, string>();
  private readonly candidates = new Map<string, Candidate>();
  private readonly ready: ReadyRun[] = [];
  private readonly runWatchers = new Map<string, FSWatcher>();
  private rootWatcher: FSWatcher | undefined;
  private poll: Subscription | undefined;
  private scanning: Promise<ScanResult> | undefined;
  private rescan = false;
  private started = false;
  private stopped = false;
  private stateDirty = false;
  private missingLogged = false;
  /** a run the previous process pushed only partly: resumed after the spans it pushed */
  private resume: { runId: string; fingerprint: string; pushed: number } | undefined;
  private readonly metrics;

  constructor(
    private readonly config: KcRunsConfig,
    private readonly ctx: ComponentContext,
    private readonly sink: SpanSink,
  ) {
    this.root = resolve(config.path);
    this.stateFile = resolve(config.state_file ?? defaultStateFile(ctx.settings.data_dir, ctx.id));
    const r = ctx.metrics;
    this.metrics = {
      ingested: counter(r, 'sidelight_kc_runs_ingested_total', 'kc runs ingested by the kc_runs receiver'),
      spans: counter(r, 'sidelight_kc_runs_spans_total', 'spans made from kc runs and accepted by the pipeline'),
      failed: counter(r, 'sidelight_kc_runs_failed_total', 'kc run files skipped as unreadable or invalid'),
      forgotten: counter(r, 'sidelight_kc_runs_forgotten_total', 'ingested runs dropped from the ingest log (max_remembered)'),
      refused: counter(r, 'sidelight_kc_runs_push_refused_total', 'pushes refused by a full queue (retried at the next scan)'),
      pending:
        (r.getSingleMetric('sidelight_kc_runs_pending') as Gauge<'receiver'> | undefined) ??
        new Gauge({ name: 'sidelight_kc_runs_pending', help: 'kc runs mapped and waiting for queue space', labelNames: ['receiver'], registers: [r] }),
    };
  }

  async start(): Promise<string[]> {
    await this.loadState();
    this.started = true;
    this.watchRoot();
    const schedulePoll = () =>
      this.ctx.scheduler.schedule(() => {
        if (this.stopped) return;
        void this.scan().finally(() => {
          if (!this.stopped) this.poll = schedulePoll();
        });
      }, this.config.poll_interval);
    await this.scan();
    this.poll = schedulePoll();
    return [`kc_runs watching ${this.root}`];
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.poll?.unsubscribe();
    this.rootWatcher?.close();
    for (const w of this.runWatchers.values()) w.close();
    this.runWatchers.clear();
    await this.scanning?.catch(() => undefined);
    this.saveState();
  }

  /** Run ids remembered as ingested, oldest first. */
  ingestedRuns(): string[] {
    return [...this.remembered.keys()];
  }

  /** One pass over the runs folder; concurrent calls share the pass (and trigger one more after it). */
  scan(): Promise<ScanResult> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      const ingested: string[] = [];
      let waiting = 0;
      do {
        this.rescan = false;
        const pass = await this.scanOnce();
        ingested.push(...pass.ingested);
        waiting = pass.waiting;
      } while (this.rescan && !this.stopped);
      return { ingested, waiting };
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private label(): { receiver: string } {
    return { receiver: this.ctx.id };
  }

  private async scanOnce(): Promise<ScanResult> {
    let names: string[];
    try {
      names = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      this.missingLogged = false;
      if (this.rootWatcher === undefined) this.watchRoot();
    } catch (err) {
      if (!this.missingLogged) {
        this.ctx.logger.info(`kc_runs: waiting for ${this.root} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        this.missingLogged = true;
      }
      names = [];
    }
    const now = this.ctx.scheduler.now();
    const seen = new Set(names);
    for (const id of [...this.candidates.keys()]) if (!seen.has(id)) this.forgetCandidate(id);

    for (const runId of names) {
      if (this.ready.length >= MAX_READY_RUNS) break;
      if (this.ready.some((r) => r.runId === runId)) continue;
      await this.consider(runId, now);
    }

    // Oldest run first, so event time moves forward (run folder names need not sort by time);
    // a run already partly pushed keeps its place at the head.
    this.ready.sort((a, b) => Number(b.pushed > 0) - Number(a.pushed > 0) || firstEnd(a) - firstEnd(b));
    const ingested = this.pushReady();
    // same turn as the pushes: see the header on exactly-once
    if (this.stateDirty) this.saveState();
    this.metrics.pending.set(this.label(), this.ready.length);
    return { ingested, waiting: this.ready.length };
  }

  private async consider(runId: string, now: number): Promise<void> {
    const runDir = join(this.root, runId);
    const eventsPath = join(runDir, KC_EVENTS_FILE);
    let info;
    try {
      info = await stat(eventsPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.watchRun(runId, runDir); // folder made, file not written yet
        return;
      }
      // Unreadable, not missing: say so once (a later change of the file is considered afresh).
      const marker = `unreadable:${code ?? 'error'}`;
      if (this.remembered.get(runId) === marker) return;
      this.ctx.logger.warn(`kc_runs: skipping ${eventsPath}: cannot read it (${code ?? String(err)})`);
      this.metrics.failed.inc(this.label());
      this.remember(runId, marker);
      this.forgetCandidate(runId);
      return;
    }
    if (!info.isFile()) return;
    const fingerprint = fingerprintOf(info.size, info.mtimeMs);
    if (this.remembered.get(runId) === fingerprint) return;

    let c = this.candidates.get(runId);
    if (c === undefined || c.fingerprint !== fingerprint) {
      c = { fingerprint, since: now };
      this.candidates.set(runId, c);
    }
    if (c.parsed === undefined) {
      if (info.size > this.config.max_file_size) {
        c.parsed = { error: `file is ${info.size} bytes, over max_file_size ${this.config.max_file_size}` };
      } else {
        let text: string;
        try {
          text = await readFile(eventsPath, 'utf8');
        } catch (err) {
          text = '';
          c.parsed = { error: err instanceof Error ? err.message : String(err) };
        }
        // The fingerprint came from the stat before the read: a file that changed in between was
        // read at a newer state than the fingerprint says, and would be ingested again at the next
        // scan. Wait for the write to finish (its fs event brings the next scan) instead.
        if (await this.changedSince(eventsPath, fingerprint)) {
          this.forgetCandidate(runId);
          this.watchRun(runId, runDir);
          return;
        }
        if (c.parsed === undefined) {
          try {
            c.parsed = { events: parseKcEventsText(text) };
          } catch (err) {
            c.parsed = { error: err instanceof Error ? err.message : String(err) };
          }
        }
      }
    }
    const settled = now - c.since >= this.config.settle_time;
    const hasSummary = await stat(join(runDir, KC_SUMMARY_FILE)).then(
      (s) => s.isFile(),
      () => false,
    );
    if ('error' in c.parsed) {
      // A half-written file parses badly too: only a complete (or settled) run is judged bad.
      if (!settled && !hasSummary) {
        this.watchRun(runId, runDir);
        return;
      }
      this.ctx.logger.warn(`kc_runs: skipping ${eventsPath}: ${c.parsed.error}`);
      this.metrics.failed.inc(this.label());
      this.remember(runId, fingerprint); // the same bad file is not read again; a rewrite is
      this.forgetCandidate(runId);
      return;
    }
    const complete = hasSummary || settled || c.parsed.events.some(isRunCompletion);
    if (!complete) {
      this.watchRun(runId, runDir);
      return;
    }
    const spans = kcRunToSpans(c.parsed.events, {
      runId,
      mapping: this.ctx.settings.attributes,
      serviceName: this.config.service_name,
    }).sort((a, b) => a.endMs - b.endMs);
    if (this.remembered.has(runId)) this.ctx.logger.info(`kc_runs: ${runId} changed since it was ingested; ingesting it again`);
    let pushed = 0;
    if (this.resume?.runId === runId) {
      if (this.resume.fingerprint === fingerprint) {
        pushed = Math.min(this.resume.pushed, spans.length);
        this.ctx.logger.info(`kc_runs: resuming ${runId} after the ${pushed} spans pushed before the restart`);
      }
      this.resume = undefined;
    }
    this.ready.push({ runId, fingerprint, spans, pushed });
    this.forgetCandidate(runId);
  }

  private async changedSince(path: string, fingerprint: string): Promise<boolean> {
    try {
      const after = await stat(path);
      return fingerprintOf(after.size, after.mtimeMs) !== fingerprint;
    } catch {
      return true; // gone or unreadable since the read: the next scan says which
    }
  }

  /** Pushes ready runs in order; stops at the first refusal (the queue is full) and resumes next scan. */
  private pushReady(): string[] {
    const done: string[] = [];
    while (this.ready.length > 0) {
      const run = this.ready[0] as ReadyRun;
      while (run.pushed < run.spans.length) {
        const batch = run.spans.slice(run.pushed, run.pushed + this.config.batch_size);
        if (!this.sink.push(batch)) {
          this.metrics.refused.inc(this.label());
          return done;
        }
        run.pushed += batch.length;
        this.stateDirty = true; // the partial count is part of the ingest log
        this.metrics.spans.inc(this.label(), batch.length);
      }
      this.ready.shift();
      this.remember(run.runId, run.fingerprint);
      this.metrics.ingested.inc(this.label());
      this.ctx.logger.debug(`kc_runs: ingested ${run.runId} (${run.spans.length} spans)`);
      done.push(run.runId);
    }
    return done;
  }

  private remember(runId: string, fingerprint: string): void {
    this.remembered.delete(runId); // re-inserted last: the map stays oldest-first
    this.remembered.set(runId, fingerprint);
    while (this.remembered.size > this.config.max_remembered) {
      const oldest = this.remembered.keys().next().value as string;
      this.remembered.delete(oldest);
      this.metrics.forgotten.inc(this.label());
    }
    this.stateDirty = true;
    this.runWatchers.get(runId)?.close();
    this.runWatchers.delete(runId);
  }

  private forgetCandidate(runId: string): void {
    this.candidates.delete(runId);
  }

  private watchRoot(): void {
    if (!this.started || this.stopped || this.rootWatcher) return;
    try {
      this.rootWatcher = watch(this.root, () => void this.scan());
      this.rootWatcher.on('error', () => {
        // the folder went away: fall back to polling until it is back
        this.rootWatcher?.close();
        this.rootWatcher = undefined;
      });
    } catch {
      this.rootWatcher = undefined; // not there yet; the poll retries
    }
  }

  private watchRun(runId: string, dir: string): void {
    if (!this.started || this.stopped || this.runWatchers.has(runId) || this.runWatchers.size >= MAX_RUN_WATCHERS) return;
    try {
      const w = watch(dir, () => void this.scan());
      w.on('error', () => {
        w.close();
        this.runWatchers.delete(runId);
      });
      this.runWatchers.set(runId, w);
    } catch {
      // the poll covers it
    }
  }

  private async loadState(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.stateFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.ctx.logger.warn(`kc_runs: cannot read ${this.stateFile}: ${(err as Error).message}`);
      return;
    }
    try {
      const state = stateSchema.parse(JSON.parse(text));
      for (const [runId, fp] of state.runs) this.remembered.set(runId, fp);
      if (state.partial !== undefined) this.resume = { runId: state.partial[0], fingerprint: state.partial[1], pushed: state.partial[2] };
    } catch (err) {
      // a corrupt log means re-ingesting old runs (deterministic span ids make that visible), never a crash
      this.ctx.logger.warn(`kc_runs: ignoring invalid ingest log ${this.stateFile}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** Synchronous on purpose: it must land before the event loop lets the queue hand spans on. */
  private saveState(): void {
    if (!this.stateDirty) return;
    this.stateDirty = false;
    const head = this.ready[0];
    const partial = head !== undefined && head.pushed > 0 && head.pushed < head.spans.length ? [head.runId, head.fingerprint, head.pushed] : undefined;
    const body = JSON.stringify({ version: STATE_VERSION, runs: [...this.remembered], ...(partial ? { partial } : {}) });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true });
      writeFileSync(tmp, body);
      renameSync(tmp, this.stateFile);
    } catch (err) {
      this.stateDirty = true;
      this.ctx.logger.warn(`kc_runs: cannot write ingest log ${this.stateFile}: ${(err as Error).message}`);
    }
  }
}

export const kcRunsReceiverFactory: ReceiverFactory<KcRunsConfig> = {
  type: 'kc_runs',
  configSchema: kcRunsConfigSchema as z.ZodType<KcRunsConfig>,
  create: (config, ctx, sink) => new KcRunsReceiver(config, ctx, sink),
};
