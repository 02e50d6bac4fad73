/**
 * The package as users take it: `npm pack` (which runs `prepare`, a clean build), the tarball
 * installed into an empty folder outside the repository (from the local npm cache, no install
 * scripts: the package must work as shipped, nothing left to build), and the installed
 * `sidelight` binary run for real, as well as a sidecar started from it serving the live page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// packing builds and installing resolves ~100 packages from the cache: minutes on a busy 2-core machine
const SLOW = 600_000;

let work: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };

/** A sidecar from the installed package, asked for the live page and each of its assets. */
const LIVE_PAGE_SCRIPT = `
import { startService, parseConfigObject, components, DEFAULT_CONFIG } from 'sidelight/service';
const config = parseConfigObject({
  receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
  exporters: { jsonl: { path: 'out/painpoints.jsonl' } },
  service: { data_dir: 'data' },
}, components, DEFAULT_CONFIG);
const service = await startService(config, { logger: { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) } });
const http = service.endpoints.find((e) => e.startsWith('http://'));
const out = {};
for (const path of ['/ui', '/ui/assets/live-page.js', '/ui/assets/uPlot.iife.min.js', '/ui/assets/uPlot.min.css', '/ui/assets/sidelight.css']) {
  const res = await fetch(http + path);
  out[path] = { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
}
await service.shutdown();
console.log(JSON.stringify(out));
`;

/**
 * What a kc process does: import('sidelight') and one NativeAgentLightning call; then the CommonJS
 * modules that were loaded (ES modules are the bundle's imports, read from the file).
 */
const NATIVE_SCRIPT = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const { NativeAgentLightning } = await import('sidelight');
const r = await new NativeAgentLightning().invokeAgentLightning('# runs', JSON.parse(readFileSync('runs.json', 'utf8')));
const loaded = Object.keys(createRequire(import.meta.url).cache).map((f) => f.split('node_modules/').pop());
console.log(JSON.stringify({ success: r.success, painPoints: r.success ? r.painPoints.length : r.error, recommendations: r.success ? r.recommendations.length : 0, loaded }));
`;

/** Packages of the sidecar (receivers, exporters, config files, CLI) the analysis library must not load. */
const SIDECAR_ONLY = /^(@grpc\/|better-sqlite3|undici|@opentelemetry\/|yaml|commander|cli-progress|protobufjs|uplot|prom-client(\/index\.js)?$)/;

function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: SLOW, env: { ...process.env, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return r;
}

/** The installed binary, run by this Node from the app folder. */
function sidelight(...args: string[]): SpawnSyncReturns<string> {
  return run(process.execPath, [join(app, 'node_modules', '.bin', 'sidelight'), ...args], app);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sidelight-package-'));
  const pack = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0] as typeof packed;

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sidelight-user', version: '1.0.0', private: true }));
  const install = run('npm', ['install', join(work, packed.filename), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], app);
  expect(install.status, install.stderr).toBe(0);

  const runs = generateKcRuns({ runs: 3, tasksPerRun: 30, seed: 5, timeScale: 0.01 });
  writeFileSync(join(app, 'runs.json'), JSON.stringify(runs));
  for (const r of runs) {
    mkdirSync(join(app, 'runs', r.runId), { recursive: true });
    writeFileSync(join(app, 'runs', r.runId, 'events.jsonl'), r.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
}, SLOW);

// removing the installed package is thousands of files: more than the default 30 s hook time on a busy machine
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
}, SLOW);

describe('the packed package', () => {
  it('ships the build, the default config and examples, the license and the README, and nothing of the sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const needed of ['dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/ui/assets/live-page.js', 'config/sidelight.yaml', 'config/examples/jaeger.yaml', 'LICENSE', 'README.md', 'package.json']) {
      expect(paths).toContain(needed);
    }
    expect(paths.filter((p) => !/^(dist\/|config\/(sidelight\.yaml|examples\/)|LICENSE$|README\.md$|package\.json$)/.test(p))).toEqual([]);
    expect(paths.filter((p) => /\.test\.|\.map$|testdata|log-histogram/.test(p))).toEqual([]);
  });

  it('prints its version', () => {
    const r = sidelight('--version');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it('validates the default config it ships, and names the path of a bad key', () => {
    const ok = sidelight('validate', '--config', join(app, 'node_modules', 'sidelight', 'config', 'sidelight.yaml'));
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, 'OK\n', '']);
    writeFileSync(join(app, 'bad.yaml'), 'processors:\n  failure_rate: {min_sample: 5}\n');
    const bad = sidelight('validate', '--config', 'bad.yaml');
    expect([bad.status, bad.stdout, bad.stderr]).toEqual([1, '', 'sidelight: processors.failure_rate.min_sample: unknown key\n']);
  });

  it('analyzes kc run folders into a report and JSON with pain points and recommendations', () => {
    const md = sidelight('analyze', 'runs');
    expect(md.stderr).toBe('');
    expect(md.status).toBe(0);
    expect(md.stdout).toMatch(/^# Sidelight report\n/);
    const json = sidelight('analyze', 'runs', '--format', 'json');
    expect(json.status).toBe(0);
    const result = JSON.parse(json.stdout) as { painpoints: { kind: string; title: string }[]; recommendations: unknown[]; statistics: { spans: number } };
    expect(result.statistics.spans).toBeGreaterThan(90);
    expect(result.painpoints.map((p) => p.kind)).toContain('failure_rate');
    expect(result.recommendations.length).toBeGreaterThan(0);
    for (const p of result.painpoints) expect(md.stdout).toContain(p.title);
  });

  it("runs NativeAgentLightning from import('sidelight'), loading none of the sidecar's dependencies", () => {
    const r = run(process.execPath, ['--input-type=module', '-e', NATIVE_SCRIPT], app);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { success: boolean; painPoints: number; recommendations: number; loaded: string[] };
    expect(result.success).toBe(true);
    expect(result.painPoints).toBeGreaterThan(0);
    expect(result.recommendations).toBeGreaterThan(0);
    expect(result.loaded.filter((m) => SIDECAR_ONLY.test(m))).toEqual([]);
    // prom-client's metric classes only (src/telemetry/prom.ts), not its index
    expect(result.loaded).toContain('prom-client/lib/counter.js');
    // the entry loads one bundled file; their own imports are the analysis dependencies and Node's modules
    const entry = readFileSync(join(app, 'node_modules', 'sidelight', 'dist', 'src', 'index.js'), 'utf8');
    const imports = [...entry.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1] as string);
    expect(imports.length).toBeGreaterThan(3);
    expect(imports.filter((m) => !m.startsWith('node:') && (SIDECAR_ONLY.test(m) || m === 'rxjs'))).toEqual([]);
    expect(imports.some((m) => m.startsWith('./') || m.startsWith('../'))).toBe(false);
    const bundle = readFileSync(join(app, 'node_modules', 'sidelight', 'dist', 'src', 'library-bundle.cjs'), 'utf8');
    const required = [...new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1] as string))];
    expect(required).toContain('node:crypto');
    expect(required.filter((m) => !m.startsWith('node:') && !m.startsWith('prom-client/lib/'))).toEqual([]);
  });

  it('serves the live page and every asset from a sidecar started from it', () => {
    const r = run(process.execPath, ['--input-type=module', '-e', LIVE_PAGE_SCRIPT], app);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, { status: number; bytes: number }>;
    expect(Object.keys(result)).toHaveLength(5);
    const script = readFileSync(join(app, 'node_modules', 'sidelight', 'dist', 'src', 'ui', 'assets', 'live-page.js'));
    expect(result['/ui/assets/live-page.js']?.bytes).toBe(script.byteLength);
    for (const [path, got] of Object.entries(result)) {
      expect([path, got.status]).toEqual([path, 200]);
      expect(got.bytes).toBeGreaterThan(100);
    }
  });
});
