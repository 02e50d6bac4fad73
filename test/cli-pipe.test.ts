import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

/** kc runs large enough that the JSON report spans many pipe buffers */
function runsFolder(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sidelight-pipe-')), 'runs');
  for (const run of generateKcRuns({ runs: 4, tasksPerRun: 60, seed: 7, timeScale: 0.05 })) {
    mkdirSync(join(dir, run.runId), { recursive: true });
    writeFileSync(join(dir, run.runId, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  return dir;
}

describe('sidelight analyze into a pipe', () => {
  it('writes the whole report into a pipe before it exits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', runsFolder(), '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += String(c)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(100_000); // far past a pipe's 64 KiB buffer
    const report = JSON.parse(stdout) as { painpoints: unknown[] };
    expect(report.painpoints.length).toBeGreaterThan(0);
  });

  it('ends quietly with exit 0 when the reader goes away (sidelight analyze … | head)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', runsFolder(), '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += String(c)));
    // read one chunk, then close our end as `head -c` would
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
