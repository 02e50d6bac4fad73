/**
 * `service.ui`: the live page at /ui, served beside /metrics (the OTLP/HTTP port, or
 * service.telemetry.endpoint when that is set). Every list it keeps in memory has a cap here.
 */
import { z } from 'zod';
import { zDuration } from './duration.js';

export const TRACE_ID_PLACEHOLDER = '{trace_id}';

/** An http(s) URL template with {trace_id} where the exemplar trace id goes (Jaeger, Tempo, Grafana). */
const traceUrlTemplate = z
  .string()
  .refine((v) => v.includes(TRACE_ID_PLACEHOLDER), { message: `must contain ${TRACE_ID_PLACEHOLDER}, e.g. http://127.0.0.1:16686/trace/${TRACE_ID_PLACEHOLDER}` })
  .refine(
    (v) => {
      try {
        const url = new URL(v.replaceAll(TRACE_ID_PLACEHOLDER, '0'));
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL' },
  );

export const uiSchema = z.strictObject({
  /** serve GET /ui, /ui/events and /ui/assets/* */
  enabled: z.boolean().default(true),
  /** link exemplar trace ids to a tracing UI; unset = ids are shown without links */
  trace_url: traceUrlTemplate.optional(),
  /** operations with chart history; further operations are not charted (counted) */
  max_operations: z.number().int().positive().default(100),
  /** points kept per operation, one per watermark boundary (180 × 10 s slide = 30 min) */
  history_points: z.number().int().positive().default(180),
  /** open items (pain points) shown at once; further new ones are not shown (counted) */
  max_open: z.number().int().positive().default(500),
  /** resolved items kept in memory for the "resolved" list */
  max_resolved: z.number().int().positive().default(200),
  /** how far back the "resolved" list reaches (in memory, and in the SQLite store when configured) */
  resolved_window: zDuration.default(86_400_000),
  /** operations listed under "critical path" */
  critical_path_top: z.number().int().positive().default(10),
  /** events kept for clients that reconnect with Last-Event-ID; older ones get a fresh snapshot */
  event_backlog: z.number().int().positive().default(500),
  /** concurrent /ui/events streams; more are answered 503 */
  max_clients: z.number().int().positive().default(16),
  /** bytes waiting to be sent to one client; a slower client is disconnected (counted) and reconnects */
  max_client_buffer: z.number().int().positive().default(4 * 1024 * 1024),
});
export type UiSettings = z.output<typeof uiSchema>;
