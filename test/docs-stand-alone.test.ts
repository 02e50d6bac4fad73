/**
 * The repository documents itself: every relative link in its markdown resolves to a file inside
 * it, and code comments cite the project's own docs, not a contract kept elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && existsSync(join(ROOT, f)));

describe('the repository stands alone', () => {
  it('has every relative markdown link point at a file inside the repository', () => {
    const broken: string[] = [];
    for (const file of tracked.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target)) continue; // http:, mailto:
        const path = resolve(ROOT, dirname(file), target);
        if (relative(ROOT, path).startsWith('..') || !existsSync(path)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('cites no specification outside the repository', () => {
    // built from parts, so this file does not cite what it looks for
    const outside = new RegExp(['SPEC ' + '\u00a7', 'SPEC\\.md', '\\.\\./shared/'].join('|'));
    const cites: string[] = [];
    for (const file of tracked.filter((f) => /\.(ts|md|ya?ml|mjs|json)$/.test(f) && f !== 'package-lock.json')) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      if (outside.test(text)) cites.push(file);
    }
    expect(cites).toEqual([]);
  });

  it('ships a LICENSE matching package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
  });
});
