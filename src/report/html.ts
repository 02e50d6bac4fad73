/**
 * The HTML report of an analysis (`sidelight analyze --format html`): one self-contained page
 * (inline CSS and SVG, no scripts, no external assets) built from the live page's components and
 * stylesheet (components.ts, style.ts), so a saved report looks like /ui: the pain points as alert
 * cards by severity with their fix and kc task, the recommendations, and a card per operation
 * with failure-rate and p95 sparklines, each with a text alternative. Every value from the input
 * is escaped. Deterministic: no clock reading unless passed in options.
 */
import type { AnalysisResult, OperationStatistics } from '../model/analysis.js';
import type { Recommendation } from '../model/recommendation.js';
import { formatCount, formatDuration, formatPercent } from '../model/evidence-format.js';
import { alertItemFromPainPoint, compareAlertItems, type AlertItem } from './alert-item.js';
import { alertCard, badge, operationCard, severityCounts } from './components.js';
import type { ReportOptions } from './markdown.js';
import { PAGE_CSS } from './style.js';
import { capitalize, escapeHtml as e, SEVERITIES } from './text.js';

const ms = (v: number | null): string => (v === null ? '—' : formatDuration(v));
const code = (text: string): string => `<code>${e(text)}</code>`;
const ul = (items: readonly string[]): string => (items.length > 0 ? `<ul>${items.map((i) => `<li>${e(i)}</li>`).join('')}</ul>` : '<p>—</p>');

function summary(result: AnalysisResult): string {
  const s = result.statistics;
  const c = s.painpoints;
  return [
    '<section id="summary"><h2>Summary</h2>',
    '<table><thead><tr><th class="num">spans</th><th class="num">traces</th><th class="num">runs</th><th class="num">failed spans</th><th class="num">late spans dropped</th></tr></thead>',
    `<tbody><tr><td class="num">${formatCount(s.spans)}</td><td class="num">${formatCount(s.traces)}</td><td class="num">${formatCount(s.runs)}</td><td class="num">${formatCount(s.failed_spans)}</td><td class="num">${formatCount(s.late_spans_dropped)}</td></tr></tbody></table>`,
    `<p>Time range: ${e(s.start ?? '—')} – ${e(s.end ?? '—')}</p>`,
    `<p>Pain points: ${c.high + c.medium + c.low} (${badge('high')} ${c.high} ${badge('medium')} ${c.medium} ${badge('low')} ${c.low}) · Recommendations: ${result.recommendations.length}</p>`,
    '</section>',
  ].join('\n');
}

/** The alert items of the report: each pain point with the first (highest-priority) recommendation covering it. */
export function reportAlertItems(result: AnalysisResult): AlertItem[] {
  const recFor = new Map<string, Recommendation>();
  for (const rec of result.recommendations) for (const id of rec.pain_point_ids) if (!recFor.has(id)) recFor.set(id, rec);
  return result.painpoints.map((pp) => alertItemFromPainPoint(pp, recFor.get(pp.id))).sort(compareAlertItems);
}

function painPoints(items: readonly AlertItem[]): string {
  const parts = ['<section id="painpoints" aria-labelledby="painpoints-h"><h2 id="painpoints-h">Pain points</h2>'];
  if (items.length === 0) parts.push('<p class="empty">No pain points found.</p>');
  for (const severity of SEVERITIES) {
    const group = items.filter((i) => i.severity === severity);
    if (group.length === 0) continue;
    parts.push(`<h3>${capitalize(severity)} (${group.length})</h3>`, ...group.map((i) => alertCard(i)));
  }
  parts.push('</section>');
  return parts.join('\n');
}

function recommendationCard(rec: Recommendation, index: number): string {
  const t = rec.task;
  return [
    `<article class="alert" id="${e(rec.id)}" data-severity="${e(rec.priority)}">`,
    `<div class="alert-head">${badge(rec.priority)}<h3 class="alert-title">${index + 1}. ${e(rec.title)}</h3></div>`,
    `<p class="meta">${code(rec.id)} · ${e(rec.category)} · impact ${e(rec.impact)} · effort ${e(rec.effort)} · pain points ${rec.pain_point_ids.map((id) => `<a href="#${e(id)}">${code(id)}</a>`).join(', ')}</p>`,
    `<pre>${e(rec.description)}</pre>`,
    `<h4>Implementation</h4><pre>${e(rec.implementation)}</pre>`,
    `<h4>Acceptance criteria</h4>${ul(rec.acceptanceCriteria)}`,
    `<h4>kc task ${code(t.id)}</h4>`,
    `<p class="meta">status ${e(t.status)} · effort ${e(t.effort)} · content hash ${code(t.contentHash.slice(0, 12))}</p>`,
    `<p>Do:</p>${ul(t.constraints.do)}<p>Don't:</p>${ul(t.constraints.dont)}`,
    `<p>Outputs:</p>${ul(t.outputs)}`,
    `<p>Check steps:</p><ol>${t.checkSteps.map((s) => `<li>${e(s)}</li>`).join('')}</ol>`,
    '</article>',
  ].join('\n');
}

function recommendations(result: AnalysisResult): string {
  const body = result.recommendations.length === 0 ? '<p class="empty">No recommendations.</p>' : result.recommendations.map(recommendationCard).join('\n');
  return `<section id="recommendations" aria-labelledby="recommendations-h"><h2 id="recommendations-h">Recommendations</h2>\n${body}\n</section>`;
}

function operationView(op: OperationStatistics, items: readonly AlertItem[]): string {
  const worst = items.find((i) => i.operationKey === op.key)?.severity;
  return operationCard({
    key: op.key,
    figures: [
      ['calls', formatCount(op.calls)],
      ['failures', formatCount(op.failures)],
      ['failure rate', formatPercent(op.failure_rate)],
      ['p50', ms(op.p50_ms)],
      ['p95', ms(op.p95_ms)],
      ['p99', ms(op.p99_ms)],
    ],
    charts:
      op.timeline.length === 0
        ? []
        : [
            { metric: 'failure_rate', caption: 'failure rate', values: op.timeline.map((b) => b.failure_rate), max: 1, format: (v) => formatPercent(v), stroke: '#cf222e' },
            { metric: 'p95', caption: 'p95', values: op.timeline.map((b) => b.p95_ms), format: formatDuration, stroke: '#1f6feb' },
          ],
    points: op.timeline.length,
    ...(worst ? { trouble: worst } : {}),
  });
}

function operations(result: AnalysisResult, items: readonly AlertItem[]): string {
  const ops = result.statistics.operations;
  if (ops.length === 0) return '';
  return ['<section id="operations" aria-labelledby="operations-h"><h2 id="operations-h">Operations</h2>', '<div class="ops">', ...ops.map((op) => operationView(op, items)), '</div>', '</section>'].join('\n');
}

export function renderHtmlReport(result: AnalysisResult, options: ReportOptions = {}): string {
  const title = options.title ?? 'Sidelight report';
  const items = reportAlertItems(result);
  const c = result.statistics.painpoints;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title>`,
    `<style>${PAGE_CSS}</style>`,
    '</head>',
    '<body>',
    `<header class="page-head"><h1>${e(title)}</h1>${severityCounts(c)}${options.generatedAt !== undefined ? `<span class="meta">Generated ${e(options.generatedAt)}</span>` : ''}</header>`,
    '<main>',
    summary(result),
    '<div class="columns">',
    `<div>\n${painPoints(items)}\n${recommendations(result)}\n</div>`,
    `<div>\n${operations(result, items)}\n</div>`,
    '</div>',
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
