/** What the failure templates (failure_rate, failure_spike) read alike: the error class and the figures sentence. */
import type { Subject } from '../../model/painpoint.js';
import { formatCount, formatPercent } from '../../model/evidence-format.js';
import { errorFamily, type ErrorFamily } from '../error-family.js';
import { formatBreakdown, sortedBreakdown } from '../format.js';

/** The figures of a failure window both failure kinds write. */
export interface FailureFigures {
  readonly calls?: number | undefined;
  readonly failures?: number | undefined;
  readonly failure_rate?: number | undefined;
  readonly wilson_lower?: number | undefined;
  readonly by_error_class?: Readonly<Record<string, number>> | undefined;
  readonly dominant_error_class?: string | undefined;
}

/** A breakdown with at least one label, else undefined. */
export function nonEmpty(breakdown: Readonly<Record<string, number>> | undefined): Readonly<Record<string, number>> | undefined {
  return breakdown !== undefined && Object.keys(breakdown).length > 0 ? breakdown : undefined;
}

/** The error class the advice is about: the subject's, else the detector's dominant one, else the largest in the breakdown. */
export function errorClassOf(subject: Subject, m: Pick<FailureFigures, 'by_error_class' | 'dominant_error_class'>): string | undefined {
  const byClass = nonEmpty(m.by_error_class);
  return subject.error_class ?? m.dominant_error_class ?? (byClass ? sortedBreakdown(byClass)[0]?.[0] : undefined);
}

export function familyOf(subject: Subject, m: Pick<FailureFigures, 'by_error_class' | 'dominant_error_class'>): ErrorFamily {
  return errorFamily(errorClassOf(subject, m));
}

/** "62 of 120 calls failed, failure rate 52 %, Wilson lower bound 43 %, by error class: rate_limit 58 in the 5m window" */
export function failureFigures(m: FailureFigures, window: string): string {
  const rate = m.failure_rate ?? (m.calls && m.failures !== undefined ? m.failures / m.calls : undefined);
  const parts: string[] = [];
  if (m.failures !== undefined && m.calls !== undefined) parts.push(`${formatCount(m.failures)} of ${formatCount(m.calls)} calls failed`);
  if (rate !== undefined) parts.push(`failure rate ${formatPercent(rate)}`);
  if (m.wilson_lower !== undefined) parts.push(`Wilson lower bound ${formatPercent(m.wilson_lower)}`);
  const byClass = nonEmpty(m.by_error_class);
  if (byClass) parts.push(`by error class: ${formatBreakdown(byClass)}`);
  return parts.length > 0 ? `${parts.join(', ')} in ${window}` : `in ${window}`;
}
