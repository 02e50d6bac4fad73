/**
 * Impact of a pain point (docs/outputs.md, Recommendations: affected runs / traces, wasted time, tokens, cost) and its score.
 *
 * score = w_runs·ln(1 + affected_runs) + w_traces·ln(1 + affected_traces)
 *       + w_time·ln(1 + wasted_ms / 1000) + w_tokens·ln(1 + wasted_tokens / 1000)
 *
 * and, where the waste's cost is known (`wasted_cost_usd`), w_cents·ln(1 + wasted US cents) in
 * place of the token term: the cost is what those tokens were worth, so counting both would count
 * the same waste twice, and money ranks what a team feels first.
 *
 * Log-scaled so that no single figure swamps the others (10× the traces is +2.3·w, not 10×),
 * and rounded to 2 decimals so the score is stable text in reports and hashes.
 * Default weights: runs 3, traces 1, time 2, tokens 2, cents 2 (a run is what a kc user pays for;
 * $1 weighs as much as 100 000 tokens).
 */
import type { Evidence, Impact } from '../model/painpoint.js';
import type { ImpactLevel } from '../model/recommendation.js';
import { readImpactMetrics } from '../model/evidence/index.js';

export interface ImpactWeights {
  readonly runs: number;
  readonly traces: number;
  readonly wasted_seconds: number;
  readonly wasted_ktokens: number;
  readonly wasted_cents: number;
}

export const DEFAULT_IMPACT_WEIGHTS: ImpactWeights = { runs: 3, traces: 1, wasted_seconds: 2, wasted_ktokens: 2, wasted_cents: 2 };

/** Score thresholds for the recommendation impact level: below `moderate` is minor, and so on. */
export interface ImpactLevelThresholds {
  readonly moderate: number;
  readonly major: number;
  readonly critical: number;
}

export const DEFAULT_IMPACT_LEVELS: ImpactLevelThresholds = { moderate: 6, major: 12, critical: 24 };

const round2 = (x: number): number => Math.round(x * 100) / 100;
const nonNegative = (x: number | undefined): number => (x !== undefined && x > 0 ? x : 0);

export function impactScore(
  figures: Omit<Impact, 'score'>,
  weights: ImpactWeights = DEFAULT_IMPACT_WEIGHTS,
): number {
  return round2(
    weights.runs * Math.log1p(nonNegative(figures.affected_runs)) +
      weights.traces * Math.log1p(nonNegative(figures.affected_traces)) +
      weights.wasted_seconds * Math.log1p(nonNegative(figures.wasted_ms) / 1_000) +
      (figures.wasted_cost_usd !== undefined
        ? weights.wasted_cents * Math.log1p(nonNegative(figures.wasted_cost_usd) * 100)
        : weights.wasted_ktokens * Math.log1p(nonNegative(figures.wasted_tokens) / 1_000)),
  );
}

/**
 * Impact from a pain point's evidence: the impact figures its kind's schema names (`affected_runs`,
 * `affected_traces`, `wasted_ms`, `wasted_tokens` and, where the cost is known, `wasted_cost_usd`);
 * a kind that writes fewer falls back to the number of run ids, the exemplar count, 0 ms, 0 tokens
 * and an unknown cost (absent).
 */
export function computeImpact(
  evidence: Evidence,
  runIds: readonly string[],
  weights: ImpactWeights = DEFAULT_IMPACT_WEIGHTS,
): Impact {
  const m = readImpactMetrics(evidence.metrics);
  const figures = {
    affected_runs: Math.round(m.affected_runs ?? runIds.length),
    affected_traces: Math.round(m.affected_traces ?? evidence.exemplar_trace_ids.length),
    wasted_ms: Math.round(nonNegative(m.wasted_ms)),
    wasted_tokens: Math.round(nonNegative(m.wasted_tokens)),
  };
  if (m.wasted_cost_usd !== undefined) {
    const withCost = { ...figures, wasted_cost_usd: Math.round(m.wasted_cost_usd * 10_000) / 10_000 };
    return { score: impactScore(withCost, weights), ...withCost };
  }
  return { score: impactScore(figures, weights), ...figures };
}

export function impactLevel(score: number, thresholds: ImpactLevelThresholds = DEFAULT_IMPACT_LEVELS): ImpactLevel {
  if (score >= thresholds.critical) return 'critical';
  if (score >= thresholds.major) return 'major';
  if (score >= thresholds.moderate) return 'moderate';
  return 'minor';
}
