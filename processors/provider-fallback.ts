/**
 * provider_fallback (docs/painpoints.md): a provider is abandoned for another often. Per series
 * (service, operation = the task's span name, provider), over the tasks that tried the provider
 * (src/traces/provider-fallbacks.ts): fallbacks away from it per task ≥ fallback_per_task over
 * ≥ fallback_min_tasks tasks → medium; ≥ fallback_per_task_low → low. Keyed on task end time.
 * Part of the retry_patterns processor (its config keys `fallback_*`).
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { ComponentContext } from '../src/component/contracts.js';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import { judgeUpTo, oneShot, type JudgeLoop } from '../src/windows/judging.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import type { Trace } from '../src/model/trace.js';
import { OVERFLOW_SUBJECT } from '../src/model/series.js';
import { SeriesWindows, shortestWindowWith, type PaneAggregator, type SeriesView } from '../src/windows/series-windows.js';
import type { WindowSpec } from '../src/windows/window-spec.js';
import { findRetryChains } from '../src/traces/retry-chains.js';
import { fallbackTasks, type FallbackTask } from '../src/traces/provider-fallbacks.js';
import type { RetryPatternsConfig } from './retry-patterns.js';
import { BY_ERROR_CLASS, countLabel, MAX_EXEMPLAR_TRACES, MAX_RUN_IDS, type Exemplar } from '../src/model/evidence-format.js';

const MAX_LABELS = 32;
const MAX_RUNS = 100;

export interface FallbackStats {
  /** tasks that tried the provider */
  tasks: number;
  /** fallbacks away from the provider */
  fallbacks: number;
  /** tasks with at least one fallback away from it */
  tasksWithFallback: number;
  byProvider: Map<string, number>;
  byReason: Map<string, number>;
  runs: Set<string>;
  traceIds: Set<string>;
  exemplars: Exemplar[];
}

/** One task seen from one provider it tried. */
export interface FallbackInput {
  readonly task: FallbackTask;
  readonly provider: string;
}

/** Adds to a label table; past MAX_LABELS labels, new ones count under OVERFLOW_LABEL. */
function count(table: Map<string, number>, label: string, n = 1): void {
  countLabel(table, label, n, MAX_LABELS);
}

export const fallbackAggregator: PaneAggregator<FallbackStats, FallbackInput> = {
  create: () => ({ tasks: 0, fallbacks: 0, tasksWithFallback: 0, byProvider: new Map(), byReason: new Map(), runs: new Set(), traceIds: new Set(), exemplars: [] }),
  add(s, { task, provider }) {
    s.tasks++;
    const away = task.fallbacks.filter((f) => f.from === provider);
    if (away.length === 0) return;
    s.fallbacks += away.length;
    s.tasksWithFallback++;
    for (const f of away) {
      count(s.byProvider, f.to);
      count(s.byReason, f.reason ?? 'unknown');
    }
    if (s.runs.size < MAX_RUNS) s.runs.add(task.runId);
    if (s.traceIds.size < MAX_RUNS) s.traceIds.add(task.traceId);
    if (s.exemplars.length < MAX_EXEMPLAR_TRACES && !s.exemplars.some((e) => e.traceId === task.traceId)) s.exemplars.push({ traceId: task.traceId, spanId: task.spanId });
  },
  merge(into, from) {
    into.tasks += from.tasks;
    into.fallbacks += from.fallbacks;
    into.tasksWithFallback += from.tasksWithFallback;
    for (const [k, n] of from.byProvider) count(into.byProvider, k, n);
    for (const [k, n] of from.byReason) count(into.byReason, k, n);
    for (const r of from.runs) if (into.runs.size < MAX_RUNS) into.runs.add(r);
    for (const t of from.traceIds) if (into.traceIds.size < MAX_RUNS) into.traceIds.add(t);
    for (const e of from.exemplars) {
      if (into.exemplars.length < MAX_EXEMPLAR_TRACES && !into.exemplars.some((x) => x.traceId === e.traceId)) into.exemplars.push(e);
    }
  },
};

function table(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function top(m: Map<string, number>): string {
  return [...m]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function judgeFallbacks(s: FallbackStats, subject: Subject, window: string, time: number, config: RetryPatternsConfig): Observation | undefined {
  if (s.tasks < config.fallback_min_tasks) return undefined;
  const perTask = s.fallbacks / s.tasks;
  if (perTask < config.fallback_per_task_low) return undefined;
  const provider = subject.provider ?? '?';
  const operation = subject.operation ?? subject.service;
  return {
    kind: 'provider_fallback',
    subject,
    severity: perTask >= config.fallback_per_task ? 'medium' : 'low',
    category: 'reliability',
    title: `${provider} is abandoned for another provider ${perTask.toFixed(2)} times per ${operation} task`,
    description:
      `${s.fallbacks} fallbacks away from ${provider} over ${s.tasks} ${operation} tasks that tried it (${s.tasksWithFallback} tasks affected); ` +
      `went to ${top(s.byProvider)}; reasons: ${top(s.byReason)}.`,
    evidence: {
      window,
      metrics: {
        tasks: s.tasks,
        fallbacks: s.fallbacks,
        fallbacks_per_task: Math.round(perTask * 1_000) / 1_000,
        tasks_with_fallback: s.tasksWithFallback,
        by_provider: table(s.byProvider),
        [BY_ERROR_CLASS]: table(s.byReason),
        calls: s.tasks,
        failures: s.fallbacks,
        affected_traces: s.traceIds.size,
        affected_runs: s.runs.size,
      },
      exemplar_trace_ids: s.exemplars.map((e) => e.traceId),
      exemplar_span_ids: s.exemplars.map((e) => e.spanId),
    },
    keyMetric: perTask,
    time,
    runIds: [...s.runs].sort().slice(0, MAX_RUN_IDS),
  };
}

export function addFallbackTrace(windows: SeriesWindows<FallbackStats, FallbackInput>, trace: Trace): void {
  for (const task of fallbackTasks(trace, findRetryChains(trace))) {
    for (const provider of task.providers) {
      windows.add([{ service: task.service, operation: task.operation, provider }], task.endMs, { task, provider });
    }
  }
}

function judgeAt(view: SeriesView<FallbackStats>, specs: readonly WindowSpec[], boundary: number, config: RetryPatternsConfig): Observation | undefined {
  const w = shortestWindowWith(view, specs, boundary, (s) => s.tasks, config.fallback_min_tasks);
  return w && judgeFallbacks(w.acc, view.subject, w.spec.name, boundary, config);
}

export function providerFallbackDetector(config: RetryPatternsConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return (source) =>
    new Observable<Judgement>((subscriber) => {
      const windows = new SeriesWindows<FallbackStats, FallbackInput>({
        aggregator: fallbackAggregator,
        windows: ctx.settings.windows,
        maxSeries: ctx.settings.series.max_series,
        name: 'provider_fallback',
        metrics: ctx.metrics,
        keepAll: ctx.mode === 'offline',
        judging: ctx.judging,
      });
      const loop: JudgeLoop<FallbackStats, never> = {
        mode: ctx.judging ?? 'changed',
        order: 'key',
        judge(view, boundary) {
          if (view.subject.service === OVERFLOW_SUBJECT.service) return [];
          const o = judgeAt(view, windows.specs, boundary, config);
          return o ? [o] : [];
        },
      };
      let lastBoundary = Number.NEGATIVE_INFINITY;
      const views = () =>
        [...windows.all()].filter((v) => v.subject.service !== OVERFLOW_SUBJECT.service).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return source.subscribe({
        next(event) {
          switch (event.type) {
            case 'trace':
              addFallbackTrace(windows, event.trace);
              return;
            case 'watermark': {
              lastBoundary = event.time;
              const out: Judgement[] = [];
              judgeUpTo(windows, event.from, event.time, loop, out);
              for (const j of out) subscriber.next(j);
              return;
            }
            case 'end':
              if (ctx.mode === 'offline' && lastBoundary !== Number.NEGATIVE_INFINITY) {
                for (const view of views()) {
                  const all = view.all();
                  const o = all && judgeFallbacks(all, view.subject, 'all', lastBoundary, config);
                  if (o !== undefined) subscriber.next(oneShot(o));
                }
              }
              return;
            case 'drain':
              return;
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
