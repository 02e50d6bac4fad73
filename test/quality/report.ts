/**
 * The suite's table (markdown, as the README shows it) and its totals: medium/high alerts per
 * injected fault and on healthy workloads, before (pain points) and after (problems).
 */
import { alertLabel, delayText, type Evaluation, type ViewScore } from './evaluate.js';
import type { Workload } from './workloads.js';

function count(v: ViewScore): string {
  const high = v.alerts.filter((a) => a.severity === 'high').length;
  return `${v.alerts.length} (${high} high)`;
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** What a view's matched alerts name, per fault; `—` on a healthy workload. */
function delays(v: ViewScore): string {
  return v.matches.length === 0 ? '—' : v.matches.map(delayText).join(', ');
}

function roots(v: ViewScore): string {
  return v.alerts.length === 0 ? 'none' : [...new Set(v.alerts.map(alertLabel))].join('; ');
}

function escape(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}

export function table(evaluations: readonly Evaluation[]): string {
  const head = [
    'workload',
    'faults',
    'pain points (med/high)',
    'faults named',
    'delay',
    'problems (med/high)',
    'problem roots',
    'one per fault',
    'delay',
  ];
  const rows = evaluations.map((e) => {
    const pp = e.painPoints;
    const pb = e.problems;
    return [
      `${e.workload.name} (${e.workload.source})`,
      e.workload.faults.length === 0 ? 'healthy' : e.workload.faults.map((f) => f.label).join(' + '),
      count(pp),
      e.workload.faults.length === 0 ? '—' : yesNo(pp.named),
      delays(pp),
      pb === undefined ? 'n/a' : count(pb),
      pb === undefined ? 'n/a' : roots(pb),
      pb === undefined ? 'n/a' : yesNo(pb.target),
      pb === undefined ? 'n/a' : delays(pb),
    ];
  });
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(escape).join(' | ')} |`).join('\n') + '\n';
}

export interface Totals {
  readonly faults: number;
  /** medium/high alerts on the workloads with faults */
  readonly faultAlerts: number;
  /** faults named by an alert raised after they started */
  readonly faultsNamed: number;
  readonly healthyWorkloads: number;
  readonly healthyAlerts: number;
  /** workloads meeting the target (docs/quality.md) */
  readonly targetMet: number;
  readonly workloads: number;
}

export function totals(evaluations: readonly Evaluation[], view: (e: Evaluation) => ViewScore | undefined): Totals | undefined {
  let faults = 0;
  let faultAlerts = 0;
  let faultsNamed = 0;
  let healthyWorkloads = 0;
  let healthyAlerts = 0;
  let targetMet = 0;
  for (const e of evaluations) {
    const v = view(e);
    if (v === undefined) return undefined;
    if (v.target) targetMet++;
    if (e.workload.faults.length === 0) {
      healthyWorkloads++;
      healthyAlerts += v.alerts.length;
      continue;
    }
    faults += e.workload.faults.length;
    faultAlerts += v.alerts.length;
    faultsNamed += v.matches.filter((m) => m.alert !== undefined).length;
  }
  return { faults, faultAlerts, faultsNamed, healthyWorkloads, healthyAlerts, targetMet, workloads: evaluations.length };
}

function totalsLine(name: string, t: Totals | undefined): string {
  if (t === undefined) return `| ${name} | n/a | n/a | n/a | n/a |`;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const perFault = t.faults === 0 ? '—' : `${(t.faultAlerts / t.faults).toFixed(1)} (${t.faultAlerts} for ${plural(t.faults, 'fault')})`;
  const healthy = t.healthyWorkloads === 0 ? '—' : `${t.healthyAlerts} on ${plural(t.healthyWorkloads, 'workload')}`;
  const named = t.faults === 0 ? '—' : `${t.faultsNamed} of ${t.faults}`;
  return `| ${name} | ${perFault} | ${healthy} | ${named} | ${t.targetMet} of ${t.workloads} |`;
}

/** Alerts per fault and on healthy workloads, before and after, over the OTLP workloads, the kc ones and all. */
export function totalsTable(evaluations: readonly Evaluation[]): string {
  const lines = ['| view | med/high alerts per fault | alerts on healthy workloads | faults named | workloads on target |', '| --- | --- | --- | --- | --- |'];
  const sources: [string, (w: Workload) => boolean][] = [
    ['OTLP', (w) => w.source === 'otlp'],
    ['kc run files', (w) => w.source === 'kc'],
    ['all', () => true],
  ];
  for (const [label, keep] of sources) {
    const subset = evaluations.filter((e) => keep(e.workload));
    if (subset.length === 0) continue;
    lines.push(totalsLine(`before (pain points), ${label}`, totals(subset, (e) => e.painPoints)));
    lines.push(totalsLine(`after (problems), ${label}`, totals(subset, (e) => e.problems)));
  }
  return lines.join('\n') + '\n';
}

/** Every alert of a workload, for --verbose. */
export function alertList(e: Evaluation): string {
  const lines = [`${e.workload.name}: ${e.workload.description} (${e.spans} spans)`];
  const views: [string, ViewScore | undefined][] = [
    ['pain points', e.painPoints],
    ['problems', e.problems],
  ];
  for (const [name, v] of views) {
    if (v === undefined) {
      lines.push(`  ${name}: n/a`);
      continue;
    }
    lines.push(`  ${name}:`);
    for (const a of [...v.alerts].sort((x, y) => x.at - y.at)) {
      const matched = v.matches.find((m) => m.alert?.id === a.id);
      lines.push(`    ${new Date(a.at).toISOString().slice(0, 19)}Z ${a.severity.padEnd(6)} ${alertLabel(a)}${matched ? `  ← ${matched.fault.label}` : ''}  — ${a.title}`);
    }
  }
  return lines.join('\n') + '\n';
}
