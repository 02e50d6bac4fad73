/**
 * Delivery settings every queued exporter shares, named as the Collector's exporterhelper names
 * them (`sending_queue.queue_size`, `retry_on_failure`), flattened into each exporter's config.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { ComponentContext } from '../../src/component/contracts.js';
import { zDuration } from '../../src/config/duration.js';

export const retryOnFailureSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** first backoff delay */
  initial_interval: zDuration.default(1_000),
  /** cap of one backoff delay (a Retry-After the backend asks for is honoured as given, within max_elapsed_time) */
  max_interval: zDuration.default(30_000),
  /** give up on a batch after this long (then spool it, or drop it counted when no spool) */
  max_elapsed_time: zDuration.default(300_000),
  /** growth factor of the delay per attempt (Collector default 1.5) */
  multiplier: z.number().min(1).default(1.5),
  /** each delay is drawn from interval × [1 − f, 1 + f] so senders do not retry in lockstep */
  randomization_factor: z.number().min(0).max(1).default(0.5),
});
export type RetryOnFailure = z.output<typeof retryOnFailureSchema>;

/** Spread into an exporter's `z.strictObject({...})`. */
export const deliveryShape = {
  /** changes held in memory; beyond it: on disk only (write-ahead log), or dropped (counted) without one */
  queue_size: z.number().int().positive().default(1_000),
  /** changes per request */
  max_batch_size: z.number().int().positive().default(100),
  retry_on_failure: retryOnFailureSchema.prefault({}),
  /** write each change to disk before sending it, remove it once acknowledged (docs/outputs.md, Exporters: none lost); false = memory only */
  spool: z.boolean().default(true),
  /** folder of the write-ahead log; unset = `<service.data_dir>/spool/<exporter id>` in the sidecar */
  spool_dir: z.string().min(1).optional(),
  /** cap on unacknowledged bytes in the log; beyond it the newest change is dropped (counted, logged with its id) */
  spool_max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** fsync each commit of the log; false = a process crash loses nothing, an OS crash or power loss may */
  spool_fsync: z.boolean().default(true),
  /** each burst of changes is written at once; this long after a write, one fsync commits all written since; 0 = at once */
  spool_commit_interval: zDuration.default(0),
  /** how long shutdown() keeps sending before it spools (or drops, counted) what is left */
  shutdown_timeout: zDuration.default(5_000),
};

export const deliverySchema = z.strictObject(deliveryShape);
export type DeliverySettings = z.output<typeof deliverySchema>;

/**
 * Picks the delivery settings out of an exporter config that spread `deliveryShape`. The live
 * sidecar spools under its data directory unless told otherwise; offline runs keep memory only.
 */
export function deliverySettingsOf(config: DeliverySettings, ctx?: Pick<ComponentContext, 'mode' | 'id' | 'settings'>): DeliverySettings {
  const defaultDir = ctx?.mode === 'live' ? join(ctx.settings.data_dir, 'spool', ctx.id.replace(/[^A-Za-z0-9_.-]/g, '_')) : undefined;
  const spoolDir = config.spool ? (config.spool_dir ?? defaultDir) : undefined;
  return {
    queue_size: config.queue_size,
    max_batch_size: config.max_batch_size,
    retry_on_failure: config.retry_on_failure,
    spool: config.spool,
    ...(spoolDir !== undefined ? { spool_dir: spoolDir } : {}),
    spool_max_bytes: config.spool_max_bytes,
    spool_fsync: config.spool_fsync,
    spool_commit_interval: config.spool_commit_interval,
    shutdown_timeout: config.shutdown_timeout,
  };
}
