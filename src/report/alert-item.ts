/**
 * The view model of one alert, shared by the live page (src/ui) and the HTML report: what is
 * wrong, its root, how far it spreads, its impact, since when, and the fix with its kc task.
 *
 * Built by an adapter per source record. `alertItemFromPainPoint` serves pain points; a problem
 * record (the problems stage, not built yet: id pb-…, root {id, kind, subject, title}, symptoms, contributing, impact,
 * state incl. merged / merged_into, recommendation ids) maps onto the same fields with a second
 * adapter of the same shape, so the page and the report need no change when problems arrive.
 */
import type { Category, Impact, PainPointKind, PainPointRecord, Severity, Subject } from '../model/painpoint.js';
import type { Effort, ImpactLevel, KcTask, Priority, Recommendation } from '../model/recommendation.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import { subjectLabel } from '../model/series.js';
import { compareText, evidenceEntries } from '../recommendations/format.js';

export type AlertState = 'open' | 'updated' | 'resolved' | 'merged';

/** A pain point that belongs to an alert without being its root (a symptom, or a contributing behaviour). */
export interface AlertMember {
  readonly id: string;
  readonly kind: PainPointKind;
  readonly subject: Subject;
  readonly severity?: Severity;
}

/** Steps of a recommendation, grouped under a heading when the fix covers several pain points. */
export interface StepGroup {
  readonly heading?: string;
  readonly steps: readonly string[];
}

export interface AlertRecommendation {
  readonly id: string;
  readonly title: string;
  readonly priority: Priority;
  readonly effort: Effort;
  readonly impact: ImpactLevel;
  readonly steps: readonly StepGroup[];
  readonly acceptance: readonly string[];
  readonly task: KcTask;
}

export interface AlertItem {
  /** pp-… for a pain point, pb-… for a problem */
  readonly id: string;
  readonly source: 'painpoint' | 'problem';
  readonly severity: Severity;
  readonly state: AlertState;
  /** the problem this one was merged into (state merged) */
  readonly mergedInto?: string;
  readonly title: string;
  readonly description: string;
  readonly category?: Category;
  /** the cause: for a pain point, itself */
  readonly root: { readonly id: string; readonly kind: PainPointKind; readonly subject: Subject; readonly title: string };
  readonly symptoms: readonly AlertMember[];
  readonly contributing: readonly AlertMember[];
  readonly impact?: Impact;
  /** runs affected (distinct run ids seen, up to the record's cap) */
  readonly runCount: number;
  /** ISO-8601 event times */
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly exemplarTraceIds: readonly string[];
  /** the evidence as shown under "Evidence": window and metric name → formatted value */
  readonly evidence?: { readonly window: string; readonly metrics: readonly (readonly [string, string])[] };
  readonly recommendation?: AlertRecommendation;
  /** the operation key whose charts show the root, when the root is an operation series */
  readonly operationKey?: string;
}

/**
 * The operation key (docs/input.md: service + span name + the first of tool / model / task type) of a
 * subject that names an operation series or a tool / model / task-type series of it (one class of
 * its errors included); undefined for a provider or agent series, which spans several operation
 * keys and has no chart of its own.
 */
export function operationKeyOfSubject(subject: Subject): string | undefined {
  if (subject.operation === undefined || subject.provider !== undefined || subject.agent !== undefined) return undefined;
  const qualifier = subject.tool ?? subject.model ?? subject.task_type;
  return qualifier === undefined ? `${subject.service} ${subject.operation}` : `${subject.service} ${subject.operation} ${qualifier}`;
}

/** Splits a recommendation's implementation text ("1. …" lines, "heading:" lines between groups) into step groups. */
export function implementationSteps(implementation: string): StepGroup[] {
  const groups: { heading?: string; steps: string[] }[] = [];
  let current: { heading?: string; steps: string[] } | undefined;
  for (const raw of implementation.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const step = /^\d+\.\s+(.*)$/.exec(line);
    if (step) {
      if (current === undefined) groups.push((current = { steps: [] }));
      current.steps.push(step[1] as string);
    } else {
      groups.push((current = { heading: line.replace(/:$/, ''), steps: [] }));
    }
  }
  return groups.filter((g) => g.steps.length > 0 || g.heading !== undefined);
}

export function alertRecommendation(rec: Recommendation): AlertRecommendation {
  return {
    id: rec.id,
    title: rec.title,
    priority: rec.priority,
    effort: rec.effort,
    impact: rec.impact,
    steps: implementationSteps(rec.implementation),
    acceptance: rec.acceptanceCriteria,
    task: rec.task,
  };
}

/** The alert item of a pain point (its own root), with the recommendation made for it, if any. */
export function alertItemFromPainPoint(pp: PainPointRecord, recommendation?: Recommendation): AlertItem {
  const operationKey = operationKeyOfSubject(pp.subject);
  return {
    id: pp.id,
    source: 'painpoint',
    severity: pp.severity,
    state: pp.state,
    title: pp.title,
    description: pp.description,
    category: pp.category,
    root: { id: pp.id, kind: pp.kind, subject: pp.subject, title: pp.title },
    symptoms: [],
    contributing: [],
    ...(pp.impact ? { impact: pp.impact } : {}),
    runCount: pp.run_ids.length,
    firstSeen: pp.first_seen,
    lastSeen: pp.last_seen,
    exemplarTraceIds: pp.evidence.exemplar_trace_ids,
    evidence: { window: pp.evidence.window, metrics: evidenceEntries(pp.evidence.metrics) },
    ...(recommendation ? { recommendation: alertRecommendation(recommendation) } : {}),
    ...(operationKey !== undefined ? { operationKey } : {}),
  };
}

/** A short name of the root: "web_search", "codex", "chat". */
export function rootLabel(item: AlertItem): string {
  return subjectLabel(item.root.subject);
}

/** Open items first by severity, then by impact score, then the oldest first, then id: the page's and the report's order. */
export function compareAlertItems(a: AlertItem, b: AlertItem): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    (b.impact?.score ?? 0) - (a.impact?.score ?? 0) ||
    compareText(a.firstSeen, b.firstSeen) ||
    compareText(a.id, b.id)
  );
}

/** How long an item has been (or was) seen: last_seen − first_seen in event time, ms. */
export function seenDurationMs(item: AlertItem): number {
  return Math.max(0, Date.parse(item.lastSeen) - Date.parse(item.firstSeen));
}
