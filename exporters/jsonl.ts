/**
 * jsonl: one pain-point record per line (docs/painpoints.md JSON) appended to `path`, one problem
 * record per line (docs/outputs.md, Problems) appended to `problems_path`; optionally a third file
 * with one recommendation per line, each recommendation id written once (ids already in the file
 * from an earlier run count as written). `emit` picks which of the two record files are written.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { isProblemChange, type OutputChange } from '../src/model/events.js';
import type { ComponentContext, Exporter, ExporterFactory } from '../src/component/contracts.js';
import { LineFile } from './delivery/line-file.js';
import { exporterMetrics } from './delivery/metrics.js';
import { painPointJson } from './painpoint-json.js';
import { emits, emitSetting } from './emit.js';
import { changeId, problemJson } from './problem-json.js';

export const jsonlConfigSchema = z.strictObject({
  path: z.string().min(1).default('./sidelight-out/painpoints.jsonl'),
  /** one problem record per line (the file is created with the first problem change) */
  problems_path: z.string().min(1).default('./sidelight-out/problems.jsonl'),
  /** which changes are written: problems (to problems_path), painpoints (to path), or both */
  emit: emitSetting('both'),
  /** add the change's recommendations to each line as `recommendations` */
  include_recommendations: z.boolean().default(false),
  /** a second file, one recommendation per line, each id once; unset = none */
  recommendations_path: z.string().min(1).optional(),
  /** cap of lines waiting to be written, in bytes; beyond it lines are dropped (counted) */
  max_buffered_bytes: z.number().int().positive().default(16 * 1024 * 1024),
  /** recommendation ids remembered to write each once (oldest forgotten beyond it) */
  max_remembered_recommendations: z.number().int().positive().default(100_000),
});
export type JsonlConfig = z.output<typeof jsonlConfigSchema>;

export interface JsonlExporter extends Exporter {
  /** resolves once every change exported so far is on disk */
  flush(): Promise<void>;
}

export function createJsonlExporter(config: JsonlConfig, ctx: ComponentContext): JsonlExporter {
  const metrics = exporterMetrics(ctx.metrics);
  const labels = { exporter: ctx.id };
  const lineFile = (p: string, countsAsSent: boolean) =>
    new LineFile({ path: p, exporterId: ctx.id, maxBufferedBytes: config.max_buffered_bytes, metrics, logger: ctx.logger, countsAsSent });
  const records = lineFile(config.path, true);
  const problems = lineFile(config.problems_path, true);
  const recsPath = config.recommendations_path;
  const recs = recsPath !== undefined ? lineFile(recsPath, false) : undefined;
  const writtenRecIds = new Set<string>();
  if (recsPath !== undefined) {
    try {
      loadWrittenIds(recsPath, config.max_remembered_recommendations, writtenRecIds);
    } catch (err) {
      // Unreadable (not missing): ids already in the file may be written again; say so, count it.
      metrics.errors.inc(labels);
      ctx.logger.error(`exporter ${ctx.id}: cannot read ${recsPath} to skip recommendations already written, some may repeat: ${String(err)}`);
    }
  }

  return {
    export(change: OutputChange) {
      if (!emits(config.emit, change)) return;
      try {
        const record = isProblemChange(change) ? problemJson(change.problem) : painPointJson(change.painpoint);
        const line = config.include_recommendations ? { ...record, recommendations: change.recommendations } : record;
        (isProblemChange(change) ? problems : records).write(JSON.stringify(line));
        if (recs) {
          for (const r of change.recommendations) {
            if (writtenRecIds.has(r.id)) continue;
            if (!recs.write(JSON.stringify(r))) continue;
            writtenRecIds.add(r.id);
            if (writtenRecIds.size > config.max_remembered_recommendations) {
              const oldest = writtenRecIds.values().next().value;
              if (oldest !== undefined) writtenRecIds.delete(oldest);
            }
          }
        }
      } catch (err) {
        metrics.errors.inc(labels);
        ctx.logger.error(`exporter ${ctx.id}: cannot write ${changeId(change)}: ${String(err)}`);
      }
    },
    async flush() {
      await Promise.all([records.flush(), problems.flush(), recs?.flush()]);
    },
    async shutdown() {
      await Promise.all([records.close(), problems.close(), recs?.close()]);
    },
  };
}

/**
 * Adds the ids of recommendations an earlier run already wrote (the file is ours: one JSON object
 * per line) to `ids`. A missing file holds none; any other read error is thrown.
 */
function loadWrittenIds(file: string, max: number, ids: Set<string>): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const line of text.split('\n')) {
    const m = /"id":"((?:[^"\\]|\\.)*)"/.exec(line);
    if (m?.[1] === undefined) continue;
    ids.add(m[1]);
    if (ids.size > max) {
      const oldest = ids.values().next().value;
      if (oldest !== undefined) ids.delete(oldest);
    }
  }
}

export const jsonlExporterFactory: ExporterFactory<JsonlConfig> = {
  type: 'jsonl',
  configSchema: jsonlConfigSchema,
  create: createJsonlExporter,
};
