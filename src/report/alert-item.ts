/**
 * The view model of one alert, shared by the live page (src/ui) and the HTML report: what is
 * wrong, its root, how far it spreads, its impact, since when, and the fix with its kc task.
 *
 * Built by an adapter per source record: `alertItemFromProblem` for a problem (one cause: its
 * root, symptoms and contributing pain points, merged into another), `alertItemFromPainPoint` for
 * a pain point on its own (its own root; pipelines without a problems stage).
 */
import type { Category, Impact, PainPointKind, PainPointRecord, Severity, Subject } from '../model/painpoint.js';
import type { Effort, ImpactLevel, KcTask, Priority, Recommendation } from '../model/recommendation.js';
import type { ProblemMember, ProblemRecord } from '../model/problem.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import { subjectLabel } from '../model/series.js';
import { compareText, evidenceEntries } from '../recommendations/format.js';

export type AlertState = 'open' | 'updated' | 'resolved' | 'merged';

/** A pain point that belongs to an alert without being its root (a symptom, or a contributing behaviour). */
export interface AlertMember {
  readonly id: string;
  readonly kind: PainPointKind;
  readonly subject: Subject;
  /** severity and title where the member's record is at hand (a live change carries them; a stored problem does not) */
  readonly severity?: Severity;
  readonly title?: string;
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
  readonly root: { readonly id: string; readonly kind: PainPointKind; readonly subject: Subject; readonly title: string; readonly severity?: Severity };
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
    root: { id: pp.id, kind: pp.kind, subject: pp.subject, title: pp.title, severity: pp.severity },
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

/**
 * The alert item of a problem: its root, its symptoms and contributing pain points (with their
 * severity and title where the member records are at hand), the problem's impact, and its
 * recommendation. The evidence shown is the root's, when its record is among `members`.
 */
export function alertItemFromProblem(problem: ProblemRecord, members: readonly PainPointRecord[] = [], recommendation?: Recommendation): AlertItem {
  const byId = new Map(members.map((m) => [m.id, m]));
  const member = (m: ProblemMember): AlertMember => {
    const record = byId.get(m.id);
    return { id: m.id, kind: m.kind, subject: m.subject, ...(record ? { severity: record.severity, title: record.title } : {}) };
  };
  const root = byId.get(problem.root.id);
  const operationKey = operationKeyOfSubject(problem.root.subject);
  return {
    id: problem.id,
    source: 'problem',
    severity: problem.severity,
    state: problem.state,
    ...(problem.merged_into !== undefined ? { mergedInto: problem.merged_into } : {}),
    title: problem.title,
    description: problem.description,
    category: problem.category,
    root: { ...problem.root, ...(root ? { severity: root.severity } : {}) },
    symptoms: problem.symptoms.map(member),
    contributing: problem.contributing.map(member),
    impact: problem.impact,
    runCount: problem.run_ids.length,
    firstSeen: problem.first_seen,
    lastSeen: problem.last_seen,
    exemplarTraceIds: problem.exemplar_trace_ids,
    ...(root ? { evidence: { window: root.evidence.window, metrics: evidenceEntries(root.evidence.metrics) } } : {}),
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
