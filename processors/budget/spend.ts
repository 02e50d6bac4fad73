/**
 * Spend in a pane (or window) of one budget's spender: the amount in the budget's unit (USD or
 * tokens), calls, calls whose cost is unknown, and who spent it (by run, agent and model, each a
 * capped breakdown), with the biggest calls as exemplars. Bounded per pane by `max_breakdown`.
 */
import { countLabel } from '../../src/model/evidence-format.js';
import type { PaneAggregator } from '../../src/windows/series-windows.js';
import { keepTop, mergeTop, type WeightedExemplar } from '../latency-evidence.js';
import { MAX_EXEMPLAR_TRACES } from '../../src/model/evidence-format.js';

/** One model call, as a budget counts it. */
export interface SpendItem {
  readonly endMs: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly runId: string;
  readonly service: string;
  readonly model: string | undefined;
  readonly provider: string | undefined;
  readonly agent: string | undefined;
  readonly user: string | undefined;
  readonly tokens: number;
  readonly usd: number | undefined;
}

export interface SpendSummary {
  spend: number;
}

export interface SpendAcc extends SpendSummary {
  calls: number;
  /** calls a cost budget could not price (their tokens are in unpricedTokens) */
  unpriced: number;
  unpricedTokens: number;
  readonly byRun: Map<string, number>;
  readonly byAgent: Map<string, number>;
  readonly byModel: Map<string, number>;
  readonly top: WeightedExemplar[];
}

export function spendAggregator(unit: 'usd' | 'tokens', maxBreakdown: number): PaneAggregator<SpendAcc, SpendItem, SpendSummary> {
  const fold = (into: Map<string, number>, from: ReadonlyMap<string, number>) => {
    for (const [label, n] of from) countLabel(into, label, n, maxBreakdown);
  };
  return {
    create: () => ({ spend: 0, calls: 0, unpriced: 0, unpricedTokens: 0, byRun: new Map(), byAgent: new Map(), byModel: new Map(), top: [] }),
    summary: {
      create: () => ({ spend: 0 }),
      add(into, pane) {
        into.spend += pane.spend;
      },
      // a window's spend from running sums: a 1 h window holds 360 panes, and per-run budgets read every run's window at each boundary
      additive: {
        width: 1,
        counts(pane, out, at) {
          out[at] = pane.spend;
        },
        fromCounts: (sums) => ({ spend: sums[0] as number }),
      },
    },
    add(acc, item) {
      acc.calls++;
      const amount = unit === 'usd' ? item.usd : item.tokens;
      if (amount === undefined) {
        acc.unpriced++;
        acc.unpricedTokens += item.tokens;
        return;
      }
      acc.spend += amount;
      countLabel(acc.byRun, item.runId, amount, maxBreakdown);
      if (item.agent !== undefined) countLabel(acc.byAgent, item.agent, amount, maxBreakdown);
      if (item.model !== undefined) countLabel(acc.byModel, item.model, amount, maxBreakdown);
      keepTop(acc.top, { traceId: item.traceId, spanId: item.spanId, runId: item.runId, weight: amount }, MAX_EXEMPLAR_TRACES);
    },
    merge(into, from) {
      into.spend += from.spend;
      into.calls += from.calls;
      into.unpriced += from.unpriced;
      into.unpricedTokens += from.unpricedTokens;
      fold(into.byRun, from.byRun);
      fold(into.byAgent, from.byAgent);
      fold(into.byModel, from.byModel);
      mergeTop(into.top, from.top, MAX_EXEMPLAR_TRACES);
    },
  };
}
