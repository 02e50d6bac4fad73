/** Escaping and shared views of an analysis result for the markdown and HTML reports. */
import type { PainPointRecord, Severity, Subject } from '../model/painpoint.js';
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

export const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "1 trace", "40 traces" */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
