/**
 * `npm run bench`: runs every bench/*.bench.ts in turn, each in its own process, and prints what it
 * measured (`npm run bench -- sidecar` runs the ones whose name holds `sidecar`). Exits non-zero when
 * a bench fails; BENCH_TIMEOUT (seconds, default none) fails a bench that runs longer.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const timeoutSeconds = Number(process.env['BENCH_TIMEOUT'] ?? 0);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const failed: string[] = [];
for (const file of benches) {
  process.stdout.write(`\n== ${file}\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit', ...(timeoutSeconds > 0 ? { timeout: timeoutSeconds * 1_000 } : {}) });
  const seconds = ((performance.now() - t0) / 1_000).toFixed(1);
  if (r.status === 0) process.stdout.write(`(${file}: ${seconds} s)\n`);
  else {
    failed.push(file);
    process.stdout.write(`${file} FAILED after ${seconds} s (${r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `exit ${r.status}`})\n`);
  }
}
if (failed.length > 0) process.stdout.write(`\n${failed.length} bench(es) failed: ${failed.join(', ')}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;
