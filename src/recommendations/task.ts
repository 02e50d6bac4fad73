/**
 * The kc-orchestrator task a recommendation carries (docs/outputs.md, Recommendations): its content
 * hash and field order, and the markdown parts its description shares between the pain-point and
 * the problem recommendations.
 */
import { createHash } from 'node:crypto';
import type { PainPointRecord } from '../model/painpoint.js';
import type { Category } from '../model/painpoint.js';
import type { Effort, KcTask, Priority } from '../model/recommendation.js';
import { subjectKey } from '../model/series.js';
import { evidenceEntries } from './format.js';

export type TaskContent = Pick<KcTask, 'title' | 'description' | 'acceptanceCriteria' | 'constraints' | 'outputs' | 'checkSteps' | 'effort' | 'dependencies'>;

/** sha256 over the task's content fields in a fixed order: equal content, equal hash. */
export function taskContentHash(content: TaskContent): string {
  const canonical = JSON.stringify([
    content.title,
    content.description,
    content.acceptanceCriteria,
    content.constraints.do,
    content.constraints.dont,
    content.outputs,
    content.checkSteps,
    content.effort,
    content.dependencies,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The task with `content`, in the field order docs/outputs.md lists, so the JSON reads the same as kc's own tasks. */
export function kcTask(
  id: string,
  content: TaskContent,
  metadata: { readonly recommendationId: string; readonly category: Category; readonly priority: Priority } & Readonly<Record<string, unknown>>,
): KcTask {
  return {
    id,
    title: content.title,
    description: content.description,
    acceptanceCriteria: content.acceptanceCriteria,
    constraints: content.constraints,
    outputs: content.outputs,
    checkSteps: content.checkSteps,
    status: 'todo',
    effort: content.effort,
    dependencies: content.dependencies,
    contentHash: taskContentHash(content),
    source: 'sidelight',
    metadata,
  };
}

/** "1. …\n2. …" */
export function numbered(steps: readonly string[]): string {
  return steps.map((s, i) => `${i + 1}. ${s}`).join('\n');
}

/** One markdown line per pain point: id, kind, severity, subject, window, time, every metric, exemplars. */
export function evidenceMarkdown(painpoints: readonly PainPointRecord[]): string {
  return painpoints
    .map((pp) => {
      const metrics = evidenceEntries(pp.evidence.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
      const exemplars = pp.evidence.exemplar_trace_ids.length > 0 ? pp.evidence.exemplar_trace_ids.join(', ') : 'none';
      return `- \`${pp.id}\` ${pp.kind} (${pp.severity}) on \`${subjectKey(pp.subject)}\`, window ${pp.evidence.window}, ${pp.first_seen} – ${pp.last_seen}: ${metrics}. Exemplar traces: ${exemplars}`;
    })
    .join('\n');
}

export const EFFORT_ORDER: readonly Effort[] = ['S', 'M', 'L', 'XL'];

/** The largest of `efforts`, `extra` steps up (capped at XL). */
export function largestEffort(efforts: readonly Effort[], extra = 0): Effort {
  const rank = Math.max(0, ...efforts.map((e) => EFFORT_ORDER.indexOf(e))) + extra;
  return EFFORT_ORDER[Math.min(rank, EFFORT_ORDER.length - 1)] as Effort;
}
