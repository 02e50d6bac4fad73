/** The budget_exceeded observation of one spender over its budget (docs/painpoints.md). */
import { lazyObservation, type Observation, type Severity, type Subject } from '../../src/model/painpoint.js';
import { formatCount, formatPercent, windowPhrase, OVERFLOW_LABEL } from '../../src/model/evidence-format.js';
import { formatUsd } from '../../src/model/cost.js';
import { exemplarIds } from '../latency-evidence.js';
import type { BudgetEntry, BudgetPer } from './config.js';
import type { SpendAcc } from './spend.js';

/** What a budget is and where it applies, as the detector resolved it from its entry. */
export interface BudgetScope {
  readonly index: number;
  readonly entry: BudgetEntry;
  readonly unit: 'usd' | 'tokens';
  readonly limit: number;
  /** the window's name: '15m', '1h' */
  readonly window: string;
}

/** high from this share of the budget up (medium from 100 %) */
export const HIGH_RATIO = 1.5;

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The pain point's subject: the service, what the budget is counted per (`spend per run`), the
 * spender (agent, model or user; runs are named in run_ids, not one pain point each) and the
 * budget's match.
 */
export function budgetSubject(scope: BudgetScope, service: string, spender: string): Subject {
  const per = scope.entry.per;
  const m = scope.entry.match ?? {};
  return {
    service,
    operation: `spend per ${per}`,
    ...(m.provider !== undefined ? { provider: m.provider } : {}),
    ...(m.model !== undefined ? { model: m.model } : {}),
    ...(m.agent !== undefined ? { agent: m.agent } : {}),
    ...(m.user !== undefined ? { user: m.user } : {}),
    ...(per !== 'run' ? { [per]: spender } : {}),
  };
}

/** Breakdowns that say who spent inside the spender: every dimension but its own (runs: runsObservation). */
const BREAKDOWNS: Readonly<Record<Exclude<BudgetPer, 'run'>, readonly ('run' | 'agent' | 'model')[]>> = {
  agent: ['run', 'model'],
  model: ['agent', 'run'],
  user: ['run', 'agent', 'model'],
};

function mapOf(acc: SpendAcc, dim: 'run' | 'agent' | 'model'): ReadonlyMap<string, number> {
  return dim === 'run' ? acc.byRun : dim === 'agent' ? acc.byAgent : acc.byModel;
}

function sorted(map: ReadonlyMap<string, number>): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The observation of one agent, model or user over its budget. */
export function budgetObservation(scope: BudgetScope, subject: Subject, spender: string, acc: SpendAcc, time: number): Observation {
  const ratio = acc.spend / scope.limit;
  const severity: Severity = ratio >= HIGH_RATIO ? 'high' : 'medium';
  const head = { kind: 'budget_exceeded' as const, subject, severity, category: 'cost' as const, keyMetric: ratio, time };
  const per = scope.entry.per === 'run' ? 'agent' : scope.entry.per;
  const usd = scope.unit === 'usd';
  const amount = (x: number) => (usd ? formatUsd(x) : `${formatCount(Math.round(x))} tokens`);
  const digits = usd ? 6 : 0;
  const ex = exemplarIds(acc.top);
  return lazyObservation(
    head,
    () => {
      const breakdowns = BREAKDOWNS[per].map((dim) => [dim, sorted(mapOf(acc, dim))] as const);
      const top = breakdowns.map(([dim, entries]) => [dim, entries.find(([label]) => label !== OVERFLOW_LABEL)] as const).find(([, e]) => e !== undefined);
      const who = `${per[0]?.toUpperCase()}${per.slice(1)} ${spender}`;
      const budgetText = `${amount(scope.limit)} budget per ${per}`;
      const topText = top?.[1] ? `; biggest spender ${top[0]} ${top[1][0]} (${amount(top[1][1])})` : '';
      const unpriced = usd && acc.unpriced > 0 ? ` ${acc.unpriced} call${acc.unpriced === 1 ? '' : 's'} (${formatCount(acc.unpricedTokens)} tokens) had no known price and are not counted.` : '';
      const overspend = Math.max(0, acc.spend - scope.limit);
      return {
        title: `${who} spent ${amount(acc.spend)} ${windowPhrase(scope.window)}: ${formatPercent(ratio)} of its ${budgetText}`,
        description:
          `${who} spent ${amount(acc.spend)} in ${formatCount(acc.calls)} model call${acc.calls === 1 ? '' : 's'} ${windowPhrase(scope.window)}, ` +
          `${formatPercent(ratio)} of the ${budgetText} (${amount(overspend)} over)${topText}.` +
          `${breakdowns
            .filter(([, e]) => e.length > 0)
            .map(([dim, e]) => ` By ${dim}: ${e.slice(0, 5).map(([l, n]) => `${l} ${amount(n)}`).join(', ')}.`)
            .join('')}${unpriced}`,
        evidence: {
          window: scope.window,
          metrics: {
            per,
            spender,
            budget_index: scope.index,
            ...(usd ? { budget_usd: scope.limit, spend_usd: round(acc.spend, digits) } : { budget_tokens: scope.limit, spend_tokens: Math.round(acc.spend) }),
            budget_ratio: round(ratio, 3),
            calls: acc.calls,
            ...(usd ? { unpriced_calls: acc.unpriced, unpriced_tokens: acc.unpricedTokens } : {}),
            ...Object.fromEntries(breakdowns.map(([dim, e]) => [`by_${dim}`, Object.fromEntries(e.slice(0, 10).map(([l, n]) => [l, round(n, digits)]))])),
            ...(top?.[1] ? { top_spender: `${top[0]} ${top[1][0]}` } : {}),
            ...(usd ? { overspend_usd: round(overspend, digits), wasted_cost_usd: round(overspend, digits) } : { overspend_tokens: Math.round(overspend), wasted_tokens: Math.round(overspend) }),
            affected_runs: acc.byRun.has(OVERFLOW_LABEL) ? acc.byRun.size - 1 : acc.byRun.size,
            affected_traces: ex.traceIds.length,
          },
          exemplar_trace_ids: ex.traceIds,
          exemplar_span_ids: ex.spanIds,
        },
      };
    },
    // the runs that spent in the window, biggest first
    () => sorted(acc.byRun).filter(([label]) => label !== OVERFLOW_LABEL).slice(0, 20).map(([label]) => label),
  );
}

/** One run over a per-run budget, with its window. */
export interface RunOverBudget {
  readonly runId: string;
  readonly acc: SpendAcc;
}

/**
 * The observation of a per-run budget: every run over it in its window at once, so one pain point
 * names them all and is updated as their number grows (runs are not a pain point each).
 */
export function runsObservation(scope: BudgetScope, subject: Subject, runs: readonly RunOverBudget[], time: number): Observation {
  const ordered = [...runs].sort((a, b) => b.acc.spend - a.acc.spend || (a.runId < b.runId ? -1 : 1));
  const top = ordered[0] as RunOverBudget;
  const maxRatio = top.acc.spend / scope.limit;
  const severity: Severity = maxRatio >= HIGH_RATIO ? 'high' : 'medium';
  const head = { kind: 'budget_exceeded' as const, subject, severity, category: 'cost' as const, keyMetric: runs.length, time };
  const usd = scope.unit === 'usd';
  const amount = (x: number) => (usd ? formatUsd(x) : `${formatCount(Math.round(x))} tokens`);
  const digits = usd ? 6 : 0;
  return lazyObservation(
    head,
    () => {
      const m = scope.entry.match;
      const whose = m?.agent !== undefined ? ` of ${m.agent}` : m?.user !== undefined ? ` of ${m.user}` : m?.model !== undefined ? ` on ${m.model}` : '';
      const overspend = ordered.reduce((n, r) => n + Math.max(0, r.acc.spend - scope.limit), 0);
      const calls = ordered.reduce((n, r) => n + r.acc.calls, 0);
      const unpriced = ordered.reduce((n, r) => n + r.acc.unpriced, 0);
      const topModel = sorted(top.acc.byModel).find(([label]) => label !== OVERFLOW_LABEL);
      const ex = exemplarIds(ordered.flatMap((r) => r.acc.top));
      const n = runs.length;
      return {
        title: `${n} run${n === 1 ? '' : 's'}${whose} over the ${amount(scope.limit)} per-run budget ${windowPhrase(scope.window)}; run ${top.runId} spent ${amount(top.acc.spend)} (${formatPercent(maxRatio)})`,
        description:
          `${n} run${n === 1 ? '' : 's'}${whose} spent more than the ${amount(scope.limit)} per-run budget ${windowPhrase(scope.window)}: ` +
          `${ordered
            .slice(0, 5)
            .map((r) => `${r.runId} ${amount(r.acc.spend)} (${formatPercent(r.acc.spend / scope.limit)})`)
            .join(', ')}${n > 5 ? ', …' : ''}; ${amount(overspend)} over in all, in ${formatCount(calls)} model calls.` +
          `${topModel ? ` The biggest spender in run ${top.runId} is model ${topModel[0]} (${amount(topModel[1])}).` : ''}` +
          `${usd && unpriced > 0 ? ` ${unpriced} call${unpriced === 1 ? '' : 's'} had no known price and are not counted.` : ''}`,
        evidence: {
          window: scope.window,
          metrics: {
            per: 'run',
            spender: top.runId,
            budget_index: scope.index,
            runs_over_budget: n,
            ...(usd ? { budget_usd: scope.limit, spend_usd: round(top.acc.spend, digits) } : { budget_tokens: scope.limit, spend_tokens: Math.round(top.acc.spend) }),
            budget_ratio: round(maxRatio, 3),
            calls,
            ...(usd ? { unpriced_calls: unpriced } : {}),
            by_run: Object.fromEntries(ordered.slice(0, 10).map((r) => [r.runId, round(r.acc.spend, digits)])),
            by_model: Object.fromEntries(sorted(top.acc.byModel).slice(0, 10).map(([l, v]) => [l, round(v, digits)])),
            by_agent: Object.fromEntries(sorted(top.acc.byAgent).slice(0, 10).map(([l, v]) => [l, round(v, digits)])),
            top_spender: `run ${top.runId}`,
            ...(usd ? { overspend_usd: round(overspend, digits), wasted_cost_usd: round(overspend, digits) } : { overspend_tokens: Math.round(overspend), wasted_tokens: Math.round(overspend) }),
            affected_runs: n,
            affected_traces: new Set(ordered.flatMap((r) => r.acc.top.map((e) => e.traceId))).size,
          },
          exemplar_trace_ids: ex.traceIds,
          exemplar_span_ids: ex.spanIds,
        },
      };
    },
    () => ordered.slice(0, 20).map((r) => r.runId),
  );
}
