/**
 * `npm run quality`: runs the fault-injection workload suite through the offline engine and prints
 * its table and totals (markdown). `--only NAME` (repeatable; a substring) runs some workloads;
 * `--verbose` lists every alert.
 */
import { parseArgs } from 'node:util';
import { evaluate, type Evaluation } from './evaluate.js';
import { alertList, table, totalsTable } from './report.js';
import { WORKLOADS } from './workloads.js';

const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, verbose: { type: 'boolean', default: false } } });
const only = values.only ?? [];
const chosen = WORKLOADS.filter((w) => only.length === 0 || only.some((o) => w.name.includes(o)));
if (chosen.length === 0) {
  process.stderr.write(`quality: no workload matches ${only.join(', ')}\n`);
  process.exit(2);
}

const evaluations: Evaluation[] = [];
for (const w of chosen) {
  const t0 = performance.now();
  const e = await evaluate(w);
  evaluations.push(e);
  process.stderr.write(`quality: ${w.name}: ${e.spans} spans, ${Math.round(performance.now() - t0)} ms\n`);
  if (values.verbose) process.stdout.write(alertList(e) + '\n');
}
process.stdout.write(table(evaluations) + '\n' + totalsTable(evaluations));
