/**
 * kc-orchestrator run files (`.kc-orchestrator/runs/<runId>/events.jsonl` and `summary.json`) for
 * the workload suite: runs of tasks on three providers with kc's own noise — an occasional timeout
 * or rate limit retried once on the same provider, a rare validation error — and kc's habit of
 * spelling one provider two ways: `claude` where it selects a task or falls back, `Claude` where
 * it reports a task's outcome. A fault is a hook deciding a task's fate.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { between, intBetween, pick, rng, type Rng } from './random.js';

export const KC_TITLES = ['Refactor payment service', 'Add tests for checkout', 'Fix flaky login', 'Migrate database schema', 'Update dependencies', 'Document the API'] as const;
const PROVIDERS = ['codex', 'claude', 'gemini'] as const;

/** How a task went: the attempts kc made and how the last one ended. */
export interface KcTaskFate {
  readonly success: boolean;
  readonly error: string | null;
  readonly retries: number;
  /** a fallback to another provider, with its reason (the attempt on the selected provider failed with it) */
  readonly fallback?: { readonly to: string; readonly reason: string };
  /** extra time the failed attempts took (ms) */
  readonly extraMs: number;
}

export interface KcTask {
  readonly title: string;
  readonly provider: string;
  /** index of the run (0-based) */
  readonly run: number;
  readonly r: Rng;
}

export type KcFault = (task: KcTask) => KcTaskFate | undefined;

function backgroundFate(task: KcTask): KcTaskFate {
  const { r } = task;
  const x = r();
  if (x < 0.02) {
    // a timeout, retried once on the same provider
    const ok = r() < 0.6;
    return { success: ok, error: ok ? null : 'Request timed out after 300000ms', retries: 1, extraMs: 300_000 };
  }
  // a transient failure kc does not record, retried once
  if (x < 0.035) return { success: true, error: null, retries: 1, extraMs: between(r, 10_000, 40_000) };
  if (x < 0.043) return { success: false, error: 'Invalid request: tool schema validation failed', retries: 0, extraMs: 0 };
  return { success: true, error: null, retries: 0, extraMs: 0 };
}

export interface KcRunsOptions {
  readonly seed: number;
  readonly runs: number;
  readonly tasksPerRun: number;
  /** ISO start of the first run */
  readonly start: string;
  /** ms between the end of a run and the start of the next */
  readonly pauseMs: number;
  readonly faults?: readonly KcFault[];
}

export interface KcRunFile {
  readonly runId: string;
  readonly events: Record<string, unknown>[];
  readonly summary: Record<string, unknown>;
}

/** Spelling kc uses when it reports a task (`Claude`), beside the one it selects with (`claude`). */
const REPORTED_AS: Readonly<Record<string, string>> = { claude: 'Claude' };

export function kcRuns(o: KcRunsOptions): { runs: KcRunFile[]; runStarts: number[] } {
  const r = rng(o.seed);
  let t = Date.parse(o.start);
  const runs: KcRunFile[] = [];
  const runStarts: number[] = [];
  for (let run = 0; run < o.runs; run++) {
    const runId = `run-${String(run + 1).padStart(3, '0')}`;
    runStarts.push(t);
    const iso = () => new Date(t).toISOString();
    const events: Record<string, unknown>[] = [{ eventType: 'run_start', timestamp: iso(), runId, project: 'shop', command: 'run', options: {}, nodeVersion: 'v20.11.0', platform: 'linux', arch: 'x64' }];
    const runStart = t;
    let completed = 0;
    let failed = 0;
    let retries = 0;
    let fallbacks = 0;
    const used = new Set<string>();
    for (let k = 0; k < o.tasksPerRun; k++) {
      const taskId = `${runId}-T${k + 1}`;
      const title = pick(r, KC_TITLES.map((x) => [x, 1] as const));
      const provider = pick(r, PROVIDERS.map((p) => [p, 1] as const));
      t += between(r, 300, 1_500);
      events.push({ eventType: 'task_selection', timestamp: iso(), runId, taskId, taskTitle: title, provider });
      const task: KcTask = { title, provider, run, r };
      const fate = (o.faults ?? []).map((f) => f(task)).find((x) => x !== undefined) ?? backgroundFate(task);
      const start = t;
      let final: string = provider;
      if (fate.fallback) {
        t += between(r, 2_000, 8_000);
        events.push({ eventType: 'provider_fallback', timestamp: iso(), runId, fromProvider: provider, toProvider: fate.fallback.to, reason: fate.fallback.reason });
        used.add(provider);
        final = fate.fallback.to;
      }
      t += between(r, 40_000, 150_000) + fate.extraMs;
      used.add(final);
      events.push({
        eventType: 'task_execution',
        timestamp: iso(),
        runId,
        taskId,
        taskTitle: title,
        provider: REPORTED_AS[final] ?? final,
        success: fate.success,
        executionTime: t - start,
        retryCount: fate.retries,
        fallbackCount: fate.fallback ? 1 : 0,
        error: fate.error,
      });
      if (fate.success) completed++;
      else failed++;
      retries += fate.retries;
      if (fate.fallback) fallbacks++;
    }
    t += between(r, 500, 2_000);
    const summary = { runId, tasksCompleted: completed, tasksFailed: failed, totalRetries: retries, totalFallbacks: fallbacks, duration: t - runStart };
    events.push({ eventType: 'run_completion', timestamp: iso(), ...summary, providersUsed: [...used].sort() });
    runs.push({ runId, events, summary });
    t += o.pauseMs + intBetween(r, 0, 600_000);
  }
  return { runs, runStarts };
}

/** Writes runs as kc does: `<dir>/.kc-orchestrator/runs/<runId>/events.jsonl` and `summary.json`. Returns the runs folder. */
export async function writeKcRuns(dir: string, runs: readonly KcRunFile[]): Promise<string> {
  const root = join(dir, '.kc-orchestrator', 'runs');
  for (const run of runs) {
    const folder = join(root, run.runId);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await writeFile(join(folder, 'summary.json'), JSON.stringify(run.summary, null, 2));
  }
  return root;
}
