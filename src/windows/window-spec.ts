/** The sliding windows of docs/architecture.md, Event time and windows: fine ones on `slide`-wide panes, coarse ones on `coarse_slide` panes. */
import type { WindowsSettings } from '../config/service-schema.js';
import { formatDuration } from '../config/duration.js';

export interface WindowSpec {
  /** '1m', '5m', '15m', '1h', … */
  readonly name: string;
  readonly sizeMs: number;
  /** width of the panes it is merged from */
  readonly paneMs: number;
}

/** Every configured window, shortest first. */
export function windowSpecs(w: WindowsSettings): WindowSpec[] {
  const fine = w.sizes.map((sizeMs) => ({ name: formatDuration(sizeMs), sizeMs, paneMs: w.slide }));
  const coarse = w.coarse_sizes.map((sizeMs) => ({ name: formatDuration(sizeMs), sizeMs, paneMs: w.coarse_slide }));
  return [...fine, ...coarse].sort((a, b) => a.sizeMs - b.sizeMs);
}

/** Start of the pane of width `paneMs` that holds event time `t`. */
export function paneStart(t: number, paneMs: number): number {
  return Math.floor(t / paneMs) * paneMs;
}

/** The whole input (offline): a pseudo window used when every detector also judges everything. */
export const ALL_WINDOW: WindowSpec = { name: 'all', sizeMs: Number.POSITIVE_INFINITY, paneMs: Number.POSITIVE_INFINITY };
