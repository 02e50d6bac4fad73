import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalyze } from '../src/analyze/command.js';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
// the tsx loader by path: the process runs in a temp folder, where `--import tsx` would not resolve
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
let dir: string;

/** `sidelight analyze …` as a real process (tsx, so no build is needed). */
function sidelight(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, ['--import', TSX, MAIN, 'analyze', ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-analyze-proc-'));
  for (const run of generateKcRuns({ runs: 4, tasksPerRun: 15, seed: 5, timeScale: 0.01 })) {
    await mkdir(join(dir, '.kc-orchestrator', 'runs', run.runId), { recursive: true });
    await writeFile(join(dir, '.kc-orchestrator', 'runs', run.runId, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  await mkdir(join(dir, 'bad'), { recursive: true });
  await writeFile(join(dir, 'bad', 'events.jsonl'), '{"eventType":"run_start","timestamp":"2026-01-10T10:00:00Z"}\n\n{"eventType":"task_execution","timestamp":"nope"}\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sidelight analyze as a process', () => {
  it('prints byte-identical JSON on every run, the same as the in-process command', async () => {
    const a = sidelight(['.kc-orchestrator/runs', '--format', 'json']);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const b = sidelight(['.kc-orchestrator/runs', '--format', 'json']);
    expect(b.stdout).toBe(a.stdout);
    let inProcess = '';
    await runAnalyze(['.kc-orchestrator/runs'], { format: 'json' }, { stdout: { write: (s: string) => (inProcess += s) }, stderr: { write: () => true }, isTTY: false, cwd: dir });
    expect(a.stdout).toBe(inProcess);
    // two process starts and three analyses: on a loaded CI machine this outlasts the default 30 s
  }, 180_000);

  it('exits 1 with one line naming file and line for a bad events file', () => {
    const r = sidelight(['bad/events.jsonl']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('analyze: bad/events.jsonl:3: invalid kc event: timestamp: expected an ISO-8601 timestamp (got "nope")\n');
  });
});
