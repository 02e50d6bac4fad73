/**
 * Runs a workload through the offline engine (analyzeSpans, as `sidelight analyze` does) and scores
 * two views of what it raised: medium or high pain points (every one an alert today, the "before")
 * and medium or high problems (the "after", docs/quality.md; n/a until the problems stage lands). Each
 * fault is matched to the first alert of its view whose root names it, raised once the fault had
 * started; the detection delay is the event time from the fault's start to that alert.
 */
import { analyzeSpans, type AnalyzeOutput } from '../../src/library/analyze-spans.js';
import { SEVERITY_RANK, type PainPointKind, type Severity, type Subject } from '../../src/model/painpoint.js';
import type { AnalysisResult } from '../../src/model/analysis.js';
import { subjectLabel } from '../../src/model/series.js';
import { namesRoot, type Fault, type Named, type Workload } from './workloads.js';

export interface Alert extends Named {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  /** event time (epoch ms) it first alerted, i.e. was first medium or high */
  readonly at: number;
}

/**
 * The problems stage's record (ProblemRecord, src/model/problem.ts) read through the few fields
 * scored here, so the evaluator compiles and runs before `AnalysisResult` has `problems`.
 */
interface ProblemView {
  readonly id: string;
  readonly state: string;
  readonly severity: Severity;
  readonly title: string;
  readonly root: { readonly id: string; readonly kind: PainPointKind; readonly subject: Subject; readonly title: string };
  readonly first_seen: string;
  readonly last_seen: string;
}

interface ProblemsOutput {
  readonly problems?: readonly ProblemView[];
  /** every problem state change in order, if the output carries them (as `changes` for pain points) */
  readonly problemChanges?: readonly { readonly problem: ProblemView }[];
}

const alerting = (s: Severity) => SEVERITY_RANK[s] >= SEVERITY_RANK.medium;

/** Medium or high pain points, each once, at the event time it first became medium or high (a change's last_seen is its judgement's time). */
export function painPointAlerts(out: AnalyzeOutput): Alert[] {
  const seen = new Map<string, Alert>();
  for (const { painpoint: p } of out.changes) {
    if (!alerting(p.severity) || seen.has(p.id)) continue;
    seen.set(p.id, { id: p.id, kind: p.kind, subject: p.subject, severity: p.severity, title: p.title, at: Date.parse(p.last_seen) });
  }
  return [...seen.values()];
}

/**
 * Medium or high problems, or undefined when the output has no problems (n/a). A problem merged
 * into another is that other problem, not an alert of its own. The time it first alerted comes
 * from the problem change stream when the output has one, else from its first_seen.
 */
export function problemAlerts(out: AnalysisResult): Alert[] | undefined {
  const { problems, problemChanges } = out as ProblemsOutput;
  if (!Array.isArray(problems)) return undefined;
  const firstAlerted = new Map<string, number>();
  for (const { problem: p } of problemChanges ?? []) {
    if (alerting(p.severity) && !firstAlerted.has(p.id)) firstAlerted.set(p.id, Date.parse(p.last_seen));
  }
  return problems
    .filter((p) => alerting(p.severity) && p.state !== 'merged')
    .map((p) => ({ id: p.id, kind: p.root.kind, subject: p.root.subject, severity: p.severity, title: p.title, at: firstAlerted.get(p.id) ?? Date.parse(p.first_seen) }));
}

export interface FaultMatch {
  readonly fault: Fault;
  /** the first alert naming the fault raised once it had started; undefined when none did */
  readonly alert?: Alert;
}

export interface ViewScore {
  readonly alerts: readonly Alert[];
  readonly matches: readonly FaultMatch[];
  /** every fault named by an alert of its own */
  readonly named: boolean;
  /** the target (docs/quality.md): exactly one alert per fault, each naming its fault; none on a healthy workload */
  readonly target: boolean;
}

/** Matches each fault to its own alert (an alert names one fault at most), earliest first. */
export function scoreView(workload: Workload, alerts: readonly Alert[]): ViewScore {
  const byTime = [...alerts].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const taken = new Set<string>();
  const matches = workload.faults.map((fault): FaultMatch => {
    const alert = byTime.find((a) => !taken.has(a.id) && a.at >= fault.start && fault.roots.some((r) => namesRoot(r, a)));
    if (alert === undefined) return { fault };
    taken.add(alert.id);
    return { fault, alert };
  });
  const named = matches.every((m) => m.alert !== undefined);
  return { alerts, matches, named, target: named && alerts.length === workload.faults.length };
}

export interface Evaluation {
  readonly workload: Workload;
  readonly spans: number;
  readonly painPoints: ViewScore;
  /** undefined until the analysis output has problems */
  readonly problems: ViewScore | undefined;
}

export async function evaluate(workload: Workload): Promise<Evaluation> {
  const spans = await workload.spans();
  const out = await analyzeSpans(spans);
  const problems = problemAlerts(out);
  return {
    workload,
    spans: spans.length,
    painPoints: scoreView(workload, painPointAlerts(out)),
    problems: problems === undefined ? undefined : scoreView(workload, problems),
  };
}

/** `kind subject` as the table shows an alert's root: the error class, else the subject's value, with its service when not the orchestrator. */
export function alertLabel(a: Named): string {
  const s = a.subject;
  const where = s.service !== 'kc-orchestrator' && s.service !== '*' ? `${s.service} ` : '';
  return `${a.kind} ${where}${s.error_class ?? subjectLabel(s)}`;
}

/** Event time from the fault's start to its alert, e.g. `40 s`; `missed` when no alert named it. */
export function delayText(m: FaultMatch): string {
  if (m.alert === undefined) return 'missed';
  const s = Math.round((m.alert.at - m.fault.start) / 1_000);
  return s < 120 ? `${s} s` : `${Math.round(s / 6) / 10} min`;
}
