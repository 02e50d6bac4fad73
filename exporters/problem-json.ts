/**
 * The problem record as JSON (docs/outputs.md, Problems): exactly the record's fields, snake_case,
 * in a fixed order so the same record always gives the same bytes. Shared by jsonl, stdout and
 * webhook; `describeChange` names a pain-point or problem change in log lines, `outputChangeCodec`
 * writes either to an exporter's write-ahead log.
 */
import type { ProblemRecord } from '../src/model/problem.js';
import { isProblemChange, type OutputChange } from '../src/model/events.js';
import { subjectLabelWithErrorClass } from '../src/model/series.js';
import type { RecordCodec } from './delivery/backlog.js';

export type ProblemJson = ProblemRecord;

export function problemJson(p: ProblemRecord): ProblemJson {
  return {
    id: p.id,
    state: p.state,
    severity: p.severity,
    category: p.category,
    title: p.title,
    description: p.description,
    root: p.root,
    symptoms: p.symptoms,
    contributing: p.contributing,
    impact: p.impact,
    first_seen: p.first_seen,
    last_seen: p.last_seen,
    ...(p.merged_into !== undefined ? { merged_into: p.merged_into } : {}),
    exemplar_trace_ids: p.exemplar_trace_ids,
    run_ids: p.run_ids,
    recommendation_ids: p.recommendation_ids,
  };
}

/** The id of the record a change is about: `pp-…` or `pb-…`. */
export function changeId(change: OutputChange): string {
  return isProblemChange(change) ? change.problem.id : change.painpoint.id;
}

/** `pp-…/open`, `pb-…/merged`: how a change is named in log lines. */
export function describeChange(change: OutputChange): string {
  return isProblemChange(change) ? `${change.problem.id}/${change.problem.state}` : `${change.painpoint.id}/${change.painpoint.state}`;
}

/**
 * A change as a write-ahead log record: the change as JSON, named by `pp-…/state` or `pb-…/state`.
 * The log is Sidelight's own file (checksummed), so decoding trusts the shape it wrote.
 */
export const outputChangeCodec: RecordCodec<OutputChange> = {
  id: describeChange,
  encode: (change) => Buffer.from(JSON.stringify(change)),
  decode: (body) => {
    const change = JSON.parse(body.toString('utf8')) as OutputChange;
    const record = isProblemChange(change) ? change.problem : change?.painpoint;
    if (typeof record?.id !== 'string' || !Array.isArray(change.recommendations)) throw new Error('not a pain-point or problem change');
    return change;
  },
};

type Member = ProblemRecord['symptoms'][number];

/** "failure_rate on web_search", "error_cluster on error class timeout": a member named for people. */
export function memberText(m: Pick<Member, 'kind' | 'subject'>): string {
  return `${m.kind} on ${subjectLabelWithErrorClass(m.subject)}`;
}

/** "root failure_rate on web_search; 2 symptoms: a, b; contributing: c" — the root and how far it spreads. */
export function problemSpread(p: Pick<ProblemRecord, 'root' | 'symptoms' | 'contributing'>): string {
  const parts = [`root ${memberText(p.root)}`];
  if (p.symptoms.length > 0) parts.push(`${p.symptoms.length} symptom${p.symptoms.length === 1 ? '' : 's'}: ${p.symptoms.map(memberText).join(', ')}`);
  if (p.contributing.length > 0) parts.push(`contributing: ${p.contributing.map(memberText).join(', ')}`);
  return parts.join('; ');
}
