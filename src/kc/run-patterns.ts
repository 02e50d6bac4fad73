/**
 * The `patterns` and `statistics` of kc's legacy Agent Lightning result, computed from the kc
 * runs and their span records: recurring error classes (per attempt), retry and fallback patterns,
 * and task types that fail repeatedly — each with its counts.
 */
import { createHash } from 'node:crypto';
import type { SpanRecord } from '../model/span.js';
import { messageTemplate } from '../model/error-class.js';
import { isProviderFallback, isTaskExecution } from './events.js';
import type { KcRunData } from './run-data.js';
import { KC_ATTEMPT_SPAN, KC_TASK_SPAN } from './run-to-spans.js';
import type { LegacyPattern, LegacyStatistics } from './legacy-result.js';

/** a recurring error or failing task type needs at least this many occurrences */
export const MIN_PATTERN_OCCURRENCES = 2;

const patternId = (...parts: string[]) => 'PAT-' + createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 12);
const sortedCounts = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

/** `provider` gives a provider's display name (docs/input.md, Names): kc may spell one provider two ways. */
export function kcRunStatistics(runs: KcRunData, provider: (name: string) => string = (p) => p): LegacyStatistics & { readonly totalEvents: number; readonly providersUsed: string[] } {
  let tasks = 0;
  let ok = 0;
  let retries = 0;
  let fallbacks = 0;
  let fallbackEvents = 0;
  let execTotal = 0;
  let events = 0;
  const providers = new Set<string>();
  for (const run of runs) {
    events += run.events.length;
    for (const e of run.events) {
      if (isProviderFallback(e)) {
        fallbackEvents++;
        providers.add(provider(e.fromProvider)).add(provider(e.toProvider));
      }
      if (!isTaskExecution(e)) continue;
      tasks++;
      if (e.success) ok++;
      retries += e.retryCount;
      fallbacks += e.fallbackCount;
      execTotal += e.executionTime;
      if (e.provider) providers.add(provider(e.provider));
    }
  }
  return {
    totalRuns: runs.length,
    totalTasks: tasks,
    successfulTasks: ok,
    failedTasks: tasks - ok,
    successRate: tasks === 0 ? 0 : ok / tasks,
    totalRetries: retries,
    // kc's per-task counters, or the fallback events when a run logged more of them
    totalFallbacks: Math.max(fallbacks, fallbackEvents),
    averageExecutionTime: tasks === 0 ? 0 : execTotal / tasks,
    totalEvents: events,
    providersUsed: [...providers].sort(),
  };
}

export function kcRunPatterns(spans: readonly SpanRecord[]): LegacyPattern[] {
  const out: LegacyPattern[] = [];

  // Recurring error classes, judged per attempt (kc logs one error per task; attempts recover the rest).
  const byClass = new Map<string, { count: number; tasks: Set<string>; providers: Map<string, number>; templates: Map<string, number> }>();
  for (const s of spans) {
    if (s.name !== KC_ATTEMPT_SPAN || !s.failed) continue;
    const cls = s.errorClass ?? 'other';
    let entry = byClass.get(cls);
    if (!entry) byClass.set(cls, (entry = { count: 0, tasks: new Set(), providers: new Map(), templates: new Map() }));
    entry.count++;
    entry.tasks.add(`${s.runId}\u0000${s.taskId ?? ''}`);
    if (s.provider) bump(entry.providers, s.provider);
    if (s.statusMessage) bump(entry.templates, messageTemplate(s.statusMessage));
  }
  for (const [cls, e] of [...byClass].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))) {
    if (e.count < MIN_PATTERN_OCCURRENCES) continue;
    out.push({
      id: patternId('recurring_error', cls),
      type: 'recurring_error',
      description: `${e.count} failed attempts with ${cls.replace(/_/g, ' ')} errors across ${e.tasks.size} task(s)`,
      frequency: e.count,
      errorClass: cls,
      affectedTasks: e.tasks.size,
      providers: sortedCounts(e.providers),
      examples: Object.keys(sortedCounts(e.templates)).slice(0, 3),
    });
  }

  // Retries: tasks retried, how many attempts it took, how many still failed (exhausted).
  const tasks = spans.filter((s) => s.name === KC_TASK_SPAN);
  const retried = tasks.filter((s) => Number(s.attributes['kc.task.retry_count'] ?? 0) > 0);
  if (retried.length > 0) {
    const totalRetries = retried.reduce((n, s) => n + Number(s.attributes['kc.task.retry_count']), 0);
    const exhausted = retried.filter((s) => s.failed).length;
    out.push({
      id: patternId('retry'),
      type: 'retry',
      description: `${retried.length} of ${tasks.length} task(s) needed retries (${totalRetries} retries); ${exhausted} still failed after retrying`,
      frequency: retried.length,
      totalRetries,
      exhaustedTasks: exhausted,
      retriedTaskShare: tasks.length === 0 ? 0 : retried.length / tasks.length,
    });
  }

  // Provider fallbacks, per from → to pair, with the classes of their reasons.
  const pairs = new Map<string, { from: string; to: string; count: number; reasons: Map<string, number> }>();
  for (const t of tasks) {
    for (const ev of t.events) {
      if (ev.name !== 'provider_fallback') continue;
      const from = String(ev.attributes['from'] ?? '');
      const to = String(ev.attributes['to'] ?? '');
      const key = `${from}\u0000${to}`;
      let p = pairs.get(key);
      if (!p) pairs.set(key, (p = { from, to, count: 0, reasons: new Map() }));
      p.count++;
    }
  }
  // reason classes come from the attempt a fallback ended: its error.type
  const attemptsByKey = new Map<string, SpanRecord>();
  for (const s of spans) if (s.name === KC_ATTEMPT_SPAN) attemptsByKey.set(`${s.traceId}/${s.parentSpanId ?? ''}/${s.attempt ?? 0}`, s);
  for (const s of attemptsByKey.values()) {
    if (!s.failed) continue;
    const next = attemptsByKey.get(`${s.traceId}/${s.parentSpanId ?? ''}/${(s.attempt ?? 0) + 1}`);
    if (!next || next.provider === s.provider) continue;
    const p = pairs.get(`${s.provider ?? ''}\u0000${next.provider ?? ''}`);
    if (p) bump(p.reasons, s.errorClass ?? 'other');
  }
  for (const p of [...pairs.values()].sort((a, b) => b.count - a.count || (a.from + a.to < b.from + b.to ? -1 : 1))) {
    out.push({
      id: patternId('provider_fallback', p.from, p.to),
      type: 'provider_fallback',
      description: `fell back from ${p.from} to ${p.to} ${p.count} time(s)`,
      frequency: p.count,
      fromProvider: p.from,
      toProvider: p.to,
      reasons: sortedCounts(p.reasons),
    });
  }

  // Task types that fail repeatedly.
  const byType = new Map<string, { total: number; failed: number }>();
  for (const t of tasks) {
    const type = t.taskType ?? '(untitled)';
    const e = byType.get(type) ?? { total: 0, failed: 0 };
    e.total++;
    if (t.failed) e.failed++;
    byType.set(type, e);
  }
  for (const [type, e] of [...byType].sort((a, b) => b[1].failed - a[1].failed || (a[0] < b[0] ? -1 : 1))) {
    if (e.failed < MIN_PATTERN_OCCURRENCES) continue;
    out.push({
      id: patternId('failing_task_type', type),
      type: 'failing_task_type',
      description: `${e.failed} of ${e.total} "${type}" task(s) failed`,
      frequency: e.failed,
      taskType: type,
      totalTasks: e.total,
      failureRate: e.failed / e.total,
    });
  }
  return out;
}
