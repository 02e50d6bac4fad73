import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { checkRepository, findViolations, parseLayerTable, relativeImports } from '../scripts/check-layers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TABLE = `
| folder | what | may import |
| --- | --- | --- |
| \`src/stats\` | sketches | nothing of ours |
| \`src/model\` | records | \`src/stats\` |
| \`src/recommendations\`, \`src/report\` | advice | \`src/model\` |
| \`src/pipeline\` | engine | \`src/model\`, \`src/report\` |
| \`src/index.ts\` | surface | anything |
`;

describe('the layer check', () => {
  it('reads each row of the may-import table, several layers to a row', () => {
    expect(parseLayerTable(TABLE)).toEqual([
      { layer: 'src/stats', mayImport: [] },
      { layer: 'src/model', mayImport: ['src/stats'] },
      { layer: 'src/recommendations', mayImport: ['src/model'] },
      { layer: 'src/report', mayImport: ['src/model'] },
      { layer: 'src/pipeline', mayImport: ['src/model', 'src/report'] },
      { layer: 'src/index.ts', mayImport: undefined },
    ]);
  });

  it('finds static, type-only, re-exported and dynamic relative imports', () => {
    const source = [
      "import { a } from '../model/a.js';",
      "import type { B } from './b.js';",
      "export { c } from '../stats/c.js';",
      "const d = await import('../report/d.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(relativeImports(source).sort()).toEqual(['../model/a.js', '../report/d.js', '../stats/c.js', './b.js']);
  });

  it('flags a lower layer importing a higher one, and a file in no layer', () => {
    const rules = parseLayerTable(TABLE);
    const files = new Map([
      ['src/model/span.ts', "import type { Sketch } from '../stats/sketch.js';\nimport { engine } from '../pipeline/engine.js';"],
      ['src/report/markdown.ts', "import { advice } from '../recommendations/advice.js';"],
      ['src/pipeline/engine.ts', "import { x } from './parts.js';\nimport { md } from '../report/markdown.js';"],
      ['src/index.ts', "export * from './pipeline/engine.js';"],
      ['src/elsewhere/x.ts', ''],
    ]);
    expect(findViolations(files, rules).map((v) => v.message)).toEqual([
      'src/model/span.ts imports src/pipeline/engine.ts (src/pipeline); src/model may import src/stats',
      'src/report/markdown.ts imports src/recommendations/advice.ts (src/recommendations); src/report may import src/model',
      "src/elsewhere/x.ts is in no layer of docs/architecture.md's table",
    ]);
  });

  it('passes on this repository: every import follows docs/architecture.md', () => {
    expect(checkRepository(ROOT).map((v) => v.message)).toEqual([]);
  });
});
