/**
 * sqlite: a local store of pain points, problems and recommendations across runs (docs/outputs.md), in WAL mode.
 * - `painpoints`: one row per pain point, upserted on each change (first_seen keeps the earliest);
 * - `painpoint_changes`: append-only history of every change, capped at `max_history_rows`
 *   (oldest rows pruned, counted in sidelight_exporter_pruned_total);
 * - `problems` and `problem_changes`: the same for problems (the record as JSON beside the
 *   columns a query filters on), so the live page lists the problems resolved in the last 24 h;
 * - `recommendations`: one row per recommendation id, upserted.
 * The changes of one burst are written together in one synchronous transaction on the next turn
 * of the event loop (a commit per change would cost ~0.2 ms each); errors are counted and logged,
 * never thrown. openPainPointStore() reads the store (tests, CLI).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { isProblemChange, type OutputChange, type PainPointChange } from '../src/model/events.js';
import type { PainPointRecord, PainPointState } from '../src/model/painpoint.js';
import type { ProblemChange, ProblemRecord, ProblemState } from '../src/model/problem.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { ComponentContext, Exporter, ExporterFactory } from '../src/component/contracts.js';
import { exporterMetrics } from './delivery/metrics.js';
import { emits, emitSetting } from './emit.js';
import { changeId } from './problem-json.js';

export const sqliteConfigSchema = z.strictObject({
  path: z.string().min(1).default('./sidelight-data/sidelight.db'),
  max_history_rows: z.number().int().positive().default(100_000),
  /** changes waiting for the next write (one transaction per burst); beyond it dropped (counted) */
  queue_size: z.number().int().positive().default(10_000),
  /** which changes are stored: problems, painpoints or both */
  emit: emitSetting('both'),
});
export type SqliteConfig = z.output<typeof sqliteConfigSchema>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS painpoints (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  category TEXT NOT NULL,
  state TEXT NOT NULL,
  subject TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  evidence TEXT NOT NULL,
  impact TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  run_ids TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS painpoints_state ON painpoints (state);
CREATE TABLE IF NOT EXISTS painpoint_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  painpoint_id TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS painpoint_changes_by_painpoint ON painpoint_changes (painpoint_id, seq);
CREATE TABLE IF NOT EXISTS problems (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  category TEXT NOT NULL,
  title TEXT NOT NULL,
  root_id TEXT NOT NULL,
  root_kind TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  record TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS problems_state ON problems (state, updated_at);
CREATE TABLE IF NOT EXISTS problem_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  problem_id TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS problem_changes_by_problem ON problem_changes (problem_id, seq);
CREATE TABLE IF NOT EXISTS recommendations (
  id TEXT PRIMARY KEY,
  pain_point_ids TEXT NOT NULL,
  priority TEXT NOT NULL,
  title TEXT NOT NULL,
  json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

interface PainPointRow {
  id: string;
  kind: string;
  severity: string;
  category: string;
  state: string;
  subject: string;
  title: string;
  description: string;
  evidence: string;
  impact: string | null;
  first_seen: string;
  last_seen: string;
  run_ids: string;
  updated_at: string;
}

export type StoredPainPoint = PainPointRecord & { readonly updated_at: string };
export type StoredProblem = ProblemRecord & { readonly updated_at: string };

export interface PainPointStore {
  listPainPoints(filter?: { state?: PainPointState }): StoredPainPoint[];
  /** pain points resolved at or after `since` (ISO, by updated_at), newest first, at most `limit` */
  listResolvedSince(since: string, limit: number): StoredPainPoint[];
  listRecommendations(): Recommendation[];
  /** the change history, oldest first; of one pain point when `painPointId` is given */
  listChanges(painPointId?: string): PainPointRecord[];
  listProblems(filter?: { state?: ProblemState }): StoredProblem[];
  /** problems resolved or merged at or after `since` (ISO, by updated_at), newest first, at most `limit` */
  listResolvedProblemsSince(since: string, limit: number): StoredProblem[];
  /** the problem change history, oldest first; of one problem when `problemId` is given */
  listProblemChanges(problemId?: string): ProblemRecord[];
  close(): void;
}

function rowToPainPoint(row: PainPointRow): StoredPainPoint {
  return {
    id: row.id,
    kind: row.kind as PainPointRecord['kind'],
    severity: row.severity as PainPointRecord['severity'],
    category: row.category as PainPointRecord['category'],
    state: row.state as PainPointState,
    subject: JSON.parse(row.subject) as PainPointRecord['subject'],
    title: row.title,
    description: row.description,
    evidence: JSON.parse(row.evidence) as PainPointRecord['evidence'],
    ...(row.impact !== null ? { impact: JSON.parse(row.impact) as NonNullable<PainPointRecord['impact']> } : {}),
    first_seen: row.first_seen,
    last_seen: row.last_seen,
    run_ids: JSON.parse(row.run_ids) as string[],
    updated_at: row.updated_at,
  };
}

function rowToProblem(row: { record: string; updated_at: string }): StoredProblem {
  return { ...(JSON.parse(row.record) as ProblemRecord), updated_at: row.updated_at };
}

/** Opens a store read-only (it must exist). */
export function openPainPointStore(file: string): PainPointStore {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    listPainPoints(filter = {}) {
      const rows = (
        filter.state !== undefined
          ? db.prepare('SELECT * FROM painpoints WHERE state = ? ORDER BY id').all(filter.state)
          : db.prepare('SELECT * FROM painpoints ORDER BY id').all()
      ) as PainPointRow[];
      return rows.map(rowToPainPoint);
    },
    listResolvedSince(since, limit) {
      const rows = db
        .prepare("SELECT * FROM painpoints WHERE state = 'resolved' AND updated_at >= ? ORDER BY updated_at DESC, id LIMIT ?")
        .all(since, limit) as PainPointRow[];
      return rows.map(rowToPainPoint);
    },
    listRecommendations() {
      const rows = db.prepare('SELECT json FROM recommendations ORDER BY id').all() as { json: string }[];
      return rows.map((r) => JSON.parse(r.json) as Recommendation);
    },
    listChanges(painPointId) {
      const rows = (
        painPointId !== undefined
          ? db.prepare('SELECT record FROM painpoint_changes WHERE painpoint_id = ? ORDER BY seq').all(painPointId)
          : db.prepare('SELECT record FROM painpoint_changes ORDER BY seq').all()
      ) as { record: string }[];
      return rows.map((r) => JSON.parse(r.record) as PainPointRecord);
    },
    listProblems(filter = {}) {
      const rows = (
        filter.state !== undefined
          ? db.prepare('SELECT record, updated_at FROM problems WHERE state = ? ORDER BY id').all(filter.state)
          : db.prepare('SELECT record, updated_at FROM problems ORDER BY id').all()
      ) as { record: string; updated_at: string }[];
      return rows.map(rowToProblem);
    },
    listResolvedProblemsSince(since, limit) {
      const rows = db
        .prepare("SELECT record, updated_at FROM problems WHERE state IN ('resolved', 'merged') AND updated_at >= ? ORDER BY updated_at DESC, id LIMIT ?")
        .all(since, limit) as { record: string; updated_at: string }[];
      return rows.map(rowToProblem);
    },
    listProblemChanges(problemId) {
      const rows = (
        problemId !== undefined
          ? db.prepare('SELECT record FROM problem_changes WHERE problem_id = ? ORDER BY seq').all(problemId)
          : db.prepare('SELECT record FROM problem_changes ORDER BY seq').all()
      ) as { record: string }[];
      return rows.map((r) => JSON.parse(r.record) as ProblemRecord);
    },
    close: () => db.close(),
  };
}

export interface SqliteExporterDeps {
  /** wall clock for updated_at / changed_at */
  readonly now?: () => number;
}

export interface SqliteExporter extends Exporter {
  /** writes what is pending now (normally on the next turn of the event loop) */
  flush(): Promise<void>;
}

export function createSqliteExporter(config: SqliteConfig, ctx: ComponentContext, deps: SqliteExporterDeps = {}): SqliteExporter {
  const metrics = exporterMetrics(ctx.metrics);
  const labels = { exporter: ctx.id };
  const now = deps.now ?? Date.now;
  const fail = (what: string, err: unknown) => {
    metrics.errors.inc(labels);
    ctx.logger.error(`exporter ${ctx.id}: ${what}: ${String(err)}`);
  };

  let write: ((changes: readonly OutputChange[]) => void) | undefined;
  let db: Database.Database | undefined;
  try {
    fs.mkdirSync(path.dirname(path.resolve(config.path)), { recursive: true });
    const opened = new Database(config.path);
    db = opened;
    opened.pragma('journal_mode = WAL');
    // WAL + NORMAL: durable across process crashes, one fsync per checkpoint instead of per change
    opened.pragma('synchronous = NORMAL');
    opened.exec(SCHEMA);
    const upsertPainPoint = opened.prepare(`
      INSERT INTO painpoints (id, kind, severity, category, state, subject, title, description, evidence, impact, first_seen, last_seen, run_ids, updated_at)
      VALUES (@id, @kind, @severity, @category, @state, @subject, @title, @description, @evidence, @impact, @first_seen, @last_seen, @run_ids, @updated_at)
      ON CONFLICT (id) DO UPDATE SET
        kind = excluded.kind, severity = excluded.severity, category = excluded.category, state = excluded.state,
        subject = excluded.subject, title = excluded.title, description = excluded.description, evidence = excluded.evidence,
        impact = excluded.impact, first_seen = min(painpoints.first_seen, excluded.first_seen), last_seen = excluded.last_seen,
        run_ids = excluded.run_ids, updated_at = excluded.updated_at`);
    const insertChange = opened.prepare(
      'INSERT INTO painpoint_changes (painpoint_id, state, severity, changed_at, record) VALUES (?, ?, ?, ?, ?)',
    );
    const upsertRecommendation = opened.prepare(`
      INSERT INTO recommendations (id, pain_point_ids, priority, title, json, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET pain_point_ids = excluded.pain_point_ids, priority = excluded.priority,
        title = excluded.title, json = excluded.json, updated_at = excluded.updated_at`);
    const upsertProblem = opened.prepare(`
      INSERT INTO problems (id, state, severity, category, title, root_id, root_kind, first_seen, last_seen, record, updated_at)
      VALUES (@id, @state, @severity, @category, @title, @root_id, @root_kind, @first_seen, @last_seen, @record, @updated_at)
      ON CONFLICT (id) DO UPDATE SET
        state = excluded.state, severity = excluded.severity, category = excluded.category, title = excluded.title,
        root_id = excluded.root_id, root_kind = excluded.root_kind, first_seen = min(problems.first_seen, excluded.first_seen),
        last_seen = excluded.last_seen, record = excluded.record, updated_at = excluded.updated_at`);
    const insertProblemChange = opened.prepare(
      'INSERT INTO problem_changes (problem_id, state, severity, changed_at, record) VALUES (?, ?, ?, ?, ?)',
    );
    const history = (table: 'painpoint_changes' | 'problem_changes') => {
      const prune = opened.prepare(`DELETE FROM ${table} WHERE seq IN (SELECT seq FROM ${table} ORDER BY seq LIMIT ?)`);
      let rows = (opened.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      // each history table is capped on its own: a burst of problem changes never prunes pain-point history
      return () => {
        rows += 1;
        if (rows <= config.max_history_rows) return;
        const deleted = prune.run(rows - config.max_history_rows).changes;
        rows -= deleted;
        metrics.pruned.inc(labels, deleted);
      };
    };
    const painPointAppended = history('painpoint_changes');
    const problemAppended = history('problem_changes');
    const storeRecommendations = (change: OutputChange, at: string) => {
      for (const r of change.recommendations) {
        upsertRecommendation.run(r.id, JSON.stringify(r.pain_point_ids), r.priority, r.title, JSON.stringify(r), at);
      }
    };

    const writeOne = (change: PainPointChange, at: string) => {
      const p = change.painpoint;
      upsertPainPoint.run({
        id: p.id,
        kind: p.kind,
        severity: p.severity,
        category: p.category,
        state: p.state,
        subject: JSON.stringify(p.subject),
        title: p.title,
        description: p.description,
        evidence: JSON.stringify(p.evidence),
        impact: p.impact !== undefined ? JSON.stringify(p.impact) : null,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        run_ids: JSON.stringify(p.run_ids),
        updated_at: at,
      });
      insertChange.run(p.id, p.state, p.severity, at, JSON.stringify(p));
      painPointAppended();
      storeRecommendations(change, at);
    };
    const writeProblem = (change: ProblemChange, at: string) => {
      const p = change.problem;
      const record = JSON.stringify(p);
      upsertProblem.run({
        id: p.id,
        state: p.state,
        severity: p.severity,
        category: p.category,
        title: p.title,
        root_id: p.root.id,
        root_kind: p.root.kind,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        record,
        updated_at: at,
      });
      insertProblemChange.run(p.id, p.state, p.severity, at, record);
      problemAppended();
      storeRecommendations(change, at);
    };
    write = opened.transaction((changes: readonly OutputChange[]) => {
      const at = new Date(now()).toISOString();
      for (const change of changes) {
        if (isProblemChange(change)) writeProblem(change, at);
        else writeOne(change, at);
      }
    });
  } catch (err) {
    fail(`cannot open ${config.path}; changes will be dropped`, err);
    try {
      db?.close();
    } catch {
      // already unusable
    }
    db = undefined;
  }

  let pending: OutputChange[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    if (!write) {
      metrics.dropped.inc({ exporter: ctx.id, reason: 'write_error' }, batch.length);
      return;
    }
    try {
      write(batch);
      metrics.sent.inc(labels, batch.length);
    } catch (err) {
      metrics.dropped.inc({ exporter: ctx.id, reason: 'write_error' }, batch.length);
      fail(`cannot store ${batch.length} changes (${batch[0] !== undefined ? changeId(batch[0]) : ''}…)`, err);
    }
  };

  return {
    export(change) {
      if (!emits(config.emit, change)) return;
      if (pending.length >= config.queue_size) {
        metrics.dropped.inc({ exporter: ctx.id, reason: 'queue_full' });
        return;
      }
      pending.push(change);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async flush() {
      flush();
    },
    async shutdown() {
      flush();
      write = undefined;
      try {
        db?.close();
      } catch (err) {
        fail('cannot close the store', err);
      }
      db = undefined;
    },
  };
}

export const sqliteExporterFactory: ExporterFactory<SqliteConfig> = {
  type: 'sqlite',
  configSchema: sqliteConfigSchema,
  create: (config, ctx) => createSqliteExporter(config, ctx),
};
