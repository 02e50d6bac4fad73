/**
 * A problem's record from its group (docs/painpoints.md, Problems): id from the root it was opened with, title naming
 * the root and how far it spreads, severity the highest of its members, impact with runs and
 * traces counted once.
 */
import { createHash } from 'node:crypto';
import { SEVERITY_RANK, type PainPointKind, type PainPointRecord, type Severity, type Subject } from '../model/painpoint.js';
import type { ProblemImpact, ProblemMember, ProblemRecord, ProblemState } from '../model/problem.js';
import { subjectKey, subjectLabel } from '../model/series.js';
import { MAX_RUN_IDS } from '../model/evidence-format.js';
import type { Group, Symptom } from './linking.js';

const MAX_EXEMPLARS = 10;

/** "pb-" + the first 16 hex of sha256(root kind + root subject). */
export function problemId(kind: PainPointKind, subject: Subject): string {
  return 'pb-' + createHash('sha256').update(kind + subjectKey(subject)).digest('hex').slice(0, 16);
}

const member = (p: PainPointRecord): ProblemMember => ({ id: p.id, kind: p.kind, subject: p.subject });

export interface RecordParts {
  readonly id: string;
  readonly state: ProblemState;
  readonly group: Group;
  readonly firstSeen: string;
  readonly recommendationIds: readonly string[];
  readonly mergedInto?: string;
  /** operations (service + span name) on the critical path of traces (a latency_bottleneck seen lately) */
  readonly criticalPath?: ReadonlySet<string>;
}

/** The key of an operation in `criticalPath`. */
export const operationKeyOf = (s: Subject): string => `${s.service}\u0000${s.operation ?? ''}`;

export function problemRecord(parts: RecordParts): ProblemRecord {
  const { group } = parts;
  const all = [group.root, ...group.symptoms.map((s) => s.point)];
  let severity = all.reduce<Severity>((s, p) => (SEVERITY_RANK[p.severity] > SEVERITY_RANK[s] ? p.severity : s), 'low');
  // docs/painpoints.md: exhaustion on a critical path is high (retries that end in failure on the operation
  // that sets the traces' end-to-end time), once it has the impact to be medium: a low one is too small to matter
  if (parts.criticalPath !== undefined && all.some((p) => p.kind === 'retry_exhaustion' && SEVERITY_RANK[p.severity] >= SEVERITY_RANK.medium && parts.criticalPath?.has(operationKeyOf(p.subject)))) severity = 'high';
  const lastSeen = all.reduce((t, p) => (p.last_seen > t ? p.last_seen : t), group.root.last_seen);
  const exemplars: string[] = [];
  for (const p of all) for (const id of p.evidence.exemplar_trace_ids) if (exemplars.length < MAX_EXEMPLARS && !exemplars.includes(id)) exemplars.push(id);
  const runs = new Set<string>();
  for (const p of all) for (const r of p.run_ids) if (runs.size < MAX_RUN_IDS) runs.add(r);
  const title = `${group.root.title}${spread(group)}`;
  const symptomText = group.symptoms.length > 0 ? ` It explains ${group.symptoms.length} other pain point${group.symptoms.length === 1 ? '' : 's'} (${describeSymptoms(group.symptoms)}).` : '';
  const contributingText = group.contributing.length > 0 ? ` Made worse by: ${group.contributing.map((c) => c.title).join('; ')}.` : '';
  return {
    id: parts.id,
    state: parts.state,
    severity,
    category: group.root.category,
    title,
    description: `${group.root.description}${symptomText}${contributingText}`,
    root: { id: group.root.id, kind: group.root.kind, subject: group.root.subject, title: group.root.title },
    symptoms: group.symptoms.map((s) => member(s.point)),
    contributing: group.contributing.map(member),
    impact: problemImpact(all, runs.size),
    first_seen: parts.firstSeen,
    last_seen: lastSeen,
    ...(parts.mergedInto !== undefined ? { merged_into: parts.mergedInto } : {}),
    exemplar_trace_ids: exemplars,
    run_ids: [...runs],
    recommendation_ids: [...parts.recommendationIds],
  };
}

/**
 * Members see the same spans, so their figures are not added: each is the largest member's
 * (runs: at least the distinct run ids the members name).
 */
function problemImpact(all: readonly PainPointRecord[], distinctRuns: number): ProblemImpact {
  let score = 0;
  let runs = distinctRuns;
  let traces = 0;
  let ms = 0;
  let tokens = 0;
  for (const p of all) {
    if (p.impact === undefined) continue;
    score = Math.max(score, p.impact.score);
    runs = Math.max(runs, p.impact.affected_runs);
    traces = Math.max(traces, p.impact.affected_traces);
    ms = Math.max(ms, p.impact.wasted_ms);
    tokens = Math.max(tokens, p.impact.wasted_tokens);
  }
  return { score, affected_runs: runs, affected_traces: traces, wasted_ms: ms, wasted_tokens: tokens };
}

const PLURAL: Readonly<Record<string, string>> = { provider: 'providers', model: 'models', agent: 'agents', task_type: 'task types', tool: 'tools' };

/** "; 3 callers and 2 providers affected", and the name callers know a server-side root by. */
function spread(group: Group): string {
  const root = group.root.subject;
  const callers = new Set<string>();
  const calledAs = new Set<string>();
  const views = new Map<string, Set<string>>();
  for (const s of group.symptoms) {
    const subj = s.point.subject;
    if (s.relation === 'callee') {
      callers.add(`${subj.service}/${subj.operation ?? ''}`);
      const name = subj.tool ?? subj.model;
      if (name !== undefined && subj.service !== root.service && name !== subjectLabel(root)) calledAs.add(name);
    } else if (s.relation === 'view') {
      for (const dim of Object.keys(PLURAL) as (keyof typeof PLURAL & keyof Subject)[]) {
        const v = subj[dim];
        if (v === undefined || v === root[dim]) continue;
        let set = views.get(dim);
        if (set === undefined) views.set(dim, (set = new Set()));
        set.add(v);
      }
    }
  }
  const parts: string[] = [];
  if (callers.size > 0) parts.push(`${callers.size} caller${callers.size === 1 ? '' : 's'}`);
  for (const [dim, set] of views) parts.push(`${set.size} ${set.size === 1 ? dim.replace('_', ' ') : PLURAL[dim]}`);
  let text = parts.length > 0 ? `; ${parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`} affected` : '';
  if (calledAs.size > 0) text += ` (called as ${[...calledAs].sort().join(', ')})`;
  return text;
}

function describeSymptoms(symptoms: readonly Symptom[]): string {
  const shown = symptoms.slice(0, 6).map((s) => `${s.point.kind} on ${subjectLabel(s.point.subject)}`);
  return symptoms.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}
