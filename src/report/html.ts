/**
 * The HTML report of an analysis (`sidelight analyze --format html`): one self-contained page
 * (inline CSS and SVG, no scripts, no external assets) with the same content as the markdown
 * report plus failure-rate and p95 sparklines per operation, each with a text alternative.
 * Every value from the input is escaped. Deterministic: no clock reading unless passed in options.
 */
import type { AnalysisResult, OperationStatistics } from '../model/analysis.js';
import type { PainPointRecord } from '../model/painpoint.js';
import type { Recommendation } from '../model/recommendation.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../model/evidence-format.js';
import { evidenceEntries } from '../recommendations/format.js';
import { formatUsd } from '../model/cost.js';
import type { ReportOptions } from './markdown.js';
import { sparklineSvg } from './sparkline.js';
import { capitalize, escapeHtml as e, painPointsOfSeverity, plural, SEVERITIES, subjectText } from './text.js';

const CSS = `
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:1100px;margin:2rem auto;padding:0 1rem}
h1,h2,h3,h4{line-height:1.25}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:.1rem .3rem;border-radius:4px}
.meta{color:#57606a}.badge{display:inline-block;border-radius:1rem;padding:0 .6rem;font-size:12px;font-weight:600;color:#fff}
.sev-high{background:#cf222e}.sev-medium{background:#bf8700}.sev-low{background:#57606a}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
.spark{vertical-align:middle}.chart-text{font-size:12px;color:#57606a;display:block}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem;border-radius:6px}
`.trim();

const ms = (v: number | null): string => (v === null ? '—' : formatDuration(v));
const badge = (severity: string): string => `<span class="badge sev-${e(severity)}">${e(severity)}</span>`;
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

function painPointCard(pp: PainPointRecord): string {
  const metrics = evidenceEntries(pp.evidence.metrics);
  const exemplars = pp.evidence.exemplar_trace_ids;
  const impact = pp.impact
    ? `<li>Impact: score ${formatNumber(pp.impact.score, 2)}; ${plural(pp.impact.affected_runs, 'run')}, ${plural(pp.impact.affected_traces, 'trace')}, ${e(formatDuration(pp.impact.wasted_ms))} wasted, ${formatCount(pp.impact.wasted_tokens)} tokens wasted${pp.impact.wasted_cost_usd !== undefined ? ` (${e(formatUsd(pp.impact.wasted_cost_usd))})` : ''}</li>`
    : '';
  return [
    `<article class="card" id="${e(pp.id)}">`,
    `<h4>${badge(pp.severity)} ${e(pp.title)}</h4>`,
    `<p class="meta">${code(pp.id)} · ${e(pp.kind)} · ${e(pp.category)} · ${e(pp.state)}</p>`,
    pp.description !== '' ? `<p>${e(pp.description)}</p>` : '',
    '<ul>',
    `<li>Subject: ${e(subjectText(pp.subject))}</li>`,
    `<li>Window: ${e(pp.evidence.window)} · first seen ${e(pp.first_seen)} · last seen ${e(pp.last_seen)}</li>`,
    `<li>Runs: ${pp.run_ids.length > 0 ? pp.run_ids.map(code).join(', ') : '—'}</li>`,
    `<li>Exemplar traces: ${exemplars.length > 0 ? exemplars.map(code).join(', ') : '—'}</li>`,
    impact,
    '</ul>',
    metrics.length > 0
      ? `<table><thead><tr><th>metric</th><th class="num">value</th></tr></thead><tbody>${metrics.map(([k, v]) => `<tr><td>${e(k)}</td><td class="num">${e(v)}</td></tr>`).join('')}</tbody></table>`
      : '',
    '</article>',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

function painPoints(result: AnalysisResult): string {
  const parts = ['<section id="painpoints"><h2>Pain points</h2>'];
  if (result.painpoints.length === 0) parts.push('<p>No pain points found.</p>');
  for (const severity of SEVERITIES) {
    const group = painPointsOfSeverity(result.painpoints, severity);
    if (group.length === 0) continue;
    parts.push(`<h3>${capitalize(severity)} (${group.length})</h3>`, ...group.map(painPointCard));
  }
  parts.push('</section>');
  return parts.join('\n');
}

function recommendationCard(rec: Recommendation, index: number): string {
  const t = rec.task;
  return [
    `<article class="card" id="${e(rec.id)}">`,
    `<h3>${index + 1}. ${badge(rec.priority)} ${e(rec.title)}</h3>`,
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
  const body = result.recommendations.length === 0 ? '<p>No recommendations.</p>' : result.recommendations.map(recommendationCard).join('\n');
  return `<section id="recommendations"><h2>Recommendations</h2>\n${body}\n</section>`;
}

/** The charts' text alternative: first → last value and the maximum, so the trend is readable without the SVG. */
function trendText(name: string, values: readonly (number | null)[], format: (v: number) => string): string {
  const present = values.filter((v): v is number => v !== null);
  const first = present[0];
  const last = present[present.length - 1];
  if (first === undefined || last === undefined) return `${name}: no data`;
  return `${name} ${format(first)} → ${format(last)}, max ${format(Math.max(...present))} over ${values.length} buckets`;
}

function operationCharts(op: OperationStatistics): string {
  if (op.timeline.length === 0) return '—';
  const rates = op.timeline.map((b) => b.failure_rate);
  const p95 = op.timeline.map((b) => b.p95_ms);
  const rateText = trendText('failure rate', rates, (v) => formatPercent(v));
  const p95Text = trendText('p95', p95, formatDuration);
  return [
    sparklineSvg(rates, { label: `${op.key}: ${rateText}`, max: 1, stroke: '#cf222e' }),
    `<span class="chart-text">${e(rateText)}</span>`,
    sparklineSvg(p95, { label: `${op.key}: ${p95Text}`, stroke: '#1f6feb' }),
    `<span class="chart-text">${e(p95Text)}</span>`,
  ].join('');
}

function operations(result: AnalysisResult): string {
  const ops = result.statistics.operations;
  if (ops.length === 0) return '';
  const rows = ops.map(
    (op) =>
      `<tr><td>${code(op.key)}</td><td class="num">${formatCount(op.calls)}</td><td class="num">${formatCount(op.failures)}</td><td class="num">${e(formatPercent(op.failure_rate))}</td>` +
      `<td class="num">${e(ms(op.p50_ms))}</td><td class="num">${e(ms(op.p95_ms))}</td><td class="num">${e(ms(op.p99_ms))}</td><td>${operationCharts(op)}</td></tr>`,
  );
  return [
    '<section id="operations"><h2>Operations</h2>',
    '<table><thead><tr><th>operation</th><th class="num">calls</th><th class="num">failures</th><th class="num">failure rate</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th>over time</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody></table>`,
    '</section>',
  ].join('\n');
}

export function renderHtmlReport(result: AnalysisResult, options: ReportOptions = {}): string {
  const title = options.title ?? 'Sidelight report';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${e(title)}</h1>`,
    options.generatedAt !== undefined ? `<p class="meta">Generated ${e(options.generatedAt)}</p>` : '',
    summary(result),
    painPoints(result),
    recommendations(result),
    operations(result),
    '</body>',
    '</html>',
    '',
  ]
    .filter((l, i, all) => l !== '' || i === all.length - 1)
    .join('\n');
}
