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

/**
 * The first boundary (a multiple of the judging step) whose judgement reads a span ending at
 * `endMs`: the one that closes its pane. Every span ending before it has arrived once the
 * watermark reaches it (a later one is dropped as late), however the input was paced.
 */
export function firstJudgingBoundary(endMs: number, windows: { readonly slide: number; readonly judge_every?: number | undefined }): number {
  const step = Math.max(windows.slide, windows.judge_every ?? windows.slide);
  return Math.ceil((paneStart(endMs, windows.slide) + windows.slide) / step) * step;
}

/** The whole input (offline): a pseudo window used when every detector also judges everything. */
export const ALL_WINDOW: WindowSpec = { name: 'all', sizeMs: Number.POSITIVE_INFINITY, paneMs: Number.POSITIVE_INFINITY };
