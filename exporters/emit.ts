/**
 * What an exporter carries (docs/outputs.md, What goes where): problem changes, pain-point changes,
 * or both. Alerting outputs (stdout, webhook, otlp_traces, otlp_logs) carry problems by default,
 * so one cause raises one alert; record outputs (jsonl, sqlite) keep both.
 */
import { z } from 'zod';
import { isProblemChange, type OutputChange } from '../src/model/events.js';

export const EMIT_VALUES = ['problems', 'painpoints', 'both'] as const;
export type Emit = (typeof EMIT_VALUES)[number];

/** The `emit` key of an exporter's config, with that exporter's default. */
export function emitSetting(defaultValue: Emit) {
  return z.enum(EMIT_VALUES).default(defaultValue);
}

/** Whether an exporter set to `emit` sends this change. */
export function emits(emit: Emit, change: OutputChange): boolean {
  return emit === 'both' || (emit === 'problems') === isProblemChange(change);
}
