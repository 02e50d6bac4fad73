import { chmod, copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeAgentLightning, legacyResultSchema, legacyResponseSchema, toLegacyResult, type LegacyResult } from '../src/library/native-agent-lightning.js';
import { problemAnalysisResult } from './fixtures/report/painpoints.js';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

const FAKE_AGL = fileURLToPath(new URL('./fixtures/kc/fake-agl.mjs', import.meta.url));
const NOW = () => new Date('2026-02-01T12:00:00.000Z');
const RUNS = generateKcRuns({ runs: 12, tasksPerRun: 20, seed: 7, timeScale: 0.01 });

let binDir: string;
beforeAll(async () => {
  // a PATH folder holding the fake CLI under the legacy name
  binDir = await mkdtemp(join(tmpdir(), 'sidelight-agl-bin-'));
  await copyFile(FAKE_AGL, join(binDir, 'agl'));
  await chmod(join(binDir, 'agl'), 0o755);
});
afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

function ok(r: unknown): LegacyResult {
  const parsed = legacyResultSchema.safeParse(r);
  if (!parsed.success) throw new Error(`not a legacy result: ${JSON.stringify(r).slice(0, 300)}`);
  return parsed.data;
}

describe('NativeAgentLightning input validation', () => {
  it('answers {success:false} naming the zod path of a bad event instead of throwing', async () => {
    const bad = structuredClone(RUNS.slice(0, 1));
    (bad[0]?.events[2] as Record<string, unknown>)['executionTime'] = 'slow';
    const r = await new NativeAgentLightning().invokeAgentLightning('# s', bad);
    expect(legacyResponseSchema.parse(r)).toEqual({ success: false, error: expect.stringMatching(/^invalid input: runData\[0\]\.events\[2\]\.executionTime: /) as unknown });
  });

  it('answers {success:false} for runData that is not a list, and for a missing runId', async () => {
    const agl = new NativeAgentLightning();
    expect(await agl.invokeAgentLightning('# s', { runs: [] })).toEqual({ success: false, error: 'invalid input: runData: Invalid input: expected array, received object' });
    expect(await agl.invokeAgentLightning('# s', [{ events: [] }])).toEqual({ success: false, error: expect.stringContaining('runData[0].runId') as unknown });
    expect(await agl.invokeAgentLightning(42 as unknown as string, [])).toEqual({ success: false, error: expect.stringContaining('summaryReport') as unknown });
  });

  it('answers {success:false} for an invalid config and reports it in validateConfiguration', async () => {
    const agl = new NativeAgentLightning({ config: { processors: { no_such_processor: {} } } });
    const r = await agl.invokeAgentLightning('# s', RUNS.slice(0, 1));
    expect(r.success).toBe(false);
    expect(agl.validateConfiguration()).toEqual({ valid: false, mode: 'native', errors: [expect.stringContaining('processors.no_such_processor') as unknown] });
  });
});

describe('NativeAgentLightning native mode', () => {
  it('analyzes kc runData in process into the legacy shape kc consumes', async () => {
    // no CLI anywhere: native mode must not need one
    const agl = new NativeAgentLightning({ now: NOW, cliPath: 'agl-not-installed', env: { PATH: '' } });
    expect(agl.validateConfiguration()).toEqual({ valid: true, errors: [], mode: 'native' });
    const r = ok(await agl.invokeAgentLightning('# kc summary', RUNS));

    const tasks = RUNS.flatMap((run) => run.events.filter((e) => e['eventType'] === 'task_execution'));
    const fallbacks = RUNS.flatMap((run) => run.events.filter((e) => e['eventType'] === 'provider_fallback'));
    expect(r.statistics).toMatchObject({
      totalRuns: 12,
      totalTasks: tasks.length,
      successfulTasks: tasks.filter((e) => e['success'] === true).length,
      failedTasks: tasks.filter((e) => e['success'] === false).length,
      totalRetries: tasks.reduce((n, e) => n + (e['retryCount'] as number), 0),
      totalFallbacks: fallbacks.length,
      totalEvents: RUNS.reduce((n, run) => n + run.events.length, 0),
    });
    expect(r.patterns.find((p) => p['type'] === 'provider_fallback')).toMatchObject({ fromProvider: 'codex', toProvider: 'claude', frequency: fallbacks.length, reasons: { rate_limit: fallbacks.length } });
    expect(r.patterns.find((p) => p['type'] === 'recurring_error' && p['errorClass'] === 'rate_limit')?.['providers']).toEqual({ codex: 2 * fallbacks.length });

    // codex attempts are rate limited: a failure_rate pain point on the attempt series of codex
    expect(r.painPoints).toContainEqual(
      expect.objectContaining({ type: 'failure_rate', subject: { service: 'kc-orchestrator', operation: 'kc.task.attempt', provider: 'codex' } }),
    );
    expect(r.painPoints.every((p) => p.frequency === p.affectedRuns.length && p.frequency > 0)).toBe(true);
    expect(r.recommendations.length).toBeGreaterThan(0);
    for (const rec of r.recommendations) {
      const task = rec['task'] as { contentHash: string; constraints: { do: string[]; dont: string[] } };
      expect(rec.metadata).toEqual({ source: 'sidelight', generatedAt: '2026-02-01T12:00:00.000Z', contentHash: task.contentHash });
      expect(rec.constraints).toEqual(task.constraints);
      expect(rec.id).toMatch(/^REC-/);
    }
    expect(r.metadata).toMatchObject({ source: 'sidelight', mode: 'native', runsAnalyzed: 12, generatedAt: '2026-02-01T12:00:00.000Z' });
  });

  it('gives the same answer for the same runs', async () => {
    const agl = new NativeAgentLightning({ now: NOW });
    const strip = (r: unknown) => ({ ...ok(r), metadata: { ...ok(r).metadata, durationMs: 0 } });
    expect(strip(await agl.invokeAgentLightning('#', RUNS.slice(0, 4)))).toEqual(strip(await new NativeAgentLightning({ now: NOW }).invokeAgentLightning('#', RUNS.slice(0, 4))));
  });

  it('never counts run_start or task_selection as failures', async () => {
    const r = ok(await new NativeAgentLightning().invokeAgentLightning('#', RUNS));
    expect(r.painPoints.some((p) => (p['subject'] as { operation?: string }).operation === 'kc.run')).toBe(false);
  });
});

describe('kc output built from problems', () => {
  const meta = { generatedAt: '2026-02-01T12:00:00.000Z', mode: 'native' as const, durationMs: 1 };

  it('gives kc one pain point per cause, its root with the symptoms folded in, and the recommendations the problems name', () => {
    const result = problemAnalysisResult();
    const r = ok(toLegacyResult(result, [], [], meta));
    const [rateLimited, slower] = result.problems;
    // six pain points, two causes: kc files two
    expect(result.painpoints).toHaveLength(6);
    expect(r.painPoints.map((p) => [p.id, p.type, p.severity])).toEqual([
      [rateLimited?.root.id, 'failure_rate', 'high'],
      [slower?.root.id, 'latency_regression', 'medium'],
    ]);
    const first = r.painPoints[0] as Record<string, unknown>;
    expect(first).toMatchObject({
      title: 'web_search rate-limited (429): 52 % of calls fail; 1 caller and 1 error class affected',
      rootTitle: 'web_search fails 52 % of calls',
      category: 'reliability',
      problemId: rateLimited?.id,
      frequency: 2,
      affectedRuns: ['run-2026-11-26-a', 'run-2026-11-26-b'],
      subject: rateLimited?.root.subject,
      impact: rateLimited?.impact,
    });
    expect((first['evidence'] as { metrics: Record<string, unknown> }).metrics['wilson_lower']).toBe(0.4281);
    expect((first['symptoms'] as { type: string; title: string; severity: string }[]).map((m) => [m.type, m.severity, m.title])).toEqual([
      ['failure_rate', 'high', 'researcher fails 38 % of tasks'],
      ['retry_storm', 'high', 'web_search retry storm'],
      ['error_cluster', 'medium', 'rate_limit errors on 3 operations'],
    ]);
    expect((first['contributing'] as { type: string }[]).map((m) => m.type)).toEqual(['retry_no_backoff']);
    // one recommendation per cause, each as kc reads it
    expect(r.recommendations.map((rec) => rec.id)).toEqual([rateLimited?.recommendation_ids[0], slower?.recommendation_ids[0]]);
    expect(r.recommendations[0]?.title).toBe('Rate-limit web_search calls client-side and honour Retry-After');
    expect(r.recommendations[0]?.metadata).toMatchObject({ source: 'sidelight', generatedAt: meta.generatedAt });
    // the statistics count both
    expect(r.statistics['sidelight']).toMatchObject({ problems: { high: 1, medium: 1, low: 0 }, painpoints: { high: 3, medium: 3, low: 0 } });
  });

  it('leaves out a recommendation no problem names, and keeps the pain points as they are when there are no problems', () => {
    const result = problemAnalysisResult();
    const named = new Set(result.problems.flatMap((p) => p.recommendation_ids));
    const extra = { ...result.recommendations[1]!, id: 'REC-000000000000' };
    const r = ok(toLegacyResult({ ...result, recommendations: [...result.recommendations, extra] }, [], [], meta));
    expect(r.recommendations.every((rec) => named.has(rec.id))).toBe(true);
    const withoutProblems = ok(toLegacyResult({ ...result, problems: [] }, [], [], meta));
    expect(withoutProblems.painPoints.map((p) => p.id)).toEqual(result.painpoints.map((p) => p.id));
    expect(withoutProblems.recommendations).toHaveLength(2);
  });
});

describe('NativeAgentLightning external mode', () => {
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, PATH: `${binDir}:${process.env['PATH'] ?? ''}`, ...extra });

  it('spawns the CLI found on PATH with the prepared files and reads its JSON', async () => {
    const agl = new NativeAgentLightning({ mode: 'external', env: env(), now: NOW });
    expect(agl.validateConfiguration()).toEqual({ valid: true, errors: [], mode: 'external', cli: { command: 'agl', resolvedPath: join(binDir, 'agl') } });
    const r = ok(await agl.invokeAgentLightning('# kc summary report', RUNS.slice(0, 2)));
    expect(r.recommendations).toHaveLength(1);
    expect(r.recommendations[0]).toMatchObject({
      id: 'AL-1',
      description: 'summary had 19 chars',
      effort: 'M',
      constraints: { do: ['backoff'], dont: ['hammer'] },
      metadata: { source: 'agent-lightning', generatedAt: '2026-02-01T12:00:00.000Z' },
    });
    expect(r.patterns[0]?.frequency).toBe(RUNS[0]!.events.length + RUNS[1]!.events.length);
    expect(r.statistics.totalRuns).toBe(2);
    expect(r.metadata).toMatchObject({ mode: 'external', model: 'fake' });
  });

  it('honours AGENT_LIGHTNING_CLI and skips log lines before the JSON', async () => {
    const agl = new NativeAgentLightning({ mode: 'external', env: env({ AGENT_LIGHTNING_CLI: FAKE_AGL, FAKE_AGL_MODE: 'noisy', PATH: '' }) });
    expect(agl.cliPath).toBe(FAKE_AGL);
    expect(ok(await agl.invokeAgentLightning('#', RUNS.slice(0, 1))).recommendations[0]?.id).toBe('AL-1');
  });

  it('reads markdown output into recommendations', async () => {
    const agl = new NativeAgentLightning({ mode: 'external', cliPath: FAKE_AGL, env: env({ FAKE_AGL_MODE: 'markdown' }), now: NOW });
    const r = ok(await agl.invokeAgentLightning('#', RUNS.slice(0, 3)));
    expect(r.recommendations.map((x) => [x.title, x.priority, x.effort, x.category])).toEqual([
      ['Add exponential backoff to codex calls', 'high', 'S', 'reliability'],
      ['Split long migration tasks', 'low', 'L', 'general'],
    ]);
    expect(r.recommendations[0]).toMatchObject({
      description: 'Codex is rate limited in 3 run(s); retries happen immediately.',
      impact: 'major',
      implementation: 'Wrap provider calls in a retry helper with jittered exponential backoff.',
      acceptanceCriteria: ['no retry within 1 s of a 429', 'retry gaps grow at least 1.5x per attempt'],
      constraints: { do: ['honour Retry-After'], dont: ['retry invalid requests'] },
    });
    expect(r.recommendations[1]?.description).toBe('Migration tasks take over five minutes and time out.');
  });

  it('answers {success:false} when the CLI is missing or fails', async () => {
    const missing = new NativeAgentLightning({ mode: 'external', cliPath: 'agl-not-installed', env: env() });
    expect(missing.validateConfiguration().valid).toBe(false);
    expect(await missing.invokeAgentLightning('#', RUNS.slice(0, 1))).toEqual({
      success: false,
      error: 'Agent Lightning CLI "agl-not-installed" not found or not executable (set AGENT_LIGHTNING_CLI, or use mode: native)',
    });
    const failing = new NativeAgentLightning({ mode: 'external', env: env({ FAKE_AGL_MODE: 'fail' }) });
    expect(await failing.invokeAgentLightning('#', RUNS.slice(0, 1))).toEqual({ success: false, error: 'Agent Lightning CLI agl exited with 3: ValueError: model not loaded' });
  });

  it('kills a CLI that does not answer within timeoutMs', async () => {
    const agl = new NativeAgentLightning({ mode: 'external', cliPath: FAKE_AGL, env: env({ FAKE_AGL_MODE: 'hang' }), timeoutMs: 300 });
    expect(await agl.invokeAgentLightning('#', RUNS.slice(0, 1))).toEqual({ success: false, error: `Agent Lightning CLI ${FAKE_AGL}: timed out after 300 ms` });
  });

  it('prepares summary.md and runs.json as the old external path did', async () => {
    const agl = new NativeAgentLightning();
    const files = await agl.prepareInputFiles(RUNS.slice(0, 2), '# report');
    expect(await readFile(files.summaryPath, 'utf8')).toBe('# report');
    expect(JSON.parse(await readFile(files.runsPath, 'utf8'))).toEqual(RUNS.slice(0, 2));
    const generated = await agl.prepareInputFiles(RUNS.slice(0, 1));
    expect(await readFile(generated.summaryPath, 'utf8')).toContain('## Run run-0001');
    await files.cleanup();
    await generated.cleanup();
    await expect(stat(files.dir)).rejects.toThrow(/ENOENT/);
  });

  it('reads "Recommendation N:" sections without a Recommendations parent heading', () => {
    const md = [
      '# Analysis',
      'Some intro.',
      '## Recommendation 1: Cache provider health checks',
      '- **Priority**: critical',
      '- **Effort**: XL',
      'Health checks run before every task.',
      '#### Acceptance Criteria',
      '- one check per minute',
      '## Recommendation 2 - Trim prompts',
      'Prompts repeat the whole history.',
      '## Appendix',
      'not a recommendation',
    ].join('\n');
    const r = ok(new NativeAgentLightning({ now: NOW }).parseAgentLightningOutput(md));
    expect(r.recommendations.map((x) => [x.title, x.priority, x.effort, x.description, x.acceptanceCriteria])).toEqual([
      ['Cache provider health checks', 'critical', 'XL', 'Health checks run before every task.', ['one check per minute']],
      ['Trim prompts', 'medium', 'M', 'Prompts repeat the whole history.', []],
    ]);
  });

  it('parses output that is neither JSON nor markdown recommendations as a failure', () => {
    const agl = new NativeAgentLightning();
    expect(agl.parseAgentLightningOutput('')).toEqual({ success: false, error: 'empty output from Agent Lightning' });
    expect(agl.parseAgentLightningOutput('hello')).toEqual({ success: false, error: 'output is neither JSON nor markdown with recommendation sections' });
    expect(agl.parseAgentLightningOutput('{"success": false, "error": "boom"}')).toEqual({ success: false, error: 'boom' });
  });
});
