/**
 * The `repeated_calls` processor (docs/painpoints.md): the N+1 pattern, one tool / client operation called
 * many times one after another under one parent, where a batch, a cache or concurrency would do.
 *
 * Per completed trace and parent span, the candidate children are tool or client calls (a tool
 * name, gen_ai `execute_tool`, or span kind CLIENT), never model calls: an agent loop's `chat`
 * calls (gen_ai operation chat / text_completion / generate_content, or a model without a tool)
 * are its work, not N+1. Candidates are grouped by operation key; retries are left out (an
 * explicit attempt > 1, or the next call after a failed one: docs/input.md's structural retry), so a
 * retry chain is the retry detectors' finding, not this one's. Of the rest, the largest set of
 * non-overlapping calls (calls running concurrently are already parallel) must hold ≥ min_calls.
 *
 * A pain point needs recurrence: per window and operation key it fires when the pattern occurs
 * in ≥ min_traces traces (default 3). Offline, the whole input fires from min_traces_all traces
 * (default 1): a recorded run with one parent making 50 N+1 calls is reported. Low; medium when
 * the calls take ≥ medium_share of their parent's duration on average (held by the band once medium).
 */
import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import { SpanKind, type SpanRecord } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { operationSubject, subjectKey, subjectLabel } from '../src/model/series.js';
import type { ComponentContext, Detector, ProcessorFactory } from '../src/component/contracts.js';
import { countLabel, formatDuration, formatPercent } from '../src/model/evidence-format.js';
import type { RepeatedCallsMetrics } from '../src/model/evidence/index.js';
import { exemplarIds, exemplarRunIds, round3 } from './latency-evidence.js';
import { reaches } from '../src/windows/judging.js';
import {
  isLlmCall,
  type JudgeContext,
  LLM_OPERATION_NAMES,
  parentLabel,
  topLabel,
  type TraceInput,
  traceNodes,
  traceWindowOperator,
  patternAggregator,
  type PatternAcc,
  type PatternInput,
} from './latency-trace-windows.js';

export const repeatedCallsConfigSchema = z.strictObject({
  /** non-overlapping calls of one operation under one parent that make the pattern */
  min_calls: z.number().int().min(2).default(10),
  /** medium when the calls take at least this share of their parent's duration */
  medium_share: z.number().gt(0).max(1).default(0.2),
  /** traces showing the pattern needed in a sliding window */
  min_traces: z.number().int().positive().default(3),
  /** traces showing the pattern needed in the whole input (offline) */
  min_traces_all: z.number().int().positive().default(1),
  /** gen_ai operation names of model calls, never N+1 */
  llm_operations: z.array(z.string().min(1)).default([...LLM_OPERATION_NAMES]),
  max_series: z.number().int().positive().default(5_000),
});
export type RepeatedCallsConfig = z.output<typeof repeatedCallsConfigSchema>;

/** One parent's run of repeated calls. */
export interface RepeatedRun {
  readonly parent: SpanRecord;
  readonly calls: readonly SpanRecord[];
  readonly sumMs: number;
  readonly maxMs: number;
  /** share of the parent's duration the calls take */
  readonly share: number;
}

/** What one trace contributes to one operation's series: `longest` is the most calls under one parent, labels count parents. */
export type RepeatedInput = PatternInput;
export type RepeatedAcc = PatternAcc;

/** parent labels kept per breakdown table */
const PARENT_LABELS_KEPT = 10;

export const repeatedAggregator = patternAggregator(PARENT_LABELS_KEPT);

/** A child that can be N+1: a tool or client call, not a model call. */
function isCandidate(span: SpanRecord, llmOperations: readonly string[]): boolean {
  if (isLlmCall(span, llmOperations)) return false;
  return span.tool !== undefined || span.operationName === 'execute_tool' || span.kind === SpanKind.CLIENT;
}

/** The largest set of non-overlapping calls (interval scheduling: earliest end first). */
function nonOverlapping(calls: readonly SpanRecord[]): SpanRecord[] {
  const byEnd = [...calls].sort((a, b) => a.endMs - b.endMs || a.startMs - b.startMs);
  const out: SpanRecord[] = [];
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const call of byEnd) {
    if (call.startMs >= lastEnd) {
      out.push(call);
      lastEnd = call.endMs;
    }
  }
  return out;
}

/** Leaves out retries: an explicit attempt > 1, or a call starting after a failed call of the same operation ended. */
function withoutRetries(calls: readonly SpanRecord[]): SpanRecord[] {
  const byStart = [...calls].sort((a, b) => a.startMs - b.startMs);
  const out: SpanRecord[] = [];
  let lastFailedEnd = Number.POSITIVE_INFINITY;
  for (const call of byStart) {
    const retry = (call.attempt !== undefined && call.attempt > 1) || call.startMs >= lastFailedEnd;
    if (!retry) out.push(call);
    // only the next call after a failure is its retry
    lastFailedEnd = call.failed ? call.endMs : Number.POSITIVE_INFINITY;
  }
  return out;
}

/** Every parent's runs of ≥ min_calls repeated calls in a trace. */
export function findRepeatedRuns(trace: Trace, config: Pick<RepeatedCallsConfig, 'min_calls' | 'llm_operations'>): RepeatedRun[] {
  const out: RepeatedRun[] = [];
  for (const node of traceNodes(trace)) {
    if (node.children.length < config.min_calls) continue;
    const groups = new Map<string, SpanRecord[]>();
    for (const child of node.children) {
      if (!isCandidate(child.span, config.llm_operations)) continue;
      const group = groups.get(child.span.operationKey);
      if (group === undefined) groups.set(child.span.operationKey, [child.span]);
      else group.push(child.span);
    }
    const parent = node.span;
    const parentMs = Math.max(0, parent.endMs - parent.startMs);
    for (const group of groups.values()) {
      if (group.length < config.min_calls) continue;
      const calls = nonOverlapping(withoutRetries(group));
      if (calls.length < config.min_calls) continue;
      let sumMs = 0;
      let maxMs = 0;
      for (const c of calls) {
        sumMs += c.durationMs;
        maxMs = Math.max(maxMs, c.durationMs);
      }
      out.push({ parent, calls, sumMs, maxMs, share: parentMs > 0 ? Math.min(1, sumMs / parentMs) : 0 });
    }
  }
  return out;
}

/** One input per (trace, repeated operation). */
export function repeatedInputs(trace: Trace, config: RepeatedCallsConfig): TraceInput<RepeatedInput>[] {
  const bySubject = new Map<string, { subject: Subject; runs: RepeatedRun[] }>();
  for (const run of findRepeatedRuns(trace, config)) {
    const subject = operationSubject(run.calls[0] as SpanRecord);
    const key = subjectKey(subject);
    const entry = bySubject.get(key);
    if (entry === undefined) bySubject.set(key, { subject, runs: [run] });
    else entry.runs.push(run);
  }
  const out: TraceInput<RepeatedInput>[] = [];
  for (const { subject, runs } of bySubject.values()) {
    const parents = new Map<string, number>();
    let calls = 0;
    let maxCalls = 0;
    let shareSum = 0;
    let sumMs = 0;
    let savingMs = 0;
    let biggest = runs[0] as RepeatedRun;
    for (const run of runs) {
      calls += run.calls.length;
      maxCalls = Math.max(maxCalls, run.calls.length);
      shareSum += run.share;
      sumMs += run.sumMs;
      savingMs += run.sumMs - run.maxMs;
      countLabel(parents, parentLabel(run.parent), 1, PARENT_LABELS_KEPT);
      if (run.sumMs > biggest.sumMs) biggest = run;
    }
    out.push({
      subject,
      input: {
        occurrences: runs.length,
        calls,
        longest: maxCalls,
        shareSum,
        sumMs,
        savingMs,
        labels: parents,
        // the parent span: that is where the loop to batch lives
        exemplar: { traceId: trace.traceId, spanId: biggest.parent.spanId, runId: biggest.parent.runId, weight: biggest.sumMs },
      },
    });
  }
  return out;
}

export function judgeRepeatedCalls(config: RepeatedCallsConfig, subject: Subject, window: string, acc: RepeatedAcc, time: number, context: Pick<JudgeContext<RepeatedAcc>, 'was' | 'band'> = { band: 0 }): Observation | undefined {
  if (acc.occurrences === 0) return undefined;
  const label = subjectLabel(subject);
  const share = acc.shareSum / acc.occurrences;
  const perParent = acc.calls / acc.occurrences;
  const parent = topLabel(acc.labels) ?? 'one parent';
  const ids = exemplarIds(acc.top);
  const where = window === 'all' ? 'the whole input' : `the last ${window}`;
  return {
    kind: 'repeated_calls',
    subject,
    severity: reaches(share, config.medium_share, 'medium', context) ? 'medium' : 'low',
    category: 'efficiency',
    title: `${label} is called ${Math.round(perParent)} times in a row under ${parent} (N+1)`,
    description:
      `Over ${where}, ${acc.traces} ${acc.traces === 1 ? 'trace' : 'traces'} had ${acc.occurrences} ${acc.occurrences === 1 ? 'parent' : 'parents'} ` +
      `calling ${label} ≥ ${config.min_calls} times one after another (mean ${Math.round(perParent)}, max ${acc.longest} per parent), ` +
      `taking ${formatPercent(share)} of the parent's time; one batched or concurrent call per parent would save about ${formatDuration(acc.savingMs / acc.occurrences)} each.`,
    evidence: {
      window,
      metrics: {
        calls: acc.calls,
        calls_per_parent: Math.round(perParent * 10) / 10,
        max_calls_per_parent: acc.longest,
        occurrences: acc.occurrences,
        traces: acc.traces,
        affected_traces: acc.traces,
        share: round3(share),
        sequential_ms: Math.round(acc.sumMs / acc.occurrences),
        saving_ms: Math.round(acc.savingMs / acc.occurrences),
        wasted_ms: Math.round(acc.savingMs),
        parent_operation: parent,
        parents: Object.fromEntries(acc.labels),
      } satisfies RepeatedCallsMetrics,
      exemplar_trace_ids: ids.traceIds,
      exemplar_span_ids: ids.spanIds,
    },
    keyMetric: perParent,
    time,
    runIds: exemplarRunIds(acc.top),
  };
}

export function repeatedCallsOperator(config: RepeatedCallsConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return traceWindowOperator<RepeatedAcc, RepeatedInput>(
    {
      name: 'repeated_calls',
      aggregator: repeatedAggregator,
      maxSeries: config.max_series,
      inputs: (trace) => repeatedInputs(trace, config),
      traces: (acc) => acc.traces,
      minTraces: config.min_traces,
      minTracesAll: config.min_traces_all,
      judge: (subject, window, acc, time, context) => judgeRepeatedCalls(config, subject, window, acc, time, context),
    },
    ctx,
  );
}

export const repeatedCallsProcessorFactory: ProcessorFactory<RepeatedCallsConfig> = {
  type: 'repeated_calls',
  stage: 'detector',
  configSchema: repeatedCallsConfigSchema,
  create(config, ctx): Detector[] {
    return [{ input: 'traces', operator: repeatedCallsOperator(config, ctx) }];
  },
};
