/**
 * What a pane (or window, or the whole input) of silent_failure holds: successful calls judged,
 * silent failures by signal, and what the silent failures wasted; the evidence of affected runs
 * and exemplars is allocated on a pane's first silent failure, so healthy panes stay small.
 */
import type { SpanRecord } from '../../src/model/span.js';
import type { PaneAggregator } from '../../src/windows/series-windows.js';
import { AffectedSet, ExemplarList, spanDuration, spanTokens } from '../failure-evidence.js';
import { SILENT_SIGNALS, type SilentSignal } from './signals.js';

/** One judged call, classified once for every series it counts in. */
export interface SilentInput {
  readonly span: SpanRecord;
  readonly signal: SilentSignal | undefined;
  /** USD the call cost, when known */
  readonly usd: number | undefined;
}

export interface SilentCounts {
  calls: number;
  silent: number;
}

export interface SilentAcc extends SilentCounts {
  /** silent failures per signal, in SILENT_SIGNALS order */
  readonly bySignal: number[];
  wastedMs: number;
  wastedTokens: number;
  wastedCostUsd: number;
  /** silent failures whose cost is known */
  pricedSilent: number;
  /** the most output tokens of an answer cut off at its limit: about the max_tokens it was given */
  cutoffMaxOutput: number;
  cutoffInputTokens: number;
  cutoffCalls: number;
  affected: AffectedSet | undefined;
  exemplars: ExemplarList | undefined;
}

export function silentAggregator(maxExemplars: number): PaneAggregator<SilentAcc, SilentInput, SilentCounts> {
  const create = (): SilentAcc => ({
    calls: 0,
    silent: 0,
    bySignal: SILENT_SIGNALS.map(() => 0),
    wastedMs: 0,
    wastedTokens: 0,
    wastedCostUsd: 0,
    pricedSilent: 0,
    cutoffMaxOutput: 0,
    cutoffInputTokens: 0,
    cutoffCalls: 0,
    affected: undefined,
    exemplars: undefined,
  });
  return {
    create,
    summary: {
      create: () => ({ calls: 0, silent: 0 }),
      add(into, pane) {
        into.calls += pane.calls;
        into.silent += pane.silent;
      },
    },
    add(acc, input) {
      acc.calls++;
      if (input.signal === undefined) return;
      const span = input.span;
      acc.silent++;
      const i = SILENT_SIGNALS.indexOf(input.signal);
      acc.bySignal[i] = (acc.bySignal[i] ?? 0) + 1;
      acc.wastedMs += spanDuration(span);
      acc.wastedTokens += spanTokens(span);
      if (input.usd !== undefined) {
        acc.wastedCostUsd += input.usd;
        acc.pricedSilent++;
      }
      if (input.signal === 'length') {
        acc.cutoffCalls++;
        acc.cutoffMaxOutput = Math.max(acc.cutoffMaxOutput, span.outputTokens ?? 0);
        acc.cutoffInputTokens += span.inputTokens ?? 0;
      }
      (acc.affected ??= new AffectedSet()).add(span);
      (acc.exemplars ??= new ExemplarList(maxExemplars)).add(span);
    },
    merge(into, from) {
      into.calls += from.calls;
      if (from.silent === 0) return;
      into.silent += from.silent;
      from.bySignal.forEach((n, i) => (into.bySignal[i] = (into.bySignal[i] ?? 0) + n));
      into.wastedMs += from.wastedMs;
      into.wastedTokens += from.wastedTokens;
      into.wastedCostUsd += from.wastedCostUsd;
      into.pricedSilent += from.pricedSilent;
      into.cutoffMaxOutput = Math.max(into.cutoffMaxOutput, from.cutoffMaxOutput);
      into.cutoffInputTokens += from.cutoffInputTokens;
      into.cutoffCalls += from.cutoffCalls;
      if (from.affected) (into.affected ??= new AffectedSet()).merge(from.affected);
      if (from.exemplars) (into.exemplars ??= new ExemplarList(maxExemplars)).merge(from.exemplars);
    },
  };
}

/** The signals seen, as an evidence breakdown (`{length: 12, tool_result_error: 1}`), most first. */
export function signalBreakdown(acc: SilentAcc): Record<string, number> {
  return Object.fromEntries(
    SILENT_SIGNALS.map((s, i) => [s, acc.bySignal[i] ?? 0] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}
