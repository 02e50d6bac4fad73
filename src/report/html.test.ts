import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderHtmlReport, reportAlertItems } from './html.js';
import { alertCard } from './components.js';
import { PAGE_CSS } from './style.js';
import { sparklineSvg } from './sparkline.js';
import { escapeHtml } from './text.js';
import { smallAnalysisResult } from '../../test/fixtures/report/painpoints.js';

const GOLDEN = fileURLToPath(new URL('../../test/fixtures/report/report.golden.html', import.meta.url));

describe('renderHtmlReport', () => {
  it('matches the committed golden report', () => {
    const html = renderHtmlReport(smallAnalysisResult());
    // UPDATE_GOLDEN=1 rewrites the file after a deliberate change; review the diff.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, html);
    expect(html).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('is built from the live page\'s stylesheet and alert cards', () => {
    const result = smallAnalysisResult();
    const html = renderHtmlReport(result);
    expect(html).toContain(`<style>${PAGE_CSS}</style>`);
    const items = reportAlertItems(result);
    expect(items.map((i) => i.severity)).toEqual(['high', 'medium', 'low']);
    for (const item of items) expect(html).toContain(alertCard(item));
    // each card carries its fix and the kc task as JSON, but no copy button (a report runs no script)
    expect(html).toContain('<h4>Fix: ');
    expect(html).toContain('<pre id="task-' + items[0]!.id + '" class="task-json">{');
    expect(html).not.toContain('<button');
  });

  it('renders a self-contained page with the summary, pain points, recommendations and operations', () => {
    const html = renderHtmlReport(smallAnalysisResult());
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<style>');
    for (const id of ['summary', 'painpoints', 'recommendations', 'operations']) expect(html).toContain(`<section id="${id}"`);
    expect(html).toContain('<td class="num">4821</td><td class="num">312</td><td class="num">2</td><td class="num">97</td><td class="num">3</td>');
    expect(html).toContain('<h3>High (1)</h3>');
    expect(html).toContain('<tr><td>wilson_lower</td><td class="num">0.427</td></tr>');
    expect(html).toContain('<li>failure rate of web_search below 5 % over 15 m</li>');
    expect(html).toContain('failure rate <strong>52 %</strong>');
  });

  it('loads nothing from outside and runs no script', () => {
    const html = renderHtmlReport(smallAnalysisResult());
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
    // the only URL is the SVG namespace, which is an identifier, not a fetch
    expect(html.match(/https?:\/\/[^"]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
  });

  it('escapes a <script> in the title and in pain-point text', () => {
    const result = smallAnalysisResult();
    const pp = result.painpoints[0]!;
    const html = renderHtmlReport(
      { ...result, painpoints: [{ ...pp, title: '<script>alert("pp")</script>', description: '"quoted" & <b>bold</b>' }] },
      { title: '<script>alert(1)</script>' },
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).toContain('&lt;script&gt;alert(&quot;pp&quot;)&lt;/script&gt;');
    expect(html).toContain('&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;');
  });

  it('draws failure-rate and p95 sparklines per operation with a text alternative', () => {
    const html = renderHtmlReport(smallAnalysisResult());
    expect(html).toContain('aria-label="kc-orchestrator execute_tool web_search web_search: failure rate 10 % → 80 %, max 80 % over 5 buckets"');
    expect(html).toContain('<span class="chart-text">failure rate 10 % → 80 %, max 80 % over 5 buckets</span>');
    expect(html).toContain('<span class="chart-text">p95 900 ms → 2.1 s, max 2.1 s over 5 buckets</span>');
    // failure rate on a 0..1 axis: 0.1 at the left, 0.8 at the right
    expect(html).toContain('points="2,27.2 41,21.6 80,13.2 119,10.4 158,7.6"');
    // an operation without a timeline gets no chart
    expect(html.match(/<svg/g)).toHaveLength(2);
  });

  it('is byte-identical on rerun', () => {
    expect(renderHtmlReport(smallAnalysisResult())).toBe(renderHtmlReport(smallAnalysisResult()));
  });
});

describe('sparklineSvg', () => {
  it('breaks the line at buckets without data and marks a lone point', () => {
    const svg = sparklineSvg([1, 2, null, 4], { label: 'x', width: 32, height: 12, max: 4 });
    expect(svg).toContain('<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="2,8 11.3,6"/>');
    expect(svg).toContain('<circle cx="30" cy="2" r="1.5" fill="#1f6feb"/>');
  });

  it('escapes its label', () => {
    expect(sparklineSvg([1], { label: '"><script>' })).toContain(`aria-label="${escapeHtml('"><script>')}"`);
  });
});
