/** The provider_fallback rule on one window's statistics, and the observation it makes. */
import { lazyObservation, type Observation, type Subject } from '../../src/model/painpoint.js';
import { formatPercent, MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import { NOT_HELD, reaches, type Held } from '../../src/windows/judging.js';
import type { ProviderFallbackMetrics } from '../../src/model/evidence/index.js';
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

/** provider_fallback: low from per_task_low fallbacks per task, medium from per_task, each held by its band once reached. */
export function judgeFallbacks(s: FallbackStats, subject: Subject, window: string, time: number, config: ProviderFallbackConfig, held: Held = NOT_HELD): Observation | undefined {
  if (s.tasks < config.min_tasks) return undefined;
  const perTask = s.fallbacks / s.tasks;
  if (!reaches(perTask, config.per_task_low, 'low', held)) return undefined;
  const head = { kind: 'provider_fallback' as const, subject, severity: reaches(perTask, config.per_task, 'medium', held) ? ('medium' as const) : ('low' as const), category: 'reliability' as const, keyMetric: perTask, time };
  // text and evidence made for the observations the lifecycle writes only (`s` is a merged window or
  // the whole input at its end, neither changed again): profiling the kc history showed them made
  // at each of the detector's judgements
  return lazyObservation(
    head,
    () => {
      const provider = subject.provider ?? '?';
      const operation = subject.operation ?? subject.service;
      return {
        title: `${provider} is abandoned for another provider ${perTask.toFixed(2)} times per ${operation} task`,
        description:
          `${s.fallbacks} fallbacks away from ${provider} over ${s.tasks} ${operation} tasks that tried it (${s.tasksWithFallback} tasks affected, ${formatPercent(s.tasksWithFallback / s.tasks)} of them); ` +
          `went to ${top(s.byProvider)}; reasons: ${top(s.byReason)}.`,
        evidence: {
          window,
          metrics: {
            tasks: s.tasks,
            fallbacks: s.fallbacks,
            fallbacks_per_task: Math.round(perTask * 1_000) / 1_000,
            tasks_with_fallback: s.tasksWithFallback,
            by_provider: table(s.byProvider),
            by_error_class: table(s.byReason),
            calls: s.tasks,
            failures: s.fallbacks,
            affected_traces: s.traceIds.size,
            affected_runs: s.runs.size,
          } satisfies ProviderFallbackMetrics,
          exemplar_trace_ids: s.exemplars.map((e) => e.traceId),
          exemplar_span_ids: s.exemplars.map((e) => e.spanId),
        },
      };
    },
    () => [...s.runs].sort().slice(0, MAX_RUN_IDS),
  );
}
