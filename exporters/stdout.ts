/**
 * stdout: one readable line per pain-point state change, e.g.
 * `[OPEN] high failure_rate pp-3f9c0a1b2c3d4e5f web_search fails 42 % of calls (…) — 5m window`,
 * or the docs/painpoints.md record as one JSON line (`format: json`).
 */
import { z } from 'zod';
import type { PainPointChange } from '../src/model/events.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { ComponentContext, Exporter, ExporterFactory } from '../src/component/contracts.js';
import { exporterMetrics } from './delivery/metrics.js';
import { painPointJson } from './painpoint-json.js';

export const stdoutConfigSchema = z.strictObject({
  format: z.enum(['text', 'json']).default('text'),
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
    export(change: PainPointChange) {
      try {
        if ((stream.writableLength ?? 0) > config.max_buffered_bytes) {
          metrics.dropped.inc({ exporter: ctx.id, reason: 'buffer_full' });
          return;
        }
        const p = change.painpoint;
        stream.write((config.format === 'json' ? JSON.stringify(painPointJson(p)) : formatPainPointLine(p)) + '\n');
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
