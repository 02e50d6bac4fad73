/**
 * `sidelight run` as a real child process for crash tests: started from the built CLI when dist/
 * is newer than every source file (as after `npm ci`), else through tsx; killed with any signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_DIRS = ['src', 'exporters', 'processors'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** node arguments that run the CLI: the build when it is up to date (4× faster to start), else the sources. */
export function cliArgs(): string[] {
  const built = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (existsSync(built) && Math.max(...SOURCE_DIRS.map((d) => newestSource(join(ROOT, d)))) <= statSync(built).mtimeMs) return [built];
  return ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
}

export interface SidecarProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** the OTLP/HTTP URL from the start-up line ('' without an OTLP/HTTP receiver) */
  readonly httpUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the sidecar and resolves once its start-up line names its endpoints. */
export async function startSidecar(configPath: string, timeoutMs = 60_000): Promise<SidecarProcess> {
  const child = spawn(process.execPath, [...cliArgs(), 'run', '--config', configPath], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + timeoutMs;
  let line: string | undefined;
  // complete lines only: the last piece may still be arriving
  while ((line = stderr.split('\n').slice(0, -1).find((l) => l.includes(' running: '))) === undefined) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sidecar exited before starting: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sidecar did not start within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const httpUrl = /running: (https?:\/\/[^,;\s]+)/.exec(line)?.[1] ?? '';
  return {
    child,
    stderr: () => stderr,
    httpUrl,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
