/**
 * Bundles the library entry (`sidelight`, dist/src/index.js as tsc emitted it) into one file in its
 * place, with rxjs's ES module build inside. Run by `npm run build` after tsc.
 *
 * Why: `import('sidelight')` sits on the path of a kc process's first call (README.md, Use from kc-orchestrator). Loading the
 * entry as tsc emits it resolves, reads and links about 120 of our modules plus rxjs's CommonJS
 * build (about 400 more files, since Node picks rxjs's `node` export); that file loading was most
 * of the import time measured (bench/native.bench.ts). One file of our code and the rxjs operators
 * it uses loads in a fraction of it. Every other dependency stays external (installed, deduplicated
 * with the host's copies, updated by npm), and `sidelight/service` and the CLI keep tsc's files:
 * they start once per process, and their file-relative assets stay where they are.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> };
/** bundled: rxjs (its ES module build) and tslib, which that build imports */
const INLINED = new Set(['rxjs', 'tslib']);
const external = ['node:*', ...Object.keys(pkg.dependencies).filter((d) => !INLINED.has(d)).flatMap((d) => [d, `${d}/*`])];

const entry = `${root}dist/src/index.js`;
const result = await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  // `neutral` with the `es2015` condition resolves rxjs to its ES module build (Node's `node`
  // condition would pick the CommonJS one); Node's own modules are all imported as `node:*`
  platform: 'neutral',
  conditions: ['es2015'],
  target: 'node20',
  external,
  legalComments: 'inline',
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
