/**
 * The live page works from the published package, not only from this checkout: `npm pack`, then
 * the tarball unpacked as node_modules/sidelight next to its dependencies (linked from this
 * checkout's node_modules, so nothing is downloaded), and a sidecar started from it serves /ui and
 * every asset. Uses dist/ as `npm ci` (prepare) built it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SCRIPT = `
import { startService, parseConfigObject, components, DEFAULT_CONFIG } from 'sidelight';
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

describe('the packed sidelight package', () => {
  it('serves the live page and its assets once installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-pack-'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/src/ui/assets/live-page.js');
    expect(files).toContain('dist/src/ui/live-page.js');
    const modules = join(dir, 'node_modules');
    mkdirSync(modules);
    execFileSync('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', modules]);
    renameSync(join(modules, 'package'), join(modules, 'sidelight'));
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== '.bin' && name !== 'sidelight' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    }
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as Record<string, { status: number; bytes: number }>;
    for (const [path, r] of Object.entries(result)) {
      expect([path, r.status]).toEqual([path, 200]);
      expect(r.bytes).toBeGreaterThan(100);
    }
  }, 90_000);
});
