/**
 * The live page's static files, read once at start from the installed package: the stylesheet
 * shared with the report, the page's script (src/ui/assets/live-page.js, plain browser JavaScript
 * with no build step of its own; the package build copies it next to this module in dist/) and
 * uPlot's browser build, resolved from node_modules where npm installed it. Nothing is fetched
 * from the internet; each file is served with an ETag.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PAGE_CSS } from '../report/style.js';
import { ASSET_PATHS } from './page.js';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

function asset(body: Buffer | string, contentType: string): Asset {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: buf, contentType, etag: `"${createHash('sha256').update(buf).digest('hex').slice(0, 20)}"` };
}

/** Every asset by its URL path; a file that cannot be read is left out and reported through `onMissing`. */
export function loadAssets(onMissing: (path: string, err: unknown) => void): Map<string, Asset> {
  const out = new Map<string, Asset>([[ASSET_PATHS.css, asset(PAGE_CSS, 'text/css; charset=utf-8')]]);
  const require = createRequire(import.meta.url);
  const files: [string, () => string, string][] = [
    [ASSET_PATHS.script, () => fileURLToPath(new URL('./assets/live-page.js', import.meta.url)), 'text/javascript; charset=utf-8'],
    [ASSET_PATHS.uplot, () => require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    [ASSET_PATHS.uplotCss, () => require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  for (const [path, locate, type] of files) {
    try {
      out.set(path, asset(readFileSync(locate()), type));
    } catch (err) {
      onMissing(path, err);
    }
  }
  return out;
}
