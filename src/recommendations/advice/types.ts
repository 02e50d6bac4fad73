/**
 * What every advice template shares: the advice it returns, the measurable criteria it sets, and
 * the facts it reads about one pain point. Templates read only the pain-point record, never the
 * clock, so the text is byte-identical on rerun.
 */
import type { PainPointKind, PainPointRecord } from '../../model/painpoint.js';
import type { Effort } from '../../model/recommendation.js';
import { subjectLabel } from '../../model/series.js';
import { metricsOf, type EvidenceMetricsView } from '../../model/evidence/index.js';

/**
 * The quantities acceptance criteria measure. A recommendation keeps one criterion per quantity
 * (and error class) per subject, the first one given, so it never asks for the same figure to fall
 * below two different targets.
 */
export type MeasuredQuantity =
  | 'failure_rate'
  | 'class_failures'
  | 'retries_per_min'
  | 'exhausted_chain_share'
  | 'non_retryable_retries'
  | 'retry_gap_growth'
  | 'median_retry_gap'
  | 'latency_p95'
  | 'latency_p99'
  | 'critical_path_share'
  | 'tail_ratio'
  | 'consecutive_calls'
  | 'sequential_tool_calls'
  | 'fallbacks_per_task'
  | 'robust_z'
  | 'silent_failure_rate'
  | 'length_finish_share'
  | 'identical_tool_calls'
  | 'model_turns'
  | 'spend';

/** One measurable acceptance criterion: what it measures, and the sentence. */
export interface Criterion {
  readonly quantity: MeasuredQuantity;
  /** the error class the figure counts, when it counts one */
  readonly errorClass?: string;
  readonly text: string;
}

export interface Advice {
  /** imperative, names the subject */
  readonly title: string;
  /** one or two sentences with the evidence's numbers */
  readonly summary: string;
  /** concrete implementation steps, in order */
  readonly steps: readonly string[];
  readonly acceptance: readonly Criterion[];
  readonly do: readonly string[];
  readonly dont: readonly string[];
  readonly outputs: readonly string[];
  readonly effort: Effort;
}

export interface AdviceOptions {
  /** the window acceptance criteria are judged over, as text: "15 m" */
  readonly acceptanceWindow: string;
}

export const DEFAULT_ADVICE_OPTIONS: AdviceOptions = { acceptanceWindow: '15 m' };

/** Everything a template of kind K needs about one pain point, read once. */
export interface Facts<K extends PainPointKind> {
  readonly pp: PainPointRecord;
  /** the evidence metrics, typed as kind K's */
  readonly m: EvidenceMetricsView<K>;
  readonly label: string;
  /** "over 15 m": the acceptance window */
  readonly over: string;
  /** "the 5m window", "the whole input" */
  readonly window: string;
  /** the exemplar trace ids as inline code, or "none recorded" */
  readonly exemplars: string;
}

/** The advice for kind K. */
export type AdviceTemplate<K extends PainPointKind> = (facts: Facts<K>) => Advice;

export const COMMON_DO: readonly string[] = ['Add or update a test that reproduces the pain point before fixing it'];
export const COMMON_DONT: readonly string[] = [
  'Do not silence errors, drop spans or change telemetry attributes (error.type, gen_ai.*) to make the figures pass',
];

export function factsOf<K extends PainPointKind>(kind: K, pp: PainPointRecord, options: AdviceOptions): Facts<K> {
  const ev = pp.evidence;
  return {
    pp,
    m: metricsOf({ kind, evidence: ev }),
    label: subjectLabel(pp.subject),
    over: `over ${options.acceptanceWindow}`,
    window: ev.window === 'all' ? 'the whole input' : `the ${ev.window} window`,
    exemplars: ev.exemplar_trace_ids.length > 0 ? ev.exemplar_trace_ids.map((t) => `\`${t}\``).join(', ') : 'none recorded',
  };
}

/** A criterion on `quantity`. */
export function criterion(quantity: MeasuredQuantity, text: string, errorClass?: string): Criterion {
  return errorClass === undefined ? { quantity, text } : { quantity, errorClass, text };
}
