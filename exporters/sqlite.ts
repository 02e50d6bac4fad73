/**
 * sqlite: a local store of pain points and recommendations across runs (docs/outputs.md), in WAL mode.
 * - `painpoints`: one row per pain point, upserted on each change (first_seen keeps the earliest);
 * - `painpoint_changes`: append-only history of every change, capped at `max_history_rows`
 *   (oldest rows pruned, counted in sidelight_exporter_pruned_total);
 * - `recommendations`: one row per recommendation id, upserted.
 * The changes of one burst are written together in one synchronous transaction on the next turn
 * of the event loop (a commit per change would cost ~0.2 ms each); errors are counted and logged,
 * never thrown. openPainPointStore() reads the store (tests, CLI).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { PainPointChange } from '../src/model/events.js';
import type { PainPointRecord, PainPointState } from '../src/model/painpoint.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { ComponentContext, Exporter, ExporterFactory } from '../src/component/contracts.js';
import { exporterMetrics } from './delivery/metrics.js';

export const sqliteConfigSchema = z.strictObject({
  path: z.string().min(1).default('./sidelight-data/sidelight.db'),
  max_history_rows: z.number().int().positive().default(100_000),
  /** changes waiting for the next write (one transaction per burst); beyond it dropped (counted) */
  queue_size: z.number().int().positive().default(10_000),
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

export interface PainPointStore {
  listPainPoints(filter?: { state?: PainPointState }): StoredPainPoint[];
  /** pain points resolved at or after `since` (ISO, by updated_at), newest first, at most `limit` */
  listResolvedSince(since: string, limit: number): StoredPainPoint[];
  listRecommendations(): Recommendation[];
  /** the change history, oldest first; of one pain point when `painPointId` is given */
  listChanges(painPointId?: string): PainPointRecord[];
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

  let write: ((changes: readonly PainPointChange[]) => void) | undefined;
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
    const pruneOldest = opened.prepare('DELETE FROM painpoint_changes WHERE seq IN (SELECT seq FROM painpoint_changes ORDER BY seq LIMIT ?)');
    let historyRows = (opened.prepare('SELECT count(*) AS n FROM painpoint_changes').get() as { n: number }).n;

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
      historyRows += 1;
      if (historyRows > config.max_history_rows) {
        const excess = historyRows - config.max_history_rows;
        const deleted = pruneOldest.run(excess).changes;
        historyRows -= deleted;
        metrics.pruned.inc(labels, deleted);
      }
      for (const r of change.recommendations) {
        upsertRecommendation.run(r.id, JSON.stringify(r.pain_point_ids), r.priority, r.title, JSON.stringify(r), at);
      }
    };
    write = opened.transaction((changes: readonly PainPointChange[]) => {
      const at = new Date(now()).toISOString();
      for (const change of changes) writeOne(change, at);
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

  let pending: PainPointChange[] = [];
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
      fail(`cannot store ${batch.length} changes (${batch[0]?.painpoint.id}…)`, err);
    }
  };

  return {
    export(change) {
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
