import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderMarkdownReport } from './markdown.js';
import { smallAnalysisResult } from '../../test/fixtures/report/painpoints.js';
import type { AnalysisResult } from '../model/analysis.js';

const GOLDEN = fileURLToPath(new URL('../../test/fixtures/report/report.golden.md', import.meta.url));

describe('renderMarkdownReport', () => {
  it('matches the committed golden report', () => {
    const md = renderMarkdownReport(smallAnalysisResult());
    // UPDATE_GOLDEN=1 rewrites the file after a deliberate change; review the diff.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, md);
    expect(md).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('shows the summary figures, time range and counts by severity', () => {
    const md = renderMarkdownReport(smallAnalysisResult());
    expect(md).toContain('| 4821 | 312 | 2 | 97 | 3 |');
    expect(md).toContain('- Time range: 2026-11-26T10:00:00.000Z – 2026-11-26T10:15:00.000Z');
    expect(md).toContain('- Pain points: 3 (high 1, medium 1, low 1)');
    expect(md).toContain('- Recommendations: 3');
  });

  it('lists pain points by severity, high first, with evidence metrics, exemplars and window', () => {
    const md = renderMarkdownReport(smallAnalysisResult());
    const high = md.indexOf('### High (1)');
    const medium = md.indexOf('### Medium (1)');
    const low = md.indexOf('### Low (1)');
    expect(high).toBeGreaterThan(0);
    expect(medium).toBeGreaterThan(high);
    expect(low).toBeGreaterThan(medium);
    expect(md).toContain('| wilson_lower | 0.428 |');
    expect(md).toContain('| by_error_class | rate_limit 58, timeout 4 |');
    expect(md).toContain('- Exemplar traces: `00000000000000000000000000000001`, `00000000000000000000000000000002`');
    expect(md).toContain('- Window: 5m · first seen 2026-11-26T10:00:00.000Z · last seen 2026-11-26T10:05:00.000Z');
  });

  it('shows recommendations in priority order with implementation, acceptance criteria and task constraints', () => {
    const result = smallAnalysisResult();
    const md = renderMarkdownReport(result);
    const first = result.recommendations[0];
    expect(md).toContain(`### 1. ${first?.title}`);
    expect(md).toContain('- [ ] failure rate of web_search below 5 % over 15 m');
    expect(md).toContain(`**kc task** \`${first?.task.id}\` · status todo · effort M`);
    expect(md).toContain("Don't:\n\n- Do not silence errors");
    expect(md).toContain('1. Put a token bucket in front of every web_search call: 12 requests/min');
  });

  it('is byte-identical on rerun and holds no clock reading unless given one', () => {
    const a = renderMarkdownReport(smallAnalysisResult());
    expect(renderMarkdownReport(smallAnalysisResult())).toBe(a);
    expect(a).not.toContain('Generated');
    expect(renderMarkdownReport(smallAnalysisResult(), { title: 'Run 42', generatedAt: '2026-11-27T00:00:00.000Z' })).toMatch(/^# Run 42\n\nGenerated 2026-11-27T00:00:00.000Z\n/);
  });

  it('keeps table cells intact and raw HTML inert', () => {
    const result = smallAnalysisResult();
    const pp = result.painpoints[0]!;
    const hostile: AnalysisResult = {
      ...result,
      painpoints: [{ ...pp, title: 'a <script>x</script>', evidence: { ...pp.evidence, metrics: { 'a|b': 'c|d' } } }],
    };
    const md = renderMarkdownReport(hostile, { title: '<img src=x onerror=alert(1)>' });
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<img');
    expect(md).toContain('| a\\|b | c\\|d |');
  });

  it('says so when there is nothing to report', () => {
    const result = smallAnalysisResult();
    const md = renderMarkdownReport({ ...result, painpoints: [], recommendations: [], statistics: { ...result.statistics, operations: [] } });
    expect(md).toContain('No pain points found.');
    expect(md).toContain('No recommendations.');
    expect(md).not.toContain('## Operations');
  });
});
