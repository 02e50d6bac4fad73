/**
 * stdout: one readable line per change, e.g. for a problem
 * `[OPEN] high problem pb-… web_search rate-limited (429) … — root failure_rate on web_search; 2 symptoms: …`
 * and for a pain point
 * `[OPEN] high failure_rate pp-3f9c0a1b2c3d4e5f web_search fails 42 % of calls (…) — 5m window`,
 * or the record as one JSON line (`format: json`). Problems only by default (`emit`).
 */
import { z } from 'zod';
import { isProblemChange, type OutputChange } from '../src/model/events.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { ProblemRecord } from '../src/model/problem.js';
import type { ComponentContext, Exporter, ExporterFactory } from '../src/component/contracts.js';
import { exporterMetrics } from './delivery/metrics.js';
import { painPointJson } from './painpoint-json.js';
import { emits, emitSetting } from './emit.js';
import { problemJson, problemSpread } from './problem-json.js';

export const stdoutConfigSchema = z.strictObject({
  format: z.enum(['text', 'json']).default('text'),
  /** which changes are printed: problems, painpoints or both */
  emit: emitSetting('problems'),
  /** cap of output the stream may hold unwritten (a slow pipe); beyond it lines are dropped (counted) */
  max_buffered_bytes: z.number().int().positive().default(1024 * 1024),
});
export type StdoutConfig = z.output<typeof stdoutConfigSchema>;

/** The part of a Writable the exporter uses (process.stdout by default). */
export interface LineStream {
  write(chunk: string): unknown;
  readonly writableLength?: number;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  off?(event: 'error', listener: (err: Error) => void): unknown;
}

export function formatPainPointLine(p: PainPointRecord): string {
  const window = p.evidence.window === 'all' ? 'whole input' : `${p.evidence.window} window`;
  // most titles already say their window ("… over the last 5m"); say it only when they do not
  const saysWindow = p.evidence.window === 'all' ? p.title.includes('whole input') : new RegExp(`\\b${p.evidence.window}\\b`).test(p.title);
  return `[${p.state.toUpperCase()}] ${p.severity} ${p.kind} ${p.id} ${p.title}${saysWindow ? '' : ` — ${window}`}`;
}

/** `[OPEN] high problem pb-… <title> — root <kind> on <subject>; <spread>` (merged: `— merged into pb-…`). */
export function formatProblemLine(p: ProblemRecord): string {
  const tail = p.state === 'merged' && p.merged_into !== undefined ? `merged into ${p.merged_into}` : problemSpread(p);
  return `[${p.state.toUpperCase()}] ${p.severity} problem ${p.id} ${p.title} — ${tail}`;
}

export function createStdoutExporter(config: StdoutConfig, ctx: ComponentContext, stream: LineStream = process.stdout): Exporter {
  const metrics = exporterMetrics(ctx.metrics);
  const labels = { exporter: ctx.id };
  // a closed pipe (EPIPE) surfaces as an 'error' event: count it instead of crashing
  const onError = (err: Error) => {
    metrics.errors.inc(labels);
    ctx.logger.warn(`exporter ${ctx.id}: output stream error: ${err.message}`);
  };
  stream.on?.('error', onError);
  return {
    export(change: OutputChange) {
      if (!emits(config.emit, change)) return;
      try {
        if ((stream.writableLength ?? 0) > config.max_buffered_bytes) {
          metrics.dropped.inc({ exporter: ctx.id, reason: 'buffer_full' });
          return;
        }
        let line: string;
        if (isProblemChange(change)) line = config.format === 'json' ? JSON.stringify(problemJson(change.problem)) : formatProblemLine(change.problem);
        else line = config.format === 'json' ? JSON.stringify(painPointJson(change.painpoint)) : formatPainPointLine(change.painpoint);
        stream.write(line + '\n');
        metrics.sent.inc(labels);
      } catch (err) {
        metrics.errors.inc(labels);
        ctx.logger.warn(`exporter ${ctx.id}: cannot write: ${String(err)}`);
      }
    },
    async shutdown() {
      // process.stdout is never closed by an exporter; writes already handed to the stream flush on their own
      stream.off?.('error', onError);
    },
  };
}

export const stdoutExporterFactory: ExporterFactory<StdoutConfig> = {
  type: 'stdout',
  configSchema: stdoutConfigSchema,
  create: (config, ctx) => createStdoutExporter(config, ctx),
};
