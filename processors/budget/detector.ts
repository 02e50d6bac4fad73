/**
 * budget_exceeded (docs/painpoints.md): per budget entry and spender (each run, agent, model or
 * user the entry applies to), the spend of model calls over the entry's rolling window — USD
 * (reported cost, else tokens × service.pricing) or tokens — judged at each boundary where the
 * window changed: ≥ the budget → medium, ≥ 150 % → high, naming the biggest spenders inside it.
 * Agent and user names a call does not carry come from its ancestors (attribution.ts).
 */
import { Counter } from '../../src/telemetry/prom.js';
import type { SpanRecord } from '../../src/model/span.js';
import type { Observation, Subject } from '../../src/model/painpoint.js';
import type { Judgement, PipelineEvent } from '../../src/model/events.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { OVERFLOW_SUBJECT, subjectKey } from '../../src/model/series.js';
import { priceTableFor, type PriceTable } from '../../src/model/cost.js';
import { formatDuration } from '../../src/config/duration.js';
import { SeriesWindows, type SummarizedView } from '../../src/windows/series-windows.js';
import { judgeUpTo, type JudgeLoop } from '../../src/windows/judging.js';
import type { Judgement as EngineJudgement } from '../../src/model/events.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import type { BudgetConfig, BudgetEntry } from './config.js';
import { spendAggregator, type SpendAcc, type SpendItem, type SpendSummary } from './spend.js';
import { Attribution, type Needed } from './attribution.js';
import { TraceRuns } from './trace-runs.js';
import { budgetObservation, budgetSubject, runsObservation, type BudgetScope, type RunOverBudget } from './observation.js';
import { perRegistry } from '../../src/telemetry/per-registry.js';

/** Windows up to this long sum fine panes; longer ones coarse panes. */
const FINE_WINDOW_LIMIT = 3_600_000;

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

interface Budget extends BudgetScope {
  readonly needs: readonly Needed[];
  readonly spec: WindowSpec;
  /** how far back a late call can still land in the window */
  readonly reachMs: number;
  readonly windows: SeriesWindows<SpendAcc, SpendItem, SpendSummary>;
  readonly loop: JudgeLoop<SpendAcc, SpendSummary>;
  /** per-run budgets: the runs over the budget, reported together (one pain point names them all) */
  readonly runs: RunsOver | undefined;
  /**
   * the series subject of each spender, made once: a subject's key is cached per object, and a
   * new object per call would be keyed again at every call (bounded: cleared when it outgrows the
   * series cap four times)
   */
  readonly subjects: Map<string, readonly Subject[]>;
}

/**
 * The runs over a per-run budget. Each run is judged alone, when its window changes; the runs
 * over the budget are kept here and reported together per service, at each boundary where one of
 * them was judged (change-driven), or at every boundary (the reference mode).
 */
interface RunsOver {
  /** by series key */
  readonly over: Map<string, RunOverBudget & { readonly service: string }>;
  /** the boundary being judged, whether it is still to be reported, and whether a judgement there touched the runs over the budget */
  at: number;
  pending: boolean;
  changed: boolean;
  /** services with an observation standing */
  readonly standing: Set<string>;
}

const forgottenCounter = perRegistry((registry): Counter<'processor'> => new Counter({
  name: 'sidelight_budget_traces_forgotten_total',
  help: 'Traces whose run the budget processor forgot at max_traces: their later calls that name no run count under their trace id',
  labelNames: ['processor'],
  registers: [registry],
}));

const givenUpCounter = perRegistry((registry): Counter<'processor' | 'reason'> => new Counter({
  name: 'sidelight_budget_calls_unattributed_total',
  help: 'Model calls a per-agent or per-user budget could not count: no ancestor named the agent or user (unnamed), the wait outlived every window (expired), came too late for the window, or the wait queue was full (cap)',
  labelNames: ['processor', 'reason'],
  registers: [registry],
}));

/** Checks every budget's window against the panes when the pipeline is built (the error names its config path). */
export function checkBudgetWindows(config: BudgetConfig, ctx: ComponentContext): void {
  config.budgets.forEach((entry, index) => windowSpec(entry, index, ctx));
}

/** The window of an entry; throws when it is not a whole number of panes. */
function windowSpec(entry: BudgetEntry, index: number, ctx: ComponentContext): WindowSpec {
  const w = ctx.settings.windows;
  const fine = entry.window <= FINE_WINDOW_LIMIT;
  const pane = fine ? w.slide : w.coarse_slide;
  if (entry.window % pane !== 0) {
    throw new Error(
      `processors.${ctx.id}.budgets[${index}].window: ${formatDuration(entry.window)} is not a multiple of ${fine ? 'service.windows.slide' : 'service.windows.coarse_slide'} (${formatDuration(pane)})`,
    );
  }
  return { name: formatDuration(entry.window), sizeMs: entry.window, paneMs: pane };
}

const same = (want: string | undefined, have: string | undefined): boolean => want === undefined || (have !== undefined && want.toLowerCase() === have.toLowerCase());

export class BudgetDetector {
  private readonly budgets: Budget[];
  private readonly prices: PriceTable;
  private readonly attribution: Attribution;
  private readonly traceRuns: TraceRuns;
  private readonly givenUp: Counter<'processor' | 'reason'>;
  private readonly longestReach: number;
  private watermark = Number.NEGATIVE_INFINITY;
  /** where per-run budgets report while their runs are judged */
  private out: EngineJudgement[] | undefined;

  constructor(
    private readonly config: BudgetConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.prices = priceTableFor(ctx.settings.pricing);
    this.givenUp = givenUpCounter(ctx.metrics);
    this.attribution = new Attribution(config.max_pending, { onGivenUp: (n, reason) => this.givenUp.inc({ processor: ctx.id, reason }, n) });
    const forgotten = forgottenCounter(ctx.metrics);
    this.traceRuns = new TraceRuns(config.max_traces, () => forgotten.inc({ processor: ctx.id }));
    this.budgets = config.budgets.map((entry, index) => this.budget(entry, index));
    this.longestReach = Math.max(0, ...this.budgets.map((b) => b.reachMs));
  }

  private budget(entry: BudgetEntry, index: number): Budget {
    const spec = windowSpec(entry, index, this.ctx);
    const w = this.ctx.settings.windows;
    const unit = entry.max_cost_usd !== undefined ? 'usd' : 'tokens';
    const windows = new SeriesWindows<SpendAcc, SpendItem, SpendSummary>({
      aggregator: spendAggregator(unit, this.config.max_breakdown),
      windows: { ...w, sizes: spec.paneMs === w.slide ? [spec.sizeMs] : [], coarse_sizes: spec.paneMs === w.slide ? [] : [spec.sizeMs] },
      maxSeries: this.config.max_series,
      name: this.ctx.id,
      metrics: this.ctx.metrics,
      judging: this.ctx.judging,
    });
    const needs: Needed[] = [];
    if (entry.per === 'agent' || entry.match?.agent !== undefined) needs.push('agent');
    if (entry.per === 'user' || entry.match?.user !== undefined) needs.push('user');
    const scope: BudgetScope = { index, entry, unit, limit: (unit === 'usd' ? entry.max_cost_usd : entry.max_tokens) as number, window: spec.name };
    const budget: Budget = {
      ...scope,
      needs,
      spec,
      reachMs: spec.sizeMs + spec.paneMs,
      windows,
      // by key: ranks must not tie across budgets whose spenders share a name
      loop: {
        mode: this.ctx.judging ?? 'changed',
        order: 'key',
        judge: (view, boundary) => (budget.runs === undefined ? this.judge(budget, view, boundary) : this.judgeRun(budget, budget.runs, view, boundary)),
      },
      runs: entry.per === 'run' ? { over: new Map(), at: Number.NaN, pending: false, changed: false, standing: new Set() } : undefined,
      subjects: new Map(),
    };
    return budget;
  }

  handle(event: PipelineEvent): Judgement[] {
    if (this.budgets.length === 0) return [];
    switch (event.type) {
      case 'span':
        this.onSpan(event.span);
        return [];
      case 'watermark': {
        const out: Judgement[] = [];
        for (const b of this.budgets) {
          this.out = out;
          judgeUpTo(b.windows, event.from, event.time, b.loop, out);
          if (b.runs !== undefined) this.reportRuns(b, b.runs);
        }
        this.out = undefined;
        this.watermark = event.time;
        this.attribution.expire(event.time - this.longestReach);
        return out;
      }
      default:
        return [];
    }
  }

  private onSpan(span: SpanRecord): void {
    this.attribution.arrived(span, (item, b) => this.settle(item, b));
    const runId = this.traceRuns.runOf(span);
    const spend = this.prices.spend(span);
    if (spend === undefined) return;
    const item: SpendItem = {
      endMs: span.endMs,
      traceId: span.traceId,
      spanId: span.spanId,
      runId,
      service: span.service,
      model: span.model,
      provider: span.provider,
      agent: span.agent,
      user: span.user,
      tokens: spend.tokens,
      usd: spend.usd,
    };
    const waiting: number[] = [];
    for (let b = 0; b < this.budgets.length; b++) if (!this.settle(item, b)) waiting.push(b);
    if (waiting.length === 0) return;
    if (span.parentSpanId !== undefined) this.attribution.resolve(span.parentSpanId, item, waiting, (it, b) => this.settle(it, b));
    else this.givenUp.inc({ processor: this.ctx.id, reason: 'unnamed' });
  }

  /** Counts `item` in budget `b` when it applies; false while a name the budget needs is unknown. */
  private settle(item: SpendItem, b: number): boolean {
    const budget = this.budgets[b] as Budget;
    for (const need of budget.needs) if (item[need] === undefined) return false;
    const m = budget.entry.match;
    if (m !== undefined && !(same(m.agent, item.agent) && same(m.model, item.model) && same(m.provider, item.provider) && same(m.user, item.user))) return true;
    const per = budget.entry.per;
    const spender = per === 'run' ? item.runId : item[per];
    if (spender === undefined) return true;
    if (item.endMs < this.watermark - budget.reachMs) {
      this.givenUp.inc({ processor: this.ctx.id, reason: 'expired' });
      return true;
    }
    // the spender's series: named apart per budget, so budgets never share a rank
    const name = `${item.service}\u0000${spender}`;
    let subjects = budget.subjects.get(name);
    if (subjects === undefined) {
      if (budget.subjects.size >= 4 * this.config.max_series) budget.subjects.clear();
      budget.subjects.set(name, (subjects = [{ service: item.service, operation: `#${b} ${per}: ${spender}` }]));
    }
    budget.windows.add(subjects, item.endMs, item);
    return true;
  }

  /**
   * One run of a per-run budget at `boundary` (runs are judged in boundary order): kept among the
   * runs over the budget or taken out of them; the runs are reported when the boundary is done.
   */
  private judgeRun(budget: Budget, runs: RunsOver, view: SummarizedView<SpendAcc, SpendSummary>, boundary: number): Observation[] {
    if (boundary !== runs.at) {
      this.reportRuns(budget, runs);
      runs.at = boundary;
      runs.pending = true;
    }
    if (view.key === OVERFLOW_KEY) return [];
    if (view.summary(budget.spec, boundary).spend >= budget.limit) {
      runs.over.set(view.key, { service: view.subject.service, runId: this.spenderOf(view.subject.operation), acc: view.window(budget.spec, boundary) });
      runs.changed = true;
    } else if (runs.over.delete(view.key)) runs.changed = true;
    return [];
  }

  /**
   * The runs over a per-run budget at the boundary just judged, one observation per service:
   * standing from there (cleared for a service with none left), or, in the reference mode, one-shot
   * at every boundary.
   */
  private reportRuns(budget: Budget, runs: RunsOver): void {
    const at = runs.at;
    const every = (this.ctx.judging ?? 'changed') === 'every';
    if (!runs.pending || this.out === undefined) return;
    runs.pending = false;
    if (!runs.changed && !every) return;
    runs.changed = false;
    const byService = new Map<string, RunOverBudget[]>();
    for (const r of runs.over.values()) {
      const list = byService.get(r.service);
      if (list === undefined) byService.set(r.service, [r]);
      else list.push(r);
    }
    const source = (service: string) => `budget#${budget.index} ${service}`;
    if (!every) {
      for (const service of [...runs.standing].sort()) {
        if (byService.has(service)) continue;
        runs.standing.delete(service);
        this.out.push({ type: 'clear', kind: 'budget_exceeded', subject: budgetSubject(budget, service, ''), time: at, source: source(service) });
      }
    }
    for (const [service, list] of [...byService].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const observation = runsObservation(budget, budgetSubject(budget, service, ''), list, at);
      if (every) this.out.push({ type: 'observation', observation });
      else {
        runs.standing.add(service);
        this.out.push({ type: 'observation', observation, standing: { source: source(service), gridMs: budget.windows.gridMs, rank: source(service), index: 0 } });
      }
    }
  }

  /** The spender a series counts for, from its name (`#0 agent: coder` → `coder`). */
  private spenderOf(operation: string | undefined): string {
    const op = operation ?? '';
    return op.slice(op.indexOf(': ') + 2);
  }

  private judge(budget: Budget, view: SummarizedView<SpendAcc, SpendSummary>, boundary: number): Observation[] {
    if (view.key === OVERFLOW_KEY) return [];
    if (view.summary(budget.spec, boundary).spend < budget.limit) return [];
    const spender = this.spenderOf(view.subject.operation);
    const subject = budgetSubject(budget, view.subject.service, spender);
    return [budgetObservation(budget, subject, spender, view.window(budget.spec, boundary), boundary)];
  }
}
