import { describe, expect, it } from 'vitest';
import { renderMarkdownReport } from './markdown.js';
import { renderHtmlReport } from './html.js';
import { painPointPerKind, smallAnalysisResult } from '../../test/fixtures/report/painpoints.js';

describe('reports: the cost of the waste', () => {
  it('states what the waste cost where it is known, and nothing where it is not', () => {
    const loop = painPointPerKind().find((p) => p.kind === 'agent_loop');
    const result = { ...smallAnalysisResult(), painpoints: loop ? [loop] : [] };
    expect(renderMarkdownReport(result)).toContain('- Impact: 1 run, 1 trace, 1.6 min wasted, 118000 tokens wasted ($0.31)');
    expect(renderHtmlReport(result)).toContain('1.6 min wasted, 118000 tokens wasted ($0.31) · score');
    expect(renderMarkdownReport(smallAnalysisResult())).not.toMatch(/tokens wasted \(\$/);
  });
});
