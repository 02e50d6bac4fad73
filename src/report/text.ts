/** Escaping and shared views of an analysis result for the markdown and HTML reports. */
import type { PainPointRecord, Severity, Subject } from '../model/painpoint.js';
import type { ProblemRecord } from '../model/problem.js';
import type { Recommendation } from '../model/recommendation.js';
import { compareText } from '../recommendations/format.js';

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Inline markdown text: one line, and no raw HTML a renderer would execute. */
export function escapeMarkdownInline(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/</g, '&lt;');
}

/** A markdown table cell: inline text with pipes escaped. */
export function escapeTableCell(text: string): string {
  return escapeMarkdownInline(text).replace(/\|/g, '\\|');
}

/** Markdown code span that survives backticks in the text. */
export function codeSpan(text: string): string {
  const clean = text.replace(/\r?\n/g, ' ');
  return clean.includes('`') ? `\`\` ${clean} \`\`` : `\`${clean}\``;
}

const SUBJECT_FIELDS = ['service', 'operation', 'provider', 'model', 'tool', 'agent', 'task_type', 'error_class'] as const;

/** "service=kc, operation=chat, provider=openai" in the fixed field order. */
export function subjectText(subject: Subject): string {
  return SUBJECT_FIELDS.filter((f) => subject[f] !== undefined)
    .map((f) => `${f}=${subject[f] as string}`)
    .join(', ');
}

export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

/** Pain points of one severity, ordered by impact score then id (the result's own order may differ). */
export function painPointsOfSeverity(painpoints: readonly PainPointRecord[], severity: Severity): PainPointRecord[] {
  return painpoints
    .filter((pp) => pp.severity === severity)
    .sort((a, b) => (b.impact?.score ?? 0) - (a.impact?.score ?? 0) || compareText(a.id, b.id));
}

/** Problems of one severity, ordered by impact score then id. */
export function problemsOfSeverity(problems: readonly ProblemRecord[], severity: Severity): ProblemRecord[] {
  return problems.filter((p) => p.severity === severity).sort((a, b) => b.impact.score - a.impact.score || compareText(a.id, b.id));
}

/** A problem's fix: the first of the recommendations its record names, in the result's priority order. */
export function problemRecommendation(problem: Pick<ProblemRecord, 'recommendation_ids'>, recommendations: readonly Recommendation[]): Recommendation | undefined {
  return recommendations.find((r) => problem.recommendation_ids.includes(r.id));
}

export const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "1 trace", "40 traces" */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
