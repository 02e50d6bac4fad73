/** Recommendations and the kc-orchestrator task they carry (docs/outputs.md, Recommendations). */
import type { Category } from './painpoint.js';

export type Priority = 'high' | 'medium' | 'low';
export type ImpactLevel = 'minor' | 'moderate' | 'major' | 'critical';
export type Effort = 'S' | 'M' | 'L' | 'XL';

export interface KcTask {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly acceptanceCriteria: readonly string[];
  readonly constraints: { readonly do: readonly string[]; readonly dont: readonly string[] };
  readonly outputs: readonly string[];
  readonly checkSteps: readonly string[];
  readonly status: 'todo';
  readonly effort: Effort;
  readonly dependencies: readonly string[];
  readonly contentHash: string;
  readonly source: 'sidelight';
  readonly metadata: { readonly recommendationId: string; readonly category: Category; readonly priority: Priority } & Readonly<
    Record<string, unknown>
  >;
}

export interface Recommendation {
  readonly id: string;
  readonly pain_point_ids: readonly string[];
  readonly title: string;
  readonly priority: Priority;
  readonly category: Category;
  readonly impact: ImpactLevel;
  readonly effort: Effort;
  readonly description: string;
  readonly implementation: string;
  readonly acceptanceCriteria: readonly string[];
  readonly task: KcTask;
}
