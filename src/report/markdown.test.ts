import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderMarkdownReport } from './markdown.js';
import { problemAnalysisResult, smallAnalysisResult } from '../../test/fixtures/report/painpoints.js';
import type { AnalysisResult } from '../model/analysis.js';
import type { ProblemRecord } from '../model/problem.js';

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

  it('leads with the problems: each with its root, spread, impact and fix, its members listed, the pain points after as detail', () => {
    const result = problemAnalysisResult();
    const md = renderMarkdownReport(result);
    const [rateLimited, slower] = result.problems as [ProblemRecord, ProblemRecord];
    expect(md).toContain('- Problems: 2 (high 1, medium 1, low 0)\n- Pain points: 6 (high 3, medium 3, low 0)');
    const problems = md.indexOf('## Problems');
    const painPoints = md.indexOf('## Pain points');
    expect(problems).toBeGreaterThan(md.indexOf('## Summary'));
    expect(painPoints).toBeGreaterThan(problems);
    // high first, then medium; each titled by its spread
    const first = md.indexOf('#### web_search rate-limited (429): 52 % of calls fail; 1 caller and 1 error class affected');
    expect(first).toBeGreaterThan(md.indexOf('### High (1)'));
    expect(md.indexOf('#### gpt-4.1 p95 regressed')).toBeGreaterThan(md.indexOf('### Medium (1)'));
    expect(md.indexOf('### Medium (1)')).toBeGreaterThan(first);
    const section = md.slice(first, md.indexOf('### Medium (1)'));
    expect(section).toContain(`\`${rateLimited.id}\` · reliability · open`);
    expect(section).toContain('- Root: `failure_rate` on **web_search** (service=kc-orchestrator, operation=execute_tool web_search, tool=web_search) — web_search fails 52 % of calls');
    expect(section).toContain('- Spread: 3 symptoms: failure_rate on researcher, retry_storm on web_search, error_cluster on error class rate_limit; contributing: retry_no_backoff on web_search');
    expect(section).toContain(`- Impact: 2 runs, 40 traces, 22 min wasted, 0 tokens wasted · score ${rateLimited.impact.score.toFixed(2)}`);
    const fix = result.recommendations.find((r) => r.id === rateLimited.recommendation_ids[0]);
    expect(section).toContain(`- Fix: **${fix?.title}** (\`${fix?.id}\` · priority high`);
    // the fix's steps, root first, as lists under their headings
    expect(section).toMatch(/\*failure_rate on web_search \(pp-[0-9a-f]{16}\):\*\n\n1\. Put a token bucket in front of every web_search call/);
    // the members, root first, with severity and title from their records
    expect(section).toContain(`  - root \`${rateLimited.root.id}\` · high · failure_rate on web_search — web_search fails 52 % of calls`);
    expect(section).toContain(`  - symptom \`${rateLimited.symptoms[0]?.id}\` · high · failure_rate on researcher — researcher fails 38 % of tasks`);
    expect(section).toContain(`  - contributing \`${rateLimited.contributing[0]?.id}\` · medium · retry_no_backoff on web_search`);
    expect(md).toContain(`- Spread: the root alone`);
    expect(md.slice(md.indexOf('#### gpt-4.1 p95 regressed'))).toContain(`\`${slower.id}\``);
    // each member pain point is still reported in full below
    for (const pp of result.painpoints) expect(md.slice(painPoints)).toContain(`#### ${pp.title}`);
  });

  it('has no problems section when the analysis holds none (no problems stage)', () => {
    const md = renderMarkdownReport(smallAnalysisResult());
    expect(md).not.toContain('## Problems');
    expect(md).not.toContain('- Problems:');
  });
});
