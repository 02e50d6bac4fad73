/**
 * Change-driven judging (docs/engine.md) gives exactly the pain-point changes that judging every
 * series at every boundary gives: same changes, same order, same records, on a dense agent
 * workload (every detector busy at every boundary) and on a sparse kc history (hours between
 * runs, where change-driven judging skips almost every boundary).
 */
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { AGENT_CONFIG, denseAgentSpans } from './support/agent-signals-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

/** kc runs of 25 tasks, ten hours apart: a task every minute or two within a run, nothing between runs (long enough for findings of one run to leave every window and resolve). */
function sparseSpans(): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (let r = 0; r < 4; r++) {
    const [run] = generateKcRuns({ runs: 1, tasksPerRun: 25, seed: 100 + r, start: new Date(T0 + r * 10 * 3_600_000).toISOString() });
    const data = kcRunDataSchema.parse([{ ...run, runId: `run-${r}` }])[0]!;
    spans.push(...kcRunToSpans(data.events.map((e) => ({ ...e, runId: `run-${r}` })), { runId: `run-${r}` }));
  }
  return spans;
}

const kinds = (changes: readonly { painpoint: { state: string; kind: string } }[]) => new Set(changes.map((c) => `${c.painpoint.state} ${c.painpoint.kind}`));

describe('change-driven judging', () => {
  it('gives exactly the changes of judging every boundary on a dense workload', async () => {
    const spans = denseAgentSpans();
    const every = await analyzeSpans(spans, { judging: 'every', config: AGENT_CONFIG });
    const changed = await analyzeSpans(spans, { judging: 'changed', config: AGENT_CONFIG });
    // the agent kinds are there to compare: silent failures, loops, budgets
    const agentKinds = new Set(every.changes.map((c) => c.painpoint.kind).filter((k) => ['silent_failure', 'agent_loop', 'budget_exceeded'].includes(k)));
    expect(agentKinds).toEqual(new Set(['silent_failure', 'agent_loop', 'budget_exceeded']));
    const budgets = every.changes.filter((c) => c.painpoint.kind === 'budget_exceeded');
    expect(new Set(budgets.map((c) => c.painpoint.subject.operation))).toEqual(new Set(['spend per agent', 'spend per run', 'spend per model']));
    expect(budgets.filter((c) => c.painpoint.state === 'resolved').length).toBe(3);
    // a meaningful comparison: openings, updates and resolutions of several kinds
    expect(kinds(every.changes)).toEqual(expect.any(Set));
    expect([...kinds(every.changes)].filter((k) => k.startsWith('resolved')).length).toBeGreaterThanOrEqual(2);
    expect([...kinds(every.changes)].some((k) => k.startsWith('updated'))).toBe(true);
    expect(new Set(every.changes.map((c) => c.painpoint.kind)).size).toBeGreaterThanOrEqual(3);
    expect(changed.changes).toEqual(every.changes);
    expect(changed.painpoints).toEqual(every.painpoints);
  }, 120_000);

  it('gives exactly the changes of judging every boundary on a sparse kc history', async () => {
    const spans = sparseSpans();
    const every = await analyzeSpans(spans, { judging: 'every' });
    const changed = await analyzeSpans(spans, { judging: 'changed' });
    expect(every.changes.filter((c) => c.painpoint.state === 'resolved').length).toBeGreaterThanOrEqual(2);
    expect(new Set(every.changes.map((c) => c.painpoint.kind)).size).toBeGreaterThanOrEqual(3);
    expect(changed.changes).toEqual(every.changes);
  }, 120_000);
});
