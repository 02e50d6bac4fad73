/**
 * The layer check: every import between folders must be allowed by the "may import" column of
 * docs/architecture.md, so the table is the rule and cannot drift from the code. Run by `npm run
 * lint` (and test/layers.test.ts); exits 1 with one line per violation.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface LayerRule {
  /** folder or file path, relative to the repository root (`src/model`, `src/index.ts`, `processors`) */
  readonly layer: string;
  /** layers it may import; undefined = anything */
  readonly mayImport: readonly string[] | undefined;
}

export interface Violation {
  readonly file: string;
  readonly imports: string;
  readonly message: string;
}

/** The folders whose code is layered (tests, benchmarks and examples sit on top and may import anything). */
export const LAYERED_ROOTS = ['src', 'processors', 'exporters'] as const;

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/\/$/, ''));

/**
 * Reads the "may import" table: a row is `| `layer`[, `layer`] | what lives there | may import |`,
 * the last cell naming layers in backticks, or saying `nothing of ours` or `anything`.
 */
export function parseLayerTable(markdown: string): LayerRule[] {
  const rules: LayerRule[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length < 3) continue;
    const last = cells[cells.length - 1] as string;
    const mayImport = /^anything\b/.test(last) ? undefined : /^nothing of ours\b/.test(last) ? [] : backticked(last);
    for (const layer of backticked(cells[0] as string)) rules.push({ layer, mayImport });
  }
  return rules;
}

/** The rule whose layer holds `file` (the longest matching path), or undefined. */
export function layerOf(file: string, rules: readonly LayerRule[]): LayerRule | undefined {
  let best: LayerRule | undefined;
  for (const r of rules) {
    if (file === r.layer || file.startsWith(`${r.layer}/`)) {
      if (!best || r.layer.length > best.layer.length) best = r;
    }
  }
  return best;
}

/** Relative module specifiers of a TypeScript source (static, dynamic, type-only and re-exports). */
export function relativeImports(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('.'));
}

/** Checks files (path relative to the root → source text) against the rules. */
export function findViolations(files: ReadonlyMap<string, string>, rules: readonly LayerRule[]): Violation[] {
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const own = layerOf(file, rules);
    if (!own) {
      out.push({ file, imports: '', message: `${file} is in no layer of docs/architecture.md's table` });
      continue;
    }
    for (const spec of relativeImports(source)) {
      const target = normalize(join(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
      const theirs = layerOf(target, rules);
      if (theirs === own) continue;
      if (own.mayImport === undefined) continue;
      if (theirs && own.mayImport.includes(theirs.layer)) continue;
      const allowed = own.mayImport.length > 0 ? own.mayImport.join(', ') : 'nothing of ours';
      out.push({ file, imports: target, message: `${file} imports ${target} (${theirs?.layer ?? 'no layer'}); ${own.layer} may import ${allowed}` });
    }
  }
  return out;
}

function sourcesUnder(root: string, folder: string, into: Map<string, string>): void {
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) sourcesUnder(root, path, into);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) into.set(path, readFileSync(join(root, path), 'utf8'));
  }
}

/** Every violation in the repository at `root`. */
export function checkRepository(root: string): Violation[] {
  const rules = parseLayerTable(readFileSync(join(root, 'docs', 'architecture.md'), 'utf8'));
  const files = new Map<string, string>();
  for (const folder of LAYERED_ROOTS) sourcesUnder(root, folder, files);
  return findViolations(files, rules);
}

const invoked = process.argv[1] !== undefined && relative(process.argv[1], fileURLToPath(import.meta.url)) === '';
if (invoked) {
  const violations = checkRepository(join(dirname(fileURLToPath(import.meta.url)), '..'));
  for (const v of violations) process.stderr.write(`layers: ${v.message}\n`);
  process.exitCode = violations.length > 0 ? 1 : 0;
}
