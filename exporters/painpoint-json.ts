/**
 * The pain-point record as JSON (docs/painpoints.md): exactly the record's fields, snake_case, in a fixed
 * order so the same record always gives the same bytes. Shared by jsonl, stdout and webhook.
 */
import type { PainPointRecord } from '../src/model/painpoint.js';

export interface PainPointJson {
  id: string;
  kind: string;
  severity: string;
  category: string;
  state: string;
  subject: PainPointRecord['subject'];
  title: string;
  description: string;
  evidence: PainPointRecord['evidence'];
  impact?: PainPointRecord['impact'];
  first_seen: string;
  last_seen: string;
  run_ids: readonly string[];
}

export function painPointJson(p: PainPointRecord): PainPointJson {
  return {
    id: p.id,
    kind: p.kind,
    severity: p.severity,
    category: p.category,
    state: p.state,
    subject: p.subject,
    title: p.title,
    description: p.description,
    evidence: p.evidence,
    ...(p.impact !== undefined ? { impact: p.impact } : {}),
    first_seen: p.first_seen,
    last_seen: p.last_seen,
    run_ids: p.run_ids,
  };
}
