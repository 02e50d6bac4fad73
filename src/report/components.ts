/**
 * HTML components shared by the live page (src/ui/page.ts) and the HTML report (html.ts): the
 * alert card, the resolved entry, the operation card with its charts, the critical-path table.
 * Pure functions of their input, every value escaped, no clock reading: the report stays
 * byte-identical on rerun and the page's server-side HTML is the same markup the script updates.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../model/painpoint.js';
import { TRACE_ID_PLACEHOLDER } from '../config/ui-schema.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../model/evidence-format.js';
import { type AlertItem, type AlertMember, rootLabel, seenDurationMs } from './alert-item.js';
import { sparklineSvg } from './sparkline.js';
import { escapeHtml as e, plural, subjectText } from './text.js';
import { subjectLabelWithErrorClass } from '../model/series.js';
import { formatUsd } from '../model/cost.js';

export interface AlertCardOptions {
  /** URL template with {trace_id}; unset = trace ids without links */
  readonly traceUrl?: string;
  /** a "Copy kc task" button, shown once the live page's script runs (the report has none) */
  readonly copyButton?: boolean;
  /** event time (epoch ms) the item is seen as of: an open item is still being seen; default its last_seen */
  readonly asOf?: number;
  /** a problem's members link to their pain-point cards on the same page (the report has them, the live page not) */
  readonly memberLinks?: boolean;
}

const code = (text: string): string => `<code>${e(text)}</code>`;
export const badge = (severity: string): string => `<span class="badge sev-${e(severity)}">${e(severity)}</span>`;

/** "2026-11-26 10:00:50 UTC" in a <time> element. */
export function timeElement(iso: string): string {
  const shown = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : iso;
  return `<time datetime="${e(iso)}">${e(shown)}</time>`;
}

/** A duration for people: "45 s", "3.5 min", "2.1 h". */
export function formatSpan(ms: number): string {
  if (ms < 60_000) return `${formatNumber(ms / 1_000, 0)} s`;
  if (ms < 3_600_000) return `${formatNumber(ms / 60_000, 1)} min`;
  return `${formatNumber(ms / 3_600_000, 1)} h`;
}

/** The id of an operation's card: stable, and safe in an id attribute and a URL fragment. */
export function operationAnchor(key: string): string {
  return `op-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

const TRACE_ID = /^[0-9a-f]{32}$/i;

/** A trace id as a link through the template (the id URL-encoded), or as code without one. */
export function traceLink(traceId: string, template: string | undefined): string {
  if (template === undefined || !TRACE_ID.test(traceId)) return code(traceId);
  const href = template.replaceAll(TRACE_ID_PLACEHOLDER, encodeURIComponent(traceId));
  return `<a class="trace" href="${e(href)}" target="_blank" rel="noopener noreferrer" data-trace-id="${e(traceId)}">${e(traceId.slice(0, 16))}…</a>`;
}

function impactText(item: AlertItem): string {
  const i = item.impact;
  if (!i) return `${plural(item.runCount, 'run')}`;
  const parts = [plural(i.affected_runs, 'run'), plural(i.affected_traces, 'trace')];
  if (i.wasted_ms > 0) parts.push(`${formatDuration(i.wasted_ms)} wasted`);
  const cost = i.wasted_cost_usd !== undefined ? formatUsd(i.wasted_cost_usd) : undefined;
  if (i.wasted_tokens > 0) parts.push(`${formatCount(i.wasted_tokens)} tokens wasted${cost !== undefined ? ` (${cost})` : ''}`);
  else if (cost !== undefined) parts.push(`${cost} wasted`);
  return `${parts.join(', ')} · score ${formatNumber(i.score, 2)}`;
}

function memberList(members: readonly AlertMember[]): string {
  return members.map((m) => `${code(m.kind)} on ${e(subjectLabelWithErrorClass(m.subject))}`).join(', ');
}

function spreadText(item: AlertItem): string {
  if (item.symptoms.length === 0 && item.contributing.length === 0) return 'this series only';
  const parts: string[] = [];
  if (item.symptoms.length > 0) parts.push(`${plural(item.symptoms.length, 'symptom')}: ${memberList(item.symptoms)}`);
  if (item.contributing.length > 0) parts.push(`contributing: ${memberList(item.contributing)}`);
  return parts.join('; ');
}

const ROLE_TEXT = { root: 'root', symptom: 'symptom', contributing: 'contributing' } as const;

/**
 * A problem's member pain points, the detail under its card: root first, then symptoms, then
 * contributing ones, each with its severity and title where known. A pain point's own card has none.
 */
function membersBlock(item: AlertItem, opts: AlertCardOptions): string {
  if (item.source !== 'problem') return '';
  const rows: [keyof typeof ROLE_TEXT, AlertMember][] = [
    ['root', item.root],
    ...item.symptoms.map((m) => ['symptom', m] as [keyof typeof ROLE_TEXT, AlertMember]),
    ...item.contributing.map((m) => ['contributing', m] as [keyof typeof ROLE_TEXT, AlertMember]),
  ];
  const li = rows.map(
    ([role, m]) =>
      `<li data-member="${e(m.id)}" data-role="${role}">${m.severity ? `${badge(m.severity)} ` : ''}<span class="role">${ROLE_TEXT[role]}</span> ${code(m.kind)} on ${e(subjectLabelWithErrorClass(m.subject))}` +
      `${m.title !== undefined ? ` — ${e(m.title)}` : ''} <span class="meta">${opts.memberLinks ? `<a href="#${e(m.id)}">${code(m.id)}</a>` : code(m.id)}</span></li>`,
  );
  return `<details class="members"><summary>Pain points (${rows.length})</summary><ul>${li.join('')}</ul></details>`;
}

function recommendationBlock(item: AlertItem, opts: AlertCardOptions): string {
  const rec = item.recommendation;
  if (!rec) return '';
  const steps = rec.steps
    .map((g) => `${g.heading !== undefined ? `<p class="group">${e(g.heading)}</p>` : ''}${g.steps.length > 0 ? `<ol>${g.steps.map((s) => `<li>${e(s)}</li>`).join('')}</ol>` : ''}`)
    .join('');
  const taskId = `task-${item.id}`;
  const button = opts.copyButton
    ? `<button type="button" class="copy-task" data-copy="${e(taskId)}">Copy kc task</button><span class="copied" role="status" aria-live="polite"></span>`
    : '';
  return [
    `<section class="fix" aria-label="Fix">`,
    `<h4>Fix: ${e(rec.title)}</h4>`,
    `<p class="meta">${code(rec.id)} · priority ${e(rec.priority)} · impact ${e(rec.impact)} · effort ${e(rec.effort)}</p>`,
    steps,
    rec.acceptance.length > 0 ? `<details><summary>Acceptance criteria</summary><ul>${rec.acceptance.map((c) => `<li>${e(c)}</li>`).join('')}</ul></details>` : '',
    `<div class="task">${button}<details><summary>kc task ${code(rec.task.id)}</summary><pre id="${e(taskId)}" class="task-json">${e(JSON.stringify(rec.task, null, 2))}</pre></details></div>`,
    '</section>',
  ].join('');
}

/** One open (or resolved) alert as a card: badge, title, facts, description, the fix, traces, evidence. */
export function alertCard(item: AlertItem, opts: AlertCardOptions = {}): string {
  const first = Date.parse(item.firstSeen);
  const seen = opts.asOf !== undefined && opts.asOf > Date.parse(item.lastSeen) ? opts.asOf - first : seenDurationMs(item);
  const chart = item.operationKey !== undefined ? ` · <a href="#${operationAnchor(item.operationKey)}">chart</a>` : '';
  const traces =
    item.exemplarTraceIds.length > 0 ? `<p class="traces">Exemplar traces: ${item.exemplarTraceIds.map((t) => traceLink(t, opts.traceUrl)).join(' ')}</p>` : '';
  const evidence =
    item.evidence && item.evidence.metrics.length > 0
      ? `<details class="evidence"><summary>Evidence (window ${e(item.evidence.window)})</summary><table><thead><tr><th>metric</th><th class="num">value</th></tr></thead><tbody>${item.evidence.metrics
          .map(([k, v]) => `<tr><td>${e(k)}</td><td class="num">${e(v)}</td></tr>`)
          .join('')}</tbody></table></details>`
      : '';
  return [
    `<article class="alert" id="${e(item.id)}" data-id="${e(item.id)}" data-severity="${e(item.severity)}" data-state="${e(item.state)}" tabindex="-1" aria-labelledby="${e(item.id)}-title">`,
    `<div class="alert-head">${badge(item.severity)}<h3 class="alert-title" id="${e(item.id)}-title">${e(item.title)}</h3></div>`,
    `<p class="meta">${code(item.id)} · ${e(item.root.kind)}${item.category ? ` · ${e(item.category)}` : ''} · ${e(item.state)}${item.mergedInto ? ` into ${code(item.mergedInto)}` : ''}${chart}</p>`,
    '<dl class="facts">',
    `<dt>Root</dt><dd>${code(item.root.kind)} on <strong>${e(rootLabel(item))}</strong> (${e(subjectText(item.root.subject))})</dd>`,
    `<dt>Spread</dt><dd>${spreadText(item)}</dd>`,
    `<dt>Impact</dt><dd>${e(impactText(item))}</dd>`,
    `<dt>First seen</dt><dd>${timeElement(item.firstSeen)} · seen for <span class="since" data-first-seen="${Number.isFinite(first) ? first : ''}">${e(formatSpan(seen))}</span></dd>`,
    '</dl>',
    item.description !== '' ? `<p class="desc">${e(item.description)}</p>` : '',
    recommendationBlock(item, opts),
    traces,
    membersBlock(item, opts),
    evidence,
    '</article>',
  ]
    .filter((p) => p !== '')
    .join('\n');
}

/** A resolved item in the "resolved" list: badge, title, root, when it was seen and for how long. */
export function resolvedEntry(item: AlertItem): string {
  return (
    `<li data-id="${e(item.id)}">${badge(item.severity)} <strong>${e(item.title)}</strong> ` +
    `<span class="meta">${code(item.id)} · ${code(item.root.kind)} on ${e(rootLabel(item))}${item.mergedInto ? ` · merged into ${code(item.mergedInto)}` : ''} · ${timeElement(item.firstSeen)} – ${timeElement(item.lastSeen)} (${e(formatSpan(seenDurationMs(item)))})</span></li>`
  );
}

/** Open items counted by severity, as badges. */
export function severityCounts(counts: Readonly<Record<Severity, number>>): string {
  return `<span class="counts" data-counts>${(['high', 'medium', 'low'] as const).map((s) => `<span class="badge sev-${s}" data-count="${s}">${counts[s]} ${s}</span>`).join('')}</span>`;
}

/** One chart of an operation card: a caption, an inline SVG (the no-script view) and its text alternative. */
export interface ChartView {
  /** failure_rate, p95, retries: the live page's script draws the same metric there */
  readonly metric: string;
  readonly caption: string;
  readonly values: readonly (number | null)[];
  /** upper end of the y axis (1 for rates); default the largest value */
  readonly max?: number;
  readonly format: (v: number) => string;
  readonly stroke: string;
}

export interface OperationCardView {
  readonly key: string;
  /** figures under the title, e.g. ["failure rate", "40 %", "failure_rate"] (the third names it for live updates) */
  readonly figures: readonly (readonly [label: string, value: string, field?: string])[];
  readonly charts: readonly ChartView[];
  /** severity of the worst open item on this operation, for its border */
  readonly trouble?: Severity;
  /** points behind the charts */
  readonly points: number;
}

/** First → last value and the maximum, so the trend reads without the picture. */
export function trendText(name: string, values: readonly (number | null)[], format: (v: number) => string): string {
  const present = values.filter((v): v is number => v !== null);
  const first = present[0];
  const last = present[present.length - 1];
  if (first === undefined || last === undefined) return `${name}: no data`;
  return `${name} ${format(first)} → ${format(last)}, max ${format(Math.max(...present))} over ${values.length} buckets`;
}

export function operationCard(view: OperationCardView): string {
  const charts = view.charts.map((c) => {
    const text = trendText(c.caption, c.values, c.format);
    return (
      `<figure class="chart" data-metric="${e(c.metric)}"><figcaption>${e(c.caption)}</figcaption>` +
      `<div class="plot">${sparklineSvg(c.values, { label: `${view.key}: ${text}`, stroke: c.stroke, ...(c.max !== undefined ? { max: c.max } : {}) })}</div>` +
      `<span class="chart-text">${e(text)}</span></figure>`
    );
  });
  const figures = view.figures.map(([label, value, field]) => `${e(label)} <strong${field ? ` data-field="${e(field)}"` : ''}>${e(value)}</strong>`).join(' · ');
  return [
    `<article class="op" id="${operationAnchor(view.key)}" data-key="${e(view.key)}" data-points="${view.points}"${view.trouble ? ` data-trouble="${view.trouble}"` : ''}>`,
    `<h3 class="op-title">${code(view.key)}</h3>`,
    `<p class="op-figures">${figures}</p>`,
    `<div class="charts">${charts.join('')}</div>`,
    '</article>',
  ].join('');
}

export interface CriticalPathRow {
  readonly key: string;
  readonly share: number;
  readonly traces: number;
  readonly meanPathMs: number;
}

/** Operations by their mean share of the critical path, largest first. */
export function criticalPathTable(rows: readonly CriticalPathRow[], window: string): string {
  if (rows.length === 0) return '<p class="empty">No completed traces in the window yet.</p>';
  const body = rows
    .map(
      (r) =>
        `<tr><td>${code(r.key)}</td><td class="num"><meter min="0" max="1" value="${formatNumber(r.share, 3)}" aria-hidden="true"></meter> ${e(formatPercent(r.share))}</td>` +
        `<td class="num">${formatCount(r.traces)}</td><td class="num">${e(formatDuration(r.meanPathMs))}</td></tr>`,
    )
    .join('');
  return `<table class="cp"><caption class="meta">Mean share of each trace's critical path over the last ${e(window)}</caption><thead><tr><th>operation</th><th class="num">share</th><th class="num">traces</th><th class="num">on path / trace</th></tr></thead><tbody>${body}</tbody></table>`;
}
