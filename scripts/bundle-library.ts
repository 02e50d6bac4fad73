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
import { build, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> };
/**
 * bundled: rxjs (its ES module build), tslib, which that build imports, and zod: its package entry
 * loads ~150 files (every locale among them); inlined, `import('sidelight')` took ~100 ms less CPU
 * (bench/native.bench.ts, fresh process). Also the small libraries the engine computes with, whose
 * own loading cost more than their code: @datadog/sketches-js (a CommonJS tree of ~15 files, ~25
 * ms of CPU to resolve and load alone on a loaded machine), simple-statistics (one 167 KB ES
 * module compiled whole for the two functions used: ~12 ms) and flatqueue (~5 ms). Nothing is
 * exchanged with the host through them. prom-client stays external: a host's registry
 * (createPipeline's `metrics`) takes our metrics, so both must be the same package.
 */
const INLINED = new Set(['rxjs', 'tslib', 'zod', '@datadog/sketches-js', 'simple-statistics', 'flatqueue']);
const external = ['node:*', ...Object.keys(pkg.dependencies).filter((d) => !INLINED.has(d)).flatMap((d) => [d, `${d}/*`])];

/**
 * zod's namespace re-exports every locale (`z.locales`), which a bundler cannot leave out; the
 * library never selects one, and zod's classic API configures English from its own module, so
 * the locale index is only English. Half the inlined zod, and its parse at import.
 */
const englishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: `export { default as en } from 'zod/v4/locales/en.js';`, loader: 'js', resolveDir: root }));
  },
};

/**
 * DDSketch's protobuf encoding (`toProto`, `fromProto`) loads its compiled schema and protobufjs
 * when called; Sidelight never calls it, and bundled, that lazy `require` would pull protobufjs in.
 * In its place a module that says why it is missing, should a host ever reach it.
 */
const sketchWithoutProto: Plugin = {
  name: 'ddsketch-without-proto',
  setup(b) {
    b.onResolve({ filter: /\/proto\/compiled$/ }, (args) => (/[\\/]@datadog[\\/]sketches-js[\\/]/.test(args.importer) ? { path: 'ddsketch-proto', namespace: 'ddsketch-proto' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'ddsketch-proto' }, () => ({
      contents: `throw new Error('the sidelight library bundle leaves out DDSketch protobuf encoding');`,
      loader: 'js',
    }));
  },
};

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
  // packages without an `exports` map (@datadog/sketches-js): their ES module entry, else `main`
  mainFields: ['module', 'main'],
  target: 'node20',
  external,
  legalComments: 'inline',
  logLevel: 'warning',
  plugins: [englishOnly, sketchWithoutProto],
});
if (result.errors.length > 0) process.exit(1);
