/** The provider_fallback rule on one window's statistics, and the observation it makes. */
import type { Observation, Subject } from '../../src/model/painpoint.js';
import { BY_ERROR_CLASS, MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import type { ProviderFallbackConfig } from './config.js';
import type { FallbackStats } from './stats.js';

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

export function judgeFallbacks(s: FallbackStats, subject: Subject, window: string, time: number, config: ProviderFallbackConfig): Observation | undefined {
  if (s.tasks < config.min_tasks) return undefined;
  const perTask = s.fallbacks / s.tasks;
  if (perTask < config.per_task_low) return undefined;
  const provider = subject.provider ?? '?';
  const operation = subject.operation ?? subject.service;
  return {
    kind: 'provider_fallback',
    subject,
    severity: perTask >= config.per_task ? 'medium' : 'low',
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
