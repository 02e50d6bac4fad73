/**
 * What provider_fallback keeps per pane: the tasks that tried a provider and the fallbacks away
 * from it, with bounded breakdowns, runs and exemplars.
 */
import type { Trace } from '../../src/model/trace.js';
import type { Subject } from '../../src/model/painpoint.js';
import type { PaneAggregator, SeriesWindows } from '../../src/windows/series-windows.js';
import { findRetryChains } from '../../src/traces/retry-chains.js';
import { fallbackTasks, type FallbackTask } from '../../src/traces/provider-fallbacks.js';
import { countLabel, MAX_EXEMPLAR_TRACES, type Exemplar } from '../../src/model/evidence-format.js';

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

/** subject lists kept by FallbackSubjects before it starts again */
const MAX_SUBJECTS = 4_096;

/**
 * One subject list per (service, operation, provider): subjectKey caches a series key per subject
 * object, and a new object per task made it build the key string again for every task. Bounded:
 * past MAX_SUBJECTS lists the table starts again (counted in `restarts`; a miss costs one key).
 */
export class FallbackSubjects {
  private readonly table = new Map<string, Map<string, Map<string, readonly Subject[]>>>();
  private size = 0;
  restarts = 0;

  of(service: string, operation: string, provider: string): readonly Subject[] {
    let ops = this.table.get(service);
    if (ops === undefined) this.table.set(service, (ops = new Map()));
    let providers = ops.get(operation);
    if (providers === undefined) ops.set(operation, (providers = new Map()));
    let subjects = providers.get(provider);
    if (subjects === undefined) {
      if (this.size >= MAX_SUBJECTS) {
        this.table.clear();
        this.size = 0;
        this.restarts++;
        return this.of(service, operation, provider);
      }
      providers.set(provider, (subjects = Object.freeze([Object.freeze({ service, operation, provider })])));
      this.size++;
    }
    return subjects;
  }
}

export function addFallbackTrace(windows: SeriesWindows<FallbackStats, FallbackInput>, trace: Trace, subjects = new FallbackSubjects()): void {
  for (const task of fallbackTasks(trace, findRetryChains(trace))) {
    for (const provider of task.providers) {
      windows.add(subjects.of(task.service, task.operation, provider), task.endMs, { task, provider });
    }
  }
}
