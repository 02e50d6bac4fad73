/**
 * Acceptance criteria of a recommendation covering several pain points: one criterion per measured
 * quantity (and error class) per subject, the first given kept. Members come lead or root first, so
 * a recommendation never asks the same failure rate to fall below 5 %, 30.7 % and 13.3 % at once.
 */
import type { PainPointRecord } from '../model/painpoint.js';
import { subjectKey } from '../model/series.js';
import type { Advice } from './advice/index.js';
import { rootSubject } from './grouping.js';

export interface AdvisedPainPoint {
  readonly painpoint: PainPointRecord;
  readonly advice: Advice;
}

export function acceptanceCriteria(members: readonly AdvisedPainPoint[]): string[] {
  const measured = new Set<string>();
  const texts = new Set<string>();
  const out: string[] = [];
  for (const { painpoint, advice } of members) {
    const subject = subjectKey(rootSubject(painpoint.subject));
    for (const c of advice.acceptance) {
      const key = `${c.quantity}\u0000${c.errorClass ?? ''}\u0000${subject}`;
      if (measured.has(key) || texts.has(c.text)) continue;
      measured.add(key);
      texts.add(c.text);
      out.push(c.text);
    }
  }
  return out;
}
