/**
 * Offline analysis (docs/architecture.md, Event time and windows; README.md, Offline analysis): the same engine as the sidecar, run in event time as fast as it
 * can over spans already in memory. Every detector also judges the whole input at the end.
 */
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { Registry } from '../telemetry/prom.js';
import type { SpanRecord } from '../model/span.js';
import type { PainPointRecord, Severity } from '../model/painpoint.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import type { Recommendation } from '../model/recommendation.js';
import { isProblemChange, type PainPointChange } from '../model/events.js';
import type { ProblemChange, ProblemRecord } from '../model/problem.js';
import type { AnalysisResult } from '../model/analysis.js';
import { parseAnalysisConfig, type SidelightConfig } from '../config-file/load.js';
import { analysisComponents, ANALYSIS_DEFAULTS } from '../pipeline/processor-registry.js';
import { buildEngineParts } from '../pipeline/engine-parts.js';
import { runEngine } from '../pipeline/engine.js';
import { prepareSpans } from '../pipeline/span-preparation.js';
import { newClockState } from '../windows/event-clock.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { operationStatistics } from './operation-statistics.js';
import { buildRecommendations } from '../recommendations/build.js';
import { buildProblemRecommendation } from '../recommendations/problem.js';
import type { JudgeMode } from '../windows/judging.js';

export interface AnalyzeOptions {
  /** a config object shaped like the YAML (validated); its processors and service settings apply */
  readonly config?: unknown;
  /** an already validated config (the CLI's --config) */
  readonly resolvedConfig?: SidelightConfig;
  readonly logger?: Logger;
  /**
   * `changed` (default) or `every`: judge every series at every boundary, the reference the
   * change-driven engine is tested against (docs/engine.md); slow on long inputs
   */
  readonly judging?: JudgeMode;
  /** the spans went through prepareSpans already (names and runs, src/pipeline/span-preparation.ts) */
  readonly prepared?: boolean;
}

export interface AnalyzeOutput extends AnalysisResult {
  /** every pain-point state change, in order */
  readonly changes: readonly PainPointChange[];
  /** every problem change, in order */
  readonly problemChanges: readonly ProblemChange[];
}

function countBySeverity(records: readonly { readonly severity: Severity }[]): Record<Severity, number> {
  const counts = { high: 0, medium: 0, low: 0 };
  for (const r of records) counts[r.severity]++;
  return counts;
}

/** Deterministic order for spans: end time, then trace and span id. */
function byEndTime(a: SpanRecord, b: SpanRecord): number {
  return a.endMs - b.endMs || (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0) || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

export async function analyzeSpans(spans: Iterable<SpanRecord>, options: AnalyzeOptions = {}): Promise<AnalyzeOutput> {
  const config = options.resolvedConfig ?? parseAnalysisConfig(options.config ?? {}, analysisComponents, ANALYSIS_DEFAULTS);
  // names and runs over the whole input, in the order the engine sees it (docs/input.md)
  const ordered = [...spans].sort(byEndTime);
  const sorted = options.prepared ? ordered : prepareSpans(ordered, config.service);
  const metrics = new Registry();
  const logger = options.logger ?? silentLogger;
  const ctx = { scheduler: asyncScheduler, metrics, logger, settings: config.service, mode: 'offline' as const, id: 'analyze', judging: options.judging ?? 'changed' };
  const pipeline = Object.values(config.pipelines)[0];
  const processorIds = pipeline ? pipeline.processors : [...config.processors.keys()];
  // Recommendations are made once over the final pain points below; the streaming recommend
  // operator would regroup every open pain point at every change for nothing (measured: a fifth
  // of an 80-hour kc analysis).
  const parts = buildEngineParts(config, processorIds.filter((id) => config.processors.get(id)?.type !== 'recommend'), ctx);
  const clockState = newClockState();
  const changes = await lastValueFrom(
    runEngine(from(sorted), parts, { settings: config.service, scheduler: asyncScheduler, metrics, logger, idleAdvance: false, clockState, prepared: true }).pipe(toArray()),
  );

  // The last state of each pain point; recommendations are made once over the final set, so
  // groups are whole (the streaming ones may have been made while a group was still growing).
  const last = new Map<string, PainPointRecord>();
  const lastProblem = new Map<string, ProblemRecord>();
  for (const c of changes) {
    if (isProblemChange(c)) lastProblem.set(c.problem.id, c.problem);
    else last.set(c.painpoint.id, c.painpoint);
  }
  const painpoints = [...last.values()].sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.id < b.id ? -1 : 1),
  );

  // every problem's last state (merged ones live on in the problem they joined), and one
  // recommendation per problem made over its members' final records: the root's fix first, then
  // what its symptoms add (docs/outputs.md, Recommendations)
  const wantRecommendations = processorIds.some((id) => config.processors.get(id)?.type === 'recommend');
  const problemRecommendations: Recommendation[] = [];
  const problems = [...lastProblem.values()]
    .filter((p) => p.state !== 'merged')
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.id < b.id ? -1 : 1))
    .map((p) => {
      if (!wantRecommendations || !last.has(p.root.id)) return { ...p, recommendation_ids: [] };
      const members = [p.root.id, ...p.symptoms.map((m) => m.id), ...p.contributing.map((m) => m.id)].map((id) => last.get(id)).filter((r): r is PainPointRecord => r !== undefined);
      const rec = buildProblemRecommendation(p, members);
      if (!problemRecommendations.some((r) => r.id === rec.id)) problemRecommendations.push(rec);
      return { ...p, recommendation_ids: [rec.id] };
    });
  // with problems, the recommendations are theirs (one per cause); without, per pain-point group
  const recommendations: Recommendation[] = problems.length > 0 ? problemRecommendations : wantRecommendations ? buildRecommendations(painpoints) : [];

  const stats = operationStatistics(sorted);
  return {
    problems,
    painpoints,
    recommendations,
    statistics: {
      spans: sorted.length,
      traces: stats.traces,
      runs: stats.runs,
      failed_spans: stats.failed,
      late_spans_dropped: clockState.lateSpansDropped,
      start: stats.start === null ? null : new Date(stats.start).toISOString(),
      end: stats.end === null ? null : new Date(stats.end).toISOString(),
      painpoints: countBySeverity(painpoints),
      problems: countBySeverity(problems),
      operations: stats.operations,
    },
    changes: changes.filter((c): c is PainPointChange => !isProblemChange(c)),
    problemChanges: changes.filter(isProblemChange),
  };
}
