/**
 * Problems on kc run files (docs/kc-runs.md, docs/painpoints.md Problems): kc-orchestrator's runs,
 * written as kc writes them with its own noise (an occasional timeout retried once, a transient
 * failure kc does not record, a rare invalid request, `claude` spelled `Claude` in outcomes), through
 * the offline engine. One cause gives one problem, whose root names it.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans, type AnalyzeOutput } from '../src/library/analyze-spans.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { kcEventSchema } from '../src/kc/events.js';
import { SEVERITY_RANK } from '../src/model/painpoint.js';
import { kcRuns, type KcFault } from './quality/kc-traffic.js';

const AUTH_ERROR = '401 Unauthorized: invalid x-api-key';
const TIMEOUT = 'Request timed out after 300000ms';

/** claude's key revoked from the 4th run on: most tasks fall back to codex or gemini, the rest fail. */
const revokedKey: KcFault = (task) => {
  if (task.provider !== 'claude' || task.run < 3) return undefined;
  if (task.r() < 0.3) return { success: false, error: AUTH_ERROR, retries: 0, extraMs: 0 };
  return { success: true, error: null, retries: 0, fallback: { to: task.r() < 0.5 ? 'codex' : 'gemini', reason: AUTH_ERROR }, extraMs: 0 };
};

/** Migrate tasks time out on any provider from the 4th run on, retried once. */
const migrateTimeouts: KcFault = (task) =>
  task.title.startsWith('Migrate') && task.run >= 3 && task.r() < 0.6 ? { success: false, error: TIMEOUT, retries: 1, extraMs: 600_000 } : undefined;

/** The medium or high problems at the end, by root kind and subject value (merged ones are the problem they merged into). */
function alertingRoots(out: AnalyzeOutput): string[] {
  const alerted = new Set(out.problemChanges.filter((c) => SEVERITY_RANK[c.problem.severity] >= SEVERITY_RANK.medium).map((c) => c.problem.id));
  return out.problems
    .filter((p) => alerted.has(p.id) && p.state !== 'merged')
    .map((p) => `${p.root.kind} ${(p.root.subject.provider ?? p.root.subject.task_type ?? '?').toLowerCase()}`)
    .sort();
}

async function analyzeRuns(seed: number, faults: readonly KcFault[], runs = 9): Promise<AnalyzeOutput> {
  const made = kcRuns({ seed, runs, tasksPerRun: 25, start: '2026-12-01T06:00:00.000Z', pauseMs: 20 * 60_000, faults });
  const spans = made.runs.flatMap((r) => kcRunToSpans(r.events.map((e) => kcEventSchema.parse(e)), { runId: r.runId }));
  return analyzeSpans(spans);
}

describe('problems on kc run files', () => {
  it('a revoked key: falling back to another provider is no retry in vain, and the fallbacks join the provider failure problem from their first judgement', async () => {
    const out = await analyzeRuns(101, [revokedKey]);
    // the fallbacks are found: the fault is visible to the detectors
    expect(out.changes.some((c) => c.painpoint.kind === 'provider_fallback' && c.painpoint.subject.provider?.toLowerCase() === 'claude')).toBe(true);
    // kc never retried a 401 on claude itself: no retry_non_retryable at all
    expect(out.changes.filter((c) => c.painpoint.kind === 'retry_non_retryable')).toEqual([]);
    // every problem change holding the fallback pain point is rooted at claude's failures: the run's
    // trace completed in a watermark that closed several boundaries, and the grouping at the first
    // of them, where the fallback was judged, already read it
    const withFallback = out.problemChanges.filter((c) => c.members.some((m) => m.kind === 'provider_fallback'));
    expect(withFallback.length).toBeGreaterThan(0);
    for (const c of withFallback) expect([c.problem.root.kind, c.problem.root.subject.provider?.toLowerCase()]).toEqual(['failure_rate', 'claude']);
  });

  it("one problem per cause: a revoked key alone, a revoked key and timing-out Migrate tasks at once, nothing on kc's noise", async () => {
    expect(alertingRoots(await analyzeRuns(101, [revokedKey]))).toEqual(['failure_rate claude']);
    expect(alertingRoots(await analyzeRuns(102, [revokedKey, migrateTimeouts]))).toEqual(['failure_rate claude', 'failure_rate migrate']);
    expect(alertingRoots(await analyzeRuns(103, []))).toEqual([]);
  });
});
