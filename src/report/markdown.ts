/**
 * The markdown report of an analysis (`sidelight analyze --format markdown`): summary figures,
 * the problems by severity (root, spread, impact, fix, members) when the analysis found any,
 * pain points by severity with their evidence as detail, recommendations with their kc tasks,
 * operations.
 * Deterministic: the only time inside is `options.generatedAt`, when the caller passes one.
 */
import type { AnalysisResult, OperationStatistics } from '../model/analysis.js';
import type { PainPointRecord } from '../model/painpoint.js';
import type { ProblemMember, ProblemRecord } from '../model/problem.js';
import type { Recommendation } from '../model/recommendation.js';
import { subjectLabel, subjectLabelWithErrorClass } from '../model/series.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../model/evidence-format.js';
import { evidenceEntries } from '../recommendations/format.js';
import { implementationSteps } from './alert-item.js';
import { formatUsd } from '../model/cost.js';
import { capitalize, codeSpan, escapeMarkdownInline, escapeTableCell, painPointsOfSeverity, plural, problemRecommendation, problemsOfSeverity, SEVERITIES, subjectText } from './text.js';

export interface ReportOptions {
  readonly title?: string;
  /** shown under the title when given (ISO-8601); reports hold no clock reading of their own */
  readonly generatedAt?: string;
}

const DEFAULT_TITLE = 'Sidelight report';

const ms = (v: number | null): string => (v === null ? '—' : formatDuration(v));

function summary(result: AnalysisResult): string[] {
  const s = result.statistics;
  const counts = s.painpoints;
  const total = counts.high + counts.medium + counts.low;
  return [
    '## Summary',
    '',
    '| spans | traces | runs | failed spans | late spans dropped |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${formatCount(s.spans)} | ${formatCount(s.traces)} | ${formatCount(s.runs)} | ${formatCount(s.failed_spans)} | ${formatCount(s.late_spans_dropped)} |`,
    '',
    `- Time range: ${s.start ?? '—'} – ${s.end ?? '—'}`,
    ...(result.problems.length > 0 ? [`- Problems: ${result.problems.length} (high ${s.problems.high}, medium ${s.problems.medium}, low ${s.problems.low})`] : []),
    `- Pain points: ${total} (high ${counts.high}, medium ${counts.medium}, low ${counts.low})`,
    `- Recommendations: ${result.recommendations.length}`,
    '',
  ];
}

function painPointSection(pp: PainPointRecord): string[] {
  const lines = [
    `#### ${escapeMarkdownInline(pp.title)}`,
    '',
    `${codeSpan(pp.id)} · ${pp.kind} · ${pp.category} · ${pp.state}${pp.impact ? ` · impact score ${formatNumber(pp.impact.score, 2)}` : ''}`,
    '',
  ];
  if (pp.description !== '') lines.push(escapeMarkdownInline(pp.description), '');
  lines.push(
    `- Subject: ${escapeMarkdownInline(subjectText(pp.subject))}`,
    `- Window: ${escapeMarkdownInline(pp.evidence.window)} · first seen ${pp.first_seen} · last seen ${pp.last_seen}`,
    `- Runs: ${pp.run_ids.length > 0 ? pp.run_ids.map(codeSpan).join(', ') : '—'}`,
    `- Exemplar traces: ${pp.evidence.exemplar_trace_ids.length > 0 ? pp.evidence.exemplar_trace_ids.map(codeSpan).join(', ') : '—'}`,
  );
  if (pp.impact) {
    const i = pp.impact;
    lines.push(`- Impact: ${plural(i.affected_runs, 'run')}, ${plural(i.affected_traces, 'trace')}, ${formatDuration(i.wasted_ms)} wasted, ${formatCount(i.wasted_tokens)} tokens wasted${i.wasted_cost_usd !== undefined ? ` (${formatUsd(i.wasted_cost_usd)})` : ''}`);
  }
  const metrics = evidenceEntries(pp.evidence.metrics);
  if (metrics.length > 0) {
    lines.push('', '| metric | value |', '| --- | ---: |', ...metrics.map(([k, v]) => `| ${escapeTableCell(k)} | ${escapeTableCell(v)} |`));
  }
  lines.push('');
  return lines;
}

function impactLine(i: ProblemRecord['impact']): string {
  return `${plural(i.affected_runs, 'run')}, ${plural(i.affected_traces, 'trace')}, ${formatDuration(i.wasted_ms)} wasted, ${formatCount(i.wasted_tokens)} tokens wasted${i.wasted_cost_usd !== undefined ? `, $${formatNumber(i.wasted_cost_usd, 2)}` : ''} · score ${formatNumber(i.score, 2)}`;
}

const memberName = (m: Pick<ProblemMember, 'kind' | 'subject'>): string => `${m.kind} on ${subjectLabelWithErrorClass(m.subject)}`;

/** One member pain point as a list line: role, id, severity and title where its record is in the result. */
function memberLine(role: string, m: ProblemMember, byId: ReadonlyMap<string, PainPointRecord>): string {
  const pp = byId.get(m.id);
  return `  - ${role} ${codeSpan(m.id)} · ${pp ? `${pp.severity} · ` : ''}${escapeMarkdownInline(memberName(m))}${pp ? ` — ${escapeMarkdownInline(pp.title)}` : ''}`;
}

function problemSection(p: ProblemRecord, result: AnalysisResult, byId: ReadonlyMap<string, PainPointRecord>): string[] {
  const spread = [
    ...(p.symptoms.length > 0 ? [`${plural(p.symptoms.length, 'symptom')}: ${p.symptoms.map(memberName).join(', ')}`] : []),
    ...(p.contributing.length > 0 ? [`contributing: ${p.contributing.map(memberName).join(', ')}`] : []),
  ];
  const lines = [
    `#### ${escapeMarkdownInline(p.title)}`,
    '',
    `${codeSpan(p.id)} · ${p.category} · ${p.state}`,
    '',
  ];
  if (p.description !== '') lines.push(escapeMarkdownInline(p.description), '');
  lines.push(
    `- Root: ${codeSpan(p.root.kind)} on **${escapeMarkdownInline(subjectLabel(p.root.subject))}** (${escapeMarkdownInline(subjectText(p.root.subject))}) — ${escapeMarkdownInline(p.root.title)}`,
    `- Spread: ${escapeMarkdownInline(spread.length > 0 ? spread.join('; ') : 'the root alone')}`,
    `- Impact: ${impactLine(p.impact)}`,
    `- Seen: ${p.first_seen} – ${p.last_seen}`,
    `- Exemplar traces: ${p.exemplar_trace_ids.length > 0 ? p.exemplar_trace_ids.map(codeSpan).join(', ') : '—'}`,
  );
  const rec = problemRecommendation(p, result.recommendations);
  lines.push(rec ? `- Fix: **${escapeMarkdownInline(rec.title)}** (${codeSpan(rec.id)} · priority ${rec.priority} · effort ${rec.effort}; steps and kc task under Recommendations)` : '- Fix: —');
  lines.push(
    `- Pain points (detail under Pain points):`,
    memberLine('root', p.root, byId),
    ...p.symptoms.map((m) => memberLine('symptom', m, byId)),
    ...p.contributing.map((m) => memberLine('contributing', m, byId)),
    '',
  );
  if (rec) {
    // the fix's steps, root first, each group its own paragraph and list so a renderer keeps them apart
    for (const group of implementationSteps(rec.implementation)) {
      if (group.heading !== undefined) lines.push(`*${escapeMarkdownInline(group.heading)}:*`, '');
      if (group.steps.length > 0) lines.push(...group.steps.map((step, i) => `${i + 1}. ${escapeMarkdownInline(step)}`), '');
    }
  }
  return lines;
}

/** The problems, one per cause, when the analysis found any; without a problems stage there is no section. */
function problems(result: AnalysisResult): string[] {
  if (result.problems.length === 0) return [];
  const byId = new Map(result.painpoints.map((pp) => [pp.id, pp]));
  const lines = ['## Problems', ''];
  for (const severity of SEVERITIES) {
    const group = problemsOfSeverity(result.problems, severity);
    if (group.length === 0) continue;
    lines.push(`### ${capitalize(severity)} (${group.length})`, '');
    for (const p of group) lines.push(...problemSection(p, result, byId));
  }
  return lines;
}

function painPoints(result: AnalysisResult): string[] {
  const lines = ['## Pain points', ''];
  if (result.painpoints.length === 0) return [...lines, 'No pain points found.', ''];
  for (const severity of SEVERITIES) {
    const group = painPointsOfSeverity(result.painpoints, severity);
    if (group.length === 0) continue;
    lines.push(`### ${capitalize(severity)} (${group.length})`, '');
    for (const pp of group) lines.push(...painPointSection(pp));
  }
  return lines;
}

const list = (items: readonly string[]): string[] => (items.length > 0 ? items.map((i) => `- ${escapeMarkdownInline(i)}`) : ['- —']);

function recommendationSection(rec: Recommendation, index: number): string[] {
  const t = rec.task;
  return [
    `### ${index + 1}. ${escapeMarkdownInline(rec.title)}`,
    '',
    `${codeSpan(rec.id)} · priority ${rec.priority} · ${rec.category} · impact ${rec.impact} · effort ${rec.effort} · pain points ${rec.pain_point_ids.map(codeSpan).join(', ')}`,
    '',
    ...rec.description.split('\n').map(escapeMarkdownInline),
    '',
    '**Implementation**',
    '',
    ...rec.implementation.split('\n').map(escapeMarkdownInline),
    '',
    '**Acceptance criteria**',
    '',
    ...rec.acceptanceCriteria.map((c) => `- [ ] ${escapeMarkdownInline(c)}`),
    '',
    `**kc task** ${codeSpan(t.id)} · status ${t.status} · effort ${t.effort} · content hash ${codeSpan(t.contentHash.slice(0, 12))}`,
    '',
    'Do:',
    '',
    ...list(t.constraints.do),
    '',
    "Don't:",
    '',
    ...list(t.constraints.dont),
    '',
    'Outputs:',
    '',
    ...list(t.outputs),
    '',
    'Check steps:',
    '',
    ...t.checkSteps.map((s, i) => `${i + 1}. ${escapeMarkdownInline(s)}`),
    '',
  ];
}

function recommendations(result: AnalysisResult): string[] {
  const lines = ['## Recommendations', ''];
  if (result.recommendations.length === 0) return [...lines, 'No recommendations.', ''];
  result.recommendations.forEach((rec, i) => lines.push(...recommendationSection(rec, i)));
  return lines;
}

function operationRow(op: OperationStatistics): string {
  return `| ${escapeTableCell(op.key)} | ${formatCount(op.calls)} | ${formatCount(op.failures)} | ${formatPercent(op.failure_rate)} | ${ms(op.p50_ms)} | ${ms(op.p95_ms)} | ${ms(op.p99_ms)} |`;
}

function operations(result: AnalysisResult): string[] {
  const ops = result.statistics.operations;
  if (ops.length === 0) return [];
  return [
    '## Operations',
    '',
    '| operation | calls | failures | failure rate | p50 | p95 | p99 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...ops.map(operationRow),
    '',
  ];
}

export function renderMarkdownReport(result: AnalysisResult, options: ReportOptions = {}): string {
  const head = [`# ${escapeMarkdownInline(options.title ?? DEFAULT_TITLE)}`, ''];
  if (options.generatedAt !== undefined) head.push(`Generated ${escapeMarkdownInline(options.generatedAt)}`, '');
  const lines = [...head, ...summary(result), ...problems(result), ...painPoints(result), ...recommendations(result), ...operations(result)];
  // One trailing newline, never a run of blank lines at the end.
  return lines.join('\n').replace(/\n+$/, '') + '\n';
}
