/**
 * One recommendation per problem (docs/outputs.md, Recommendations per problem), root first:
 *
 * - **Steps**: the root's fix, then what the symptoms add — the first symptom of each kind other
 *   than the root's and the earlier ones' (a symptom of the root's own kind is another view of the
 *   same fault: the root's fix is its fix) — then each contributing behaviour's own fix. A step
 *   already given is not repeated.
 * - **Acceptance criteria**: from those same members, one per measured quantity (and error class)
 *   per subject, the root's first, so targets never contradict.
 * - **Id**: `REC-` / `FIX-` + 12 hex of sha256 of the root pain point's id alone. Symptoms joining
 *   or leaving change the content (and the task's contentHash), not the id, so kc updates one task
 *   instead of filing a new one each time the problem spreads; a new root is a different fix and
 *   gets a new id. `pain_point_ids` lists the root first, then every other member in id order.
 * - Priority and category are the problem's, impact its score's level, effort the largest of the
 *   advice that gave steps.
 *
 * Pure: the same problem and members give byte-identical output.
 */
import { SEVERITY_RANK, type PainPointRecord, type Subject } from '../model/painpoint.js';
import type { ProblemMember, ProblemRecord } from '../model/problem.js';
import type { Recommendation } from '../model/recommendation.js';
import { subjectLabel } from '../model/series.js';
import { adviseFor, DEFAULT_ADVICE_OPTIONS, type Advice } from './advice/index.js';
import type { RecommendationOptions } from './build.js';
import { acceptanceCriteria, type AdvisedPainPoint } from './criteria.js';
import { compareText } from './format.js';
import { comparePainPoints } from './grouping.js';
import { recommendationId, taskId } from './ids.js';
import { DEFAULT_IMPACT_LEVELS, impactLevel } from './impact.js';
import { evidenceMarkdown, kcTask, largestEffort, numbered } from './task.js';

/** Members listed by name in a description before the rest are counted. */
const MAX_LISTED_MEMBERS = 10;

type Role = 'root' | 'symptom' | 'contributing';

interface Part extends AdvisedPainPoint {
  readonly role: Role;
  /** the steps this member adds (none: its fix is an earlier member's) */
  readonly steps: readonly string[];
}

const unique = (items: Iterable<string>): string[] => [...new Set(items)];

/** The latest record of each id (later last_seen wins; on a tie the later one). */
function latestById(members: readonly PainPointRecord[]): Map<string, PainPointRecord> {
  const byId = new Map<string, PainPointRecord>();
  for (const pp of members) {
    const seen = byId.get(pp.id);
    if (!seen || pp.last_seen >= seen.last_seen) byId.set(pp.id, pp);
  }
  return byId;
}

/** The records of `named`, except those in `skip` (each member takes one role), in lead order. */
function recordsOf(named: readonly ProblemMember[], byId: ReadonlyMap<string, PainPointRecord>, skip: ReadonlySet<string>): PainPointRecord[] {
  return named.flatMap((m) => (skip.has(m.id) ? [] : (byId.get(m.id) ?? []))).sort(comparePainPoints);
}

/** Root, symptoms, contributing, each with its advice and the steps it adds. */
function parts(root: PainPointRecord, symptoms: readonly PainPointRecord[], contributing: readonly PainPointRecord[], advise: (pp: PainPointRecord) => Advice): Part[] {
  const given = new Set<string>();
  const coveredKinds = new Set([root.kind]);
  const out: Part[] = [];
  const add = (painpoint: PainPointRecord, role: Role, gives: boolean) => {
    const advice = advise(painpoint);
    const steps = gives ? advice.steps.filter((s) => !given.has(s)) : [];
    steps.forEach((s) => given.add(s));
    out.push({ painpoint, advice, role, steps });
  };
  add(root, 'root', true);
  for (const pp of symptoms) {
    const newKind = !coveredKinds.has(pp.kind);
    coveredKinds.add(pp.kind);
    add(pp, 'symptom', newKind);
  }
  for (const pp of contributing) add(pp, 'contributing', true);
  return out;
}

/** What a member is about: its series' label, or the error class of a cluster across operations. */
function memberLabel(subject: Subject): string {
  return subject.operation === undefined && subject.error_class !== undefined ? subject.error_class : subjectLabel(subject);
}

const named = (pp: PainPointRecord) => `${pp.kind} on ${memberLabel(pp.subject)} (${pp.id})`;

function implementationText(all: readonly Part[]): string {
  const giving = all.filter((p) => p.steps.length > 0);
  if (giving.length === 1) return numbered(giving[0]?.steps ?? []);
  const heading: Record<Role, string> = {
    root: 'Fix the root',
    symptom: 'Then what it causes',
    contributing: 'What makes it worse (a cause of its own)',
  };
  return giving.map((p) => `${heading[p.role]}: ${named(p.painpoint)}\n${numbered(p.steps)}`).join('\n\n');
}

/** "- failure_rate on openai (medium)" lines, at most MAX_LISTED_MEMBERS, then "… and N more". */
function memberLines(members: readonly ProblemMember[], byId: ReadonlyMap<string, PainPointRecord>): string[] {
  const lines = members.slice(0, MAX_LISTED_MEMBERS).map((m) => {
    const severity = byId.get(m.id)?.severity;
    return `- ${m.kind} on ${memberLabel(m.subject)}${severity ? ` (${severity})` : ''}`;
  });
  if (members.length > MAX_LISTED_MEMBERS) lines.push(`- … and ${members.length - MAX_LISTED_MEMBERS} more`);
  return lines;
}

function descriptionText(problem: ProblemRecord, root: Part, byId: ReadonlyMap<string, PainPointRecord>): string {
  const sections = [root.advice.summary];
  // most severe first (a member without a record last), then by id
  const rank = (m: ProblemMember) => SEVERITY_RANK[byId.get(m.id)?.severity ?? 'low'] + (byId.has(m.id) ? 1 : 0);
  const order = (members: readonly ProblemMember[]) => [...members].sort((a, b) => rank(b) - rank(a) || compareText(a.id, b.id));
  if (problem.symptoms.length > 0) sections.push(`It also shows as:\n${memberLines(order(problem.symptoms), byId).join('\n')}`);
  if (problem.contributing.length > 0) sections.push(`Made worse by:\n${memberLines(order(problem.contributing), byId).join('\n')}`);
  return sections.join('\n\n');
}

/**
 * The recommendation for `problem`, from the records of its members (root, symptoms, contributing;
 * records of other pain points are ignored, a member without a record is listed but advises
 * nothing). Throws when the root's record is missing: there is nothing to recommend without it.
 */
export function buildProblemRecommendation(problem: ProblemRecord, members: readonly PainPointRecord[], options: RecommendationOptions = {}): Recommendation {
  const byId = latestById(members);
  const rootRecord = byId.get(problem.root.id);
  if (!rootRecord) throw new Error(`buildProblemRecommendation: the record of root ${problem.root.id} of problem ${problem.id} is not among the ${members.length} members given`);
  const adviceOptions = { acceptanceWindow: options.acceptanceWindow ?? DEFAULT_ADVICE_OPTIONS.acceptanceWindow };
  const symptoms = recordsOf(problem.symptoms, byId, new Set([rootRecord.id]));
  const contributing = recordsOf(problem.contributing, byId, new Set([rootRecord.id, ...symptoms.map((pp) => pp.id)]));
  const all = parts(rootRecord, symptoms, contributing, (pp) => adviseFor(pp, adviceOptions));
  const root = all[0] as Part;
  const giving = all.filter((p) => p.steps.length > 0);

  const id = recommendationId([rootRecord.id]);
  const others = unique([...problem.symptoms, ...problem.contributing].map((m) => m.id).filter((m) => m !== rootRecord.id)).sort(compareText);
  const painPointIds = [rootRecord.id, ...others];
  const title = root.advice.title;
  const description = descriptionText(problem, root, byId);
  const implementation = implementationText(all);
  const criteria = acceptanceCriteria(giving);
  const effort = largestEffort(giving.map((p) => p.advice.effort));
  const priority = problem.severity;
  const category = problem.category;
  const shown = giving.map((p) => p.painpoint);
  const unshown = others.filter((o) => !shown.some((pp) => pp.id === o));

  const content = {
    title,
    description: [
      `## Problem\n\n${problem.title}\n\n${description}`,
      `## Implementation\n\n${implementation}`,
      `## Evidence\n\n${evidenceMarkdown(shown)}${unshown.length > 0 ? `\n- also: ${unshown.map((o) => `\`${o}\``).join(', ')}` : ''}`,
    ].join('\n\n'),
    acceptanceCriteria: criteria,
    constraints: { do: unique(giving.flatMap((p) => p.advice.do)), dont: unique(giving.flatMap((p) => p.advice.dont)) },
    outputs: unique(giving.flatMap((p) => p.advice.outputs)),
    checkSteps: [
      "Run the project's test suite",
      ...criteria.map((c) => `Check in Sidelight's metrics or report: ${c}`),
      `Run sidelight analyze on a new run and confirm problem ${problem.id} (root ${rootRecord.id}) is no longer reported`,
    ],
    effort,
    dependencies: [] as string[],
  };
  return {
    id,
    pain_point_ids: painPointIds,
    title,
    priority,
    category,
    impact: impactLevel(problem.impact.score, options.impactLevels ?? DEFAULT_IMPACT_LEVELS),
    effort,
    description,
    implementation,
    acceptanceCriteria: criteria,
    task: kcTask(taskId([rootRecord.id]), content, { recommendationId: id, category, priority, problemId: problem.id, rootPainPointId: rootRecord.id }),
  };
}
