/**
 * The failure_rate and failure_spike rules on calls and failures alone (docs/painpoints.md), and
 * the judged numbers an observation is built from.
 */
import { paneStart, type WindowSpec } from '../../src/windows/window-spec.js';
import { aboveWithBand } from '../../src/windows/judging.js';
import type { Severity } from '../../src/model/painpoint.js';
import { wilsonInterval, type WilsonInterval } from '../../src/stats/wilson.js';
import type { FailureRateConfig } from './config.js';
import type { FailureAcc, FailureCounts } from './accumulation.js';

/** The judged numbers of one window (or the whole input). */
export interface Judged {
  readonly window: string;
  /** calls and failures, what the rules and an observation's head read */
  readonly counts: FailureCounts;
  /** the window's accumulator, for the evidence (merged when first read, see judgedWindow) */
  readonly acc: FailureAcc;
  readonly rate: number;
  readonly wilson: WilsonInterval;
}

export interface Baseline {
  readonly window: string;
  readonly counts: FailureCounts;
  readonly rate: number;
  readonly wilson: WilsonInterval;
}

export function judged(window: string, acc: FailureAcc, wilson = wilsonInterval(acc.failures, acc.calls)): Judged {
  return { window, counts: acc, acc, rate: rateOf(acc), wilson };
}

function rateOf(c: FailureCounts): number {
  return c.calls > 0 ? c.failures / c.calls : 0;
}

/**
 * A judged window from its counts (the window's summary), its accumulator merged only when the
 * evidence reads it: an observation's text and evidence are built only for an emitted change.
 */
export function judgedWindow(window: string, counts: FailureCounts, merge: () => FailureAcc, wilson: WilsonInterval): Judged {
  let acc: FailureAcc | undefined;
  return {
    window,
    counts,
    get acc() {
      return (acc ??= merge());
    },
    rate: rateOf(counts),
    wilson,
  };
}

export function baseline(window: string, counts: FailureCounts): Baseline {
  return { window, counts, rate: counts.calls > 0 ? counts.failures / counts.calls : 0, wilson: wilsonInterval(counts.failures, counts.calls) };
}

/** The event-time interval [start, end) a window covers at a boundary (coarse windows end at their last closed pane). */
export function coveredInterval(spec: WindowSpec, boundary: number): { start: number; end: number } {
  const end = paneStart(boundary, spec.paneMs);
  return { start: end - spec.sizeMs, end };
}

/** Whether a longer window can confirm a judged one: it holds at least `min` calls beyond the judged window's. */
export function confirmsBeyond(longer: FailureCounts, judged: FailureCounts, min: number): boolean {
  return longer.calls - judged.calls >= min;
}

/** z of a two-sided 99 % interval */
const Z_99 = 2.5758293035489;

/**
 * failure_rate on a window no longer window can confirm yet: its Wilson lower bound at 99 %
 * confidence reaches the threshold. 5 refused pull requests of 20 (an 8 % background rate having a
 * bad quarter hour) pass at 95 % (lower bound 11 %), not at 99 % (9 %); 15 failures of 30 pass
 * either way.
 */
export function unconfirmedRule(c: FailureCounts, config: FailureRateConfig, firing = false, band = 0): boolean {
  return aboveWithBand(wilsonInterval(c.failures, c.calls, Z_99).lower, config.lower_bound_threshold, firing, band);
}

/** failure_rate on a window's counts: the Wilson interval when its lower bound reaches the threshold, else undefined. */
export function rateRule(c: FailureCounts, config: FailureRateConfig, firing = false, band = 0): WilsonInterval | undefined {
  const wilson = wilsonInterval(c.failures, c.calls);
  return aboveWithBand(wilson.lower, config.lower_bound_threshold, firing, band) ? wilson : undefined;
}

/** failure_rate's severity: high from high_lower_bound, held there until the bound drops below the band. */
export function rateSeverity(wilson: WilsonInterval, config: FailureRateConfig, wasHigh = false, band = 0): Severity {
  return aboveWithBand(wilson.lower, config.high_lower_bound, wasHigh, band) ? 'high' : 'medium';
}

/**
 * failure_spike's first test on the judged window's counts: lower − upper ≥ margin needs
 * lower ≥ margin, so the baseline is looked up only when this returns the interval.
 */
export function spikeCandidate(c: FailureCounts, config: FailureRateConfig): WilsonInterval | undefined {
  const wilson = wilsonInterval(c.failures, c.calls);
  return wilson.lower >= config.spike_margin ? wilson : undefined;
}

/** failure_spike: the judged lower bound is above the baseline's upper bound by at least spike_margin. */
export function spikeRule(wilson: WilsonInterval, base: Baseline, config: FailureRateConfig): boolean {
  return wilson.lower - base.wilson.upper >= config.spike_margin;
}
