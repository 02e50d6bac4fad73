/**
 * The live page's HTML, rendered on the server from the live state with the report's components:
 * the whole page for GET /ui (complete without JavaScript), and the fragments the event stream
 * carries (a card, a resolved entry, an operation card), so the page's script only places markup
 * the server made and draws the charts.
 */
import type { UiSettings } from '../config/ui-schema.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../model/evidence-format.js';
import type { AlertItem } from '../report/alert-item.js';
import { alertCard, criticalPathTable, operationCard, resolvedEntry, severityCounts, timeElement, trendText, type ChartView } from '../report/components.js';
import { escapeHtml as e } from '../report/text.js';
import { VERSION } from '../version.js';
import type { LiveState } from './live-state.js';
import type { ChartMetric, OperationSeries } from './operation-history.js';

export const ASSET_PATHS = {
  css: '/ui/assets/sidelight.css',
  script: '/ui/assets/live-page.js',
  uplot: '/ui/assets/uPlot.iife.min.js',
  uplotCss: '/ui/assets/uPlot.min.css',
} as const;

const CHARTS: readonly { metric: ChartMetric; caption: string; max?: number; format: (v: number) => string; stroke: string }[] = [
  { metric: 'failure_rate', caption: 'failure rate', max: 1, format: (v) => formatPercent(v), stroke: '#cf222e' },
  { metric: 'p95', caption: 'p95 latency', format: formatDuration, stroke: '#0969da' },
  { metric: 'retries', caption: 'retries / min', format: (v) => `${formatNumber(v, 1)}/min`, stroke: '#8250df' },
];

/** An item's card; `asOf` is the latest boundary (event time), how long an open item has been seen. */
export function alertCardHtml(item: AlertItem, settings: UiSettings, asOf: number | undefined): string {
  return alertCard(item, { copyButton: true, ...(settings.trace_url !== undefined ? { traceUrl: settings.trace_url } : {}), ...(asOf !== undefined ? { asOf } : {}) });
}

export function openListHtml(state: LiveState, settings: UiSettings): string {
  const items = state.openItems();
  if (items.length === 0) return '<p class="empty" data-empty>Nothing is wrong right now.</p>';
  const asOf = state.history.timeAxis(1)[0];
  return items.map((i) => alertCardHtml(i, settings, asOf)).join('\n');
}

export function resolvedListHtml(state: LiveState): string {
  const items = state.resolvedItems();
  if (items.length === 0) return '<li class="empty" data-empty>None.</li>';
  return items.map(resolvedEntry).join('\n');
}

/** The figures line of an operation card: current values on its shortest window with calls. */
export function operationFigures(state: LiveState, key: string): [string, string, string][] {
  const f = state.history.latest(key);
  if (!f) return [['calls', '0', 'calls']];
  return [
    ['failure rate', f.failureRate === null ? '—' : formatPercent(f.failureRate), 'failure_rate'],
    ['p95', f.p95Ms === null ? '—' : formatDuration(f.p95Ms), 'p95'],
    ['retries', f.retriesPerMinute === null ? '—' : `${formatNumber(f.retriesPerMinute, 1)}/min`, 'retries'],
    [`calls (${f.window})`, formatCount(f.calls), 'calls'],
  ];
}

/** The text alternative of each chart of an operation (what the picture shows, in words). */
export function chartTexts(state: LiveState, key: string): Record<ChartMetric, string> {
  const series = state.history.series(key);
  const out = {} as Record<ChartMetric, string>;
  for (const c of CHARTS) out[c.metric] = trendText(c.caption, series?.[c.metric][0] ?? [], c.format);
  return out;
}

export function operationCardHtml(state: LiveState, key: string): string {
  const series = state.history.series(key);
  const trouble = state.troubleOf(key);
  const charts: ChartView[] = CHARTS.map((c) => ({ ...c, values: series?.[c.metric][0] ?? [] }));
  return operationCard({ key, figures: operationFigures(state, key), charts, points: state.history.pointCount(key), ...(trouble ? { trouble } : {}) });
}

export function operationsHtml(state: LiveState): string {
  const order = state.operationOrder();
  if (order.length === 0) return '<p class="empty" data-empty>No operation has been seen yet.</p>';
  return order.map((k) => operationCardHtml(state, k)).join('\n');
}

export function criticalPathHtml(state: LiveState): string {
  return criticalPathTable(state.criticalPath.rows, state.criticalPath.window || 'window');
}

/** Chart columns as the page's script reads them: per metric, one array per window. */
export function chartData(series: OperationSeries): Record<ChartMetric, (number | null)[][]> {
  return { failure_rate: series.failure_rate, p95: series.p95, retries: series.retries };
}

function legend(windows: readonly string[]): string {
  const marks = ['—', '- -', '···'];
  return windows.length === 0 ? '' : `<p class="legend">Lines: ${windows.map((w, i) => `<span class="k${i + 1}">${marks[i] ?? '—'} ${e(w)}</span>`).join(' ')} window; the text under each chart is the shortest.</p>`;
}

/** The whole page. `generatedAt` is the wall-clock time of this rendering. */
export function renderLivePage(state: LiveState, settings: UiSettings, generatedAt: number): string {
  const at = new Date(generatedAt).toISOString();
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Sidelight — live</title>',
    '<meta name="color-scheme" content="light dark">',
    // no favicon request
    '<link rel="icon" href="data:,">',
    // without a script the page is a snapshot: reload it now and then
    '<noscript><meta http-equiv="refresh" content="30"></noscript>',
    `<link rel="stylesheet" href="${ASSET_PATHS.uplotCss}">`,
    `<link rel="stylesheet" href="${ASSET_PATHS.css}">`,
    `<script src="${ASSET_PATHS.uplot}" defer></script>`,
    `<script src="${ASSET_PATHS.script}" defer></script>`,
    '</head>',
    '<body>',
    '<a class="skip" href="#open">Skip to open pain points</a>',
    '<header class="page-head">',
    '<h1>Sidelight</h1>',
    severityCounts(state.counts()),
    `<span class="status" id="status" data-state="static" role="status" aria-live="polite">Snapshot of ${timeElement(at)}</span>`,
    '</header>',
    '<main>',
    '<div class="columns">',
    '<div>',
    '<section id="open" aria-labelledby="open-h"><h2 id="open-h">Open pain points</h2>',
    `<div id="open-list" data-empty-text="Nothing is wrong right now.">\n${openListHtml(state, settings)}\n</div>`,
    '</section>',
    `<section id="resolved" aria-labelledby="resolved-h"><h2 id="resolved-h">Resolved in the last ${e(formatWindow(settings.resolved_window))}</h2>`,
    `<ul class="resolved" id="resolved-list" data-empty-text="None.">\n${resolvedListHtml(state)}\n</ul>`,
    '</section>',
    '</div>',
    '<div>',
    '<section id="operations" aria-labelledby="operations-h"><h2 id="operations-h">Operations</h2>',
    legend(state.history.windows),
    `<div class="ops" id="ops">\n${operationsHtml(state)}\n</div>`,
    '</section>',
    '<section id="critical-path" aria-labelledby="critical-path-h"><h2 id="critical-path-h">Critical path</h2>',
    `<div id="cp">${criticalPathHtml(state)}</div>`,
    '</section>',
    '</div>',
    '</div>',
    `<p class="keys">Keys: <kbd>j</kbd> / <kbd>k</kbd> next / previous pain point · <kbd>c</kbd> copy its kc task · <kbd>t</kbd> open its first trace. Sidelight ${e(VERSION)}.</p>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function formatWindow(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${formatNumber(ms / 60_000, 0)} min`;
}
