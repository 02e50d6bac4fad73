/** The result of an offline analysis (analyze CLI, analyzeSpans, NativeAgentLightning) and of reports. */
import type { PainPointRecord, Severity } from './painpoint.js';
import type { ProblemRecord } from './problem.js';
import type { Recommendation } from './recommendation.js';

export interface OperationStatistics {
  readonly service: string;
  /** span name */
  readonly operation: string;
  /** the operation key (service + span name + tool / model / task type) */
  readonly key: string;
  readonly calls: number;
  readonly failures: number;
  readonly failure_rate: number;
  /** over successful calls (docs/painpoints.md) */
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  /** per time bucket, for charts: bucket start (epoch ms), calls, failure rate, p95 of successful calls */
  readonly timeline: readonly { readonly time: number; readonly calls: number; readonly failure_rate: number; readonly p95_ms: number | null }[];
}

export interface AnalysisStatistics {
  readonly spans: number;
  readonly traces: number;
  readonly runs: number;
  readonly failed_spans: number;
  readonly late_spans_dropped: number;
  /** ISO-8601 event-time range of the input */
  readonly start: string | null;
  readonly end: string | null;
  readonly painpoints: { readonly high: number; readonly medium: number; readonly low: number };
  /** problems of `AnalysisResult.problems` (merged ones excluded) by severity */
  readonly problems: Readonly<Record<Severity, number>>;
  readonly operations: readonly OperationStatistics[];
}

export interface AnalysisResult {
  /**
   * the last state of every problem (one per cause: its root, symptoms and contributing pain
   * points), merged ones excluded, ordered by severity then id; empty without a problems stage
   */
  readonly problems: readonly ProblemRecord[];
  /** the last state of every pain point found, ordered by severity then id */
  readonly painpoints: readonly PainPointRecord[];
  /** deduplicated, ordered by priority */
  readonly recommendations: readonly Recommendation[];
  readonly statistics: AnalysisStatistics;
}
