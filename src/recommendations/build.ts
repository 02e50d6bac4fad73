/**
 * Recommendations from pain points (docs/outputs.md, Recommendations): one per root group, with its kc task, ordered by
 * priority (severity, then impact score, then id). Pure: same pain points in, byte-identical
 * recommendations out. Used offline (analyze, library) and by the streaming recommend processor.
 */
import type { PainPointRecord } from '../model/painpoint.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import type { Effort, Recommendation } from '../model/recommendation.js';
import { subjectKey, subjectLabel } from '../model/series.js';
import { adviseFor, DEFAULT_ADVICE_OPTIONS, type Advice } from './advice/index.js';
import { acceptanceCriteria as criteriaOf } from './criteria.js';
import { compareText } from './format.js';
import { comparePainPoints, groupPainPoints, painPointScore, rootSubject } from './grouping.js';
import { recommendationId, taskId } from './ids.js';
import { DEFAULT_IMPACT_LEVELS, impactLevel, type ImpactLevelThresholds } from './impact.js';
import { evidenceMarkdown, kcTask, largestEffort, numbered } from './task.js';

export interface RecommendationOptions {
  /** window the acceptance criteria are judged over, as text (default "15 m") */
  readonly acceptanceWindow?: string;
  /** impact score thresholds for moderate / major / critical */
  readonly impactLevels?: ImpactLevelThresholds;
}

/** A group touching this many distinct series needs changes in as many places: one effort step more. */
const WIDE_GROUP_SUBJECTS = 3;

const unique = (items: Iterable<string>): string[] => [...new Set(items)];

/** The last state of each pain point (later last_seen wins; on a tie the later record), open ones only. */
export function latestOpen(painpoints: readonly PainPointRecord[]): PainPointRecord[] {
  const byId = new Map<string, PainPointRecord>();
  for (const pp of painpoints) {
    const seen = byId.get(pp.id);
    if (!seen || pp.last_seen >= seen.last_seen) byId.set(pp.id, pp);
  }
  return [...byId.values()].filter((pp) => pp.state !== 'resolved');
}

function groupEffort(group: readonly PainPointRecord[], advice: readonly Advice[]): Effort {
  const subjects = new Set(group.map((pp) => subjectKey(rootSubject(pp.subject))));
  return largestEffort(
    advice.map((a) => a.effort),
    subjects.size >= WIDE_GROUP_SUBJECTS ? 1 : 0,
  );
}

function implementationText(group: readonly PainPointRecord[], advice: readonly Advice[]): string {
  if (group.length === 1) return numbered(advice[0]?.steps ?? []);
  // Steps already given for an earlier pain point of the group are not repeated.
  const given = new Set<string>();
  const sections: string[] = [];
  group.forEach((pp, i) => {
    const steps = (advice[i]?.steps ?? []).filter((s) => !given.has(s));
    steps.forEach((s) => given.add(s));
    if (steps.length > 0) sections.push(`${pp.kind} on ${subjectLabel(pp.subject)} (${pp.id}):\n${numbered(steps)}`);
  });
  return sections.join('\n\n');
}

function descriptionText(group: readonly PainPointRecord[], advice: readonly Advice[]): string {
  if (group.length === 1) return advice[0]?.summary ?? '';
  const lines = group.map((pp, i) => `- ${pp.id} (${pp.kind}, ${pp.severity}): ${advice[i]?.summary ?? ''}`);
  return `${group.length} related pain points share a root:\n${lines.join('\n')}`;
}

export interface ScoredRecommendation {
  readonly recommendation: Recommendation;
  /** the highest impact score in the group, for ordering */
  readonly score: number;
}

/** The recommendation of one group; `group` must be sorted lead first (groupPainPoints does). */
export function buildGroupRecommendation(group: readonly PainPointRecord[], options: RecommendationOptions = {}): ScoredRecommendation {
  const adviceOptions = { acceptanceWindow: options.acceptanceWindow ?? DEFAULT_ADVICE_OPTIONS.acceptanceWindow };
  const members = [...group].sort(comparePainPoints);
  const lead = members[0];
  if (!lead) throw new Error('buildGroupRecommendation needs at least one pain point');
  const advice = members.map((pp) => adviseFor(pp, adviceOptions));
  const ids = members.map((pp) => pp.id).sort(compareText);
  const id = recommendationId(ids);
  const score = Math.max(...members.map(painPointScore));
  const title = advice[0]?.title ?? lead.title;
  const description = descriptionText(members, advice);
  const implementation = implementationText(members, advice);
  const acceptanceCriteria = criteriaOf(members.map((painpoint, i) => ({ painpoint, advice: advice[i] as Advice })));
  const effort = groupEffort(members, advice);
  const priority = lead.severity;
  const category = lead.category;

  const taskDescription = [
    `## Problem\n\n${description}`,
    `## Implementation\n\n${implementation}`,
    `## Evidence\n\n${evidenceMarkdown(members)}`,
  ].join('\n\n');
  const content = {
    title,
    description: taskDescription,
    acceptanceCriteria,
    constraints: { do: unique(advice.flatMap((a) => a.do)), dont: unique(advice.flatMap((a) => a.dont)) },
    outputs: unique(advice.flatMap((a) => a.outputs)),
    checkSteps: [
      "Run the project's test suite",
      ...acceptanceCriteria.map((c) => `Check in Sidelight's metrics or report: ${c}`),
      `Run sidelight analyze on a new run and confirm ${ids.join(', ')} ${ids.length === 1 ? 'is' : 'are'} no longer reported`,
    ],
    effort,
    dependencies: [] as string[],
  };
  const task = kcTask(taskId(ids), content, { recommendationId: id, category, priority });
  const recommendation: Recommendation = {
    id,
    pain_point_ids: ids,
    title,
    priority,
    category,
    impact: impactLevel(score, options.impactLevels ?? DEFAULT_IMPACT_LEVELS),
    effort,
    description,
    implementation,
    acceptanceCriteria,
    task,
  };
  return { recommendation, score };
}

/** The recommendation title a pain point would lead with, for the near-identical-title relation. */
export function leadTitle(pp: PainPointRecord, options: RecommendationOptions = {}): string {
  return adviseFor(pp, { acceptanceWindow: options.acceptanceWindow ?? DEFAULT_ADVICE_OPTIONS.acceptanceWindow }).title;
}

/** Priority order: severity, then impact score, then id for stability. */
export function compareScored(a: ScoredRecommendation, b: ScoredRecommendation): number {
  return (
    SEVERITY_RANK[b.recommendation.priority] - SEVERITY_RANK[a.recommendation.priority] ||
    b.score - a.score ||
    compareText(a.recommendation.id, b.recommendation.id)
  );
}

/**
 * One recommendation per group of open pain points sharing a root, ordered by priority.
 * Resolved pain points make none; a pain point given twice counts once (its latest state).
 */
export function buildRecommendations(painpoints: readonly PainPointRecord[], options: RecommendationOptions = {}): Recommendation[] {
  const open = latestOpen(painpoints);
  return groupPainPoints(open, (pp) => leadTitle(pp, options))
    .map((group) => buildGroupRecommendation(group, options))
    .sort(compareScored)
    .map((s) => s.recommendation);
}
