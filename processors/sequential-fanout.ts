/**
 * The `sequential_fanout` processor (docs/painpoints.md): independent tool calls run one after another that
 * could run in parallel (tools the model asked for in one turn, executed one by one).
 *
 * Per completed trace and parent span, children in start order: a sequence is ≥ min_calls tool
 * calls (gen_ai `execute_tool` or a tool name, never a model call) with no model call between
 * them (a model call means the next tool depended on its answer), each starting after the
 * previous one ended (overlapping calls are already parallel) within max_gap, taking ≥ min_total
 * in all. Other spans between them (logging, internal steps) neither join nor break a sequence;
 * the gap rule still applies. The saving of running a sequence in parallel is sum − max of its
 * durations, as Sentry's consecutive-HTTP detector estimates it. A sequence of ≥
 * repeated_min_calls calls all of one operation is an N+1 loop, left to repeated_calls, so the
 * same calls are not reported twice with two different fixes.
 *
 * A pain point needs recurrence: per window and parent (its agent, else its operation key) it
 * fires when sequences occur in ≥ min_traces traces (default 3); offline, the whole input fires
 * from min_traces_all (default 1). Low; medium only with impact: the saving is ≥ medium_saving
 * (1 s) per occurrence and ≥ medium_share of the parent's duration on average, in ≥
 * medium_trace_share of the traces the parent ran tool calls in (each trace contributes an empty
 * input for a parent that ran tools without a sequence, so the window counts those too).
 */
import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { subjectKey, subjectLabel } from '../src/model/series.js';
import { zDuration } from '../src/config/duration.js';
import type { ComponentContext, Detector, ProcessorFactory } from '../src/component/contracts.js';
import { countLabel, formatDuration, formatPercent } from '../src/model/evidence-format.js';
import type { SequentialFanoutMetrics } from '../src/model/evidence/index.js';
import { exemplarIds, exemplarRunIds, round3 } from './latency-evidence.js';
import { reaches } from '../src/windows/judging.js';
import {
  isLlmCall,
  isToolCall,
  type JudgeContext,
  LLM_OPERATION_NAMES,
  parentSubject,
  type TraceInput,
  traceNodes,
  traceWindowOperator,
  patternAggregator,
  type PatternAcc,
  type PatternInput,
} from './latency-trace-windows.js';

export const sequentialFanoutConfigSchema = z.strictObject({
  /** consecutive tool calls that make a sequence */
  min_calls: z.number().int().min(2).default(3),
  /** largest gap between one call's end and the next one's start */
  max_gap: zDuration.default(100),
  /** a sequence must take at least this long in all */
  min_total: zDuration.default(2_000),
  /** medium needs all three: running the calls in parallel saves at least this per occurrence on average … */
  medium_saving: zDuration.default(1_000),
  /** … and at least this share of the parent's duration … */
  medium_share: z.number().gt(0).max(1).default(0.2),
  /** … in at least this share of the traces the parent ran tool calls in */
  medium_trace_share: z.number().gt(0).max(1).default(0.1),
  /**
   * a sequence of this many calls or more, all of one operation, is the N+1 pattern: repeated_calls
   * reports it (batch it), this detector does not (0: report it here too)
   */
  repeated_min_calls: z.number().int().nonnegative().default(10),
  /** traces showing the pattern needed in a sliding window */
  min_traces: z.number().int().positive().default(3),
  /** traces showing the pattern needed in the whole input (offline) */
  min_traces_all: z.number().int().positive().default(1),
  /** gen_ai operation names of model calls: a model call between tools ends a sequence */
  llm_operations: z.array(z.string().min(1)).default([...LLM_OPERATION_NAMES]),
  max_series: z.number().int().positive().default(5_000),
});
export type SequentialFanoutConfig = z.output<typeof sequentialFanoutConfigSchema>;

export interface FanoutSequence {
  readonly parent: SpanRecord;
  readonly calls: readonly SpanRecord[];
  readonly sumMs: number;
  readonly maxMs: number;
  /** sum − max: the time a parallel run would save */
  readonly savingMs: number;
  /** savingMs / the parent's duration */
  readonly share: number;
}

/** What one trace contributes to one parent's series: `longest` is the longest sequence, labels count tools. */
export type FanoutInput = PatternInput;
export type FanoutAcc = PatternAcc;

/** tool labels kept per breakdown table */
const TOOL_LABELS_KEPT = 10;

export const fanoutAggregator = patternAggregator(TOOL_LABELS_KEPT);

type SequenceConfig = Pick<SequentialFanoutConfig, 'min_calls' | 'max_gap' | 'min_total' | 'llm_operations' | 'repeated_min_calls'>;

/** ≥ repeated_min_calls calls of one operation key: an N+1 loop, not a turn's independent tools */
function isRepeatedLoop(run: readonly SpanRecord[], repeatedMinCalls: number): boolean {
  if (repeatedMinCalls === 0 || run.length < repeatedMinCalls) return false;
  const key = (run[0] as SpanRecord).operationKey;
  return run.every((c) => c.operationKey === key);
}

/** Every parent's sequences of tool calls in a trace. */
export function findSequences(trace: Trace, config: SequenceConfig): FanoutSequence[] {
  const out: FanoutSequence[] = [];
  for (const node of traceNodes(trace)) {
    if (node.children.length < config.min_calls) continue;
    const parent = node.span;
    const parentMs = Math.max(0, parent.endMs - parent.startMs);
    const children = node.children.map((c) => c.span).sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
    let run: SpanRecord[] = [];
    const close = () => {
      if (run.length >= config.min_calls && !isRepeatedLoop(run, config.repeated_min_calls)) {
        let sumMs = 0;
        let maxMs = 0;
        for (const c of run) {
          sumMs += c.durationMs;
          maxMs = Math.max(maxMs, c.durationMs);
        }
        if (sumMs >= config.min_total) {
          const savingMs = sumMs - maxMs;
          out.push({ parent, calls: run, sumMs, maxMs, savingMs, share: parentMs > 0 ? Math.min(1, savingMs / parentMs) : 0 });
        }
      }
      run = [];
    };
    for (const child of children) {
      if (isLlmCall(child, config.llm_operations)) {
        close();
        continue;
      }
      if (!isToolCall(child, config.llm_operations)) continue;
      const prev = run[run.length - 1];
      if (prev !== undefined) {
        const gap = child.startMs - prev.endMs;
        // overlapping (already parallel) or too far apart: the sequence ends here
        if (gap < 0 || gap > config.max_gap) close();
      }
      run.push(child);
    }
    close();
  }
  return out;
}

const NO_SEQUENCE: Omit<FanoutInput, 'exemplar'> = { occurrences: 0, calls: 0, longest: 0, sumMs: 0, savingMs: 0, shareSum: 0, labels: new Map() };

/**
 * One input per (trace, parent subject): the parent's sequences, or none (occurrences 0) for a
 * parent that ran tool calls without one, so a window knows in how many of the parent's traces
 * the pattern shows.
 */
export function fanoutInputs(trace: Trace, config: SequentialFanoutConfig): TraceInput<FanoutInput>[] {
  const bySubject = new Map<string, { subject: Subject; sequences: FanoutSequence[] }>();
  const idle = new Map<string, { subject: Subject; parent: SpanRecord }>();
  for (const node of traceNodes(trace)) {
    if (!node.children.some((c) => isToolCall(c.span, config.llm_operations))) continue;
    const subject = parentSubject(node.span);
    const key = subjectKey(subject);
    if (!idle.has(key)) idle.set(key, { subject, parent: node.span });
  }
  for (const seq of findSequences(trace, config)) {
    const subject = parentSubject(seq.parent);
    const key = subjectKey(subject);
    const entry = bySubject.get(key);
    if (entry === undefined) bySubject.set(key, { subject, sequences: [seq] });
    else entry.sequences.push(seq);
  }
  const out: TraceInput<FanoutInput>[] = [];
  for (const [key, { subject, parent }] of idle) {
    if (bySubject.has(key)) continue;
    out.push({ subject, input: { ...NO_SEQUENCE, exemplar: { traceId: trace.traceId, spanId: parent.spanId, runId: parent.runId, weight: 0 } } });
  }
  for (const { subject, sequences } of bySubject.values()) {
    const tools = new Map<string, number>();
    let calls = 0;
    let maxLength = 0;
    let sumMs = 0;
    let savingMs = 0;
    let shareSum = 0;
    let biggest = sequences[0] as FanoutSequence;
    for (const seq of sequences) {
      calls += seq.calls.length;
      maxLength = Math.max(maxLength, seq.calls.length);
      sumMs += seq.sumMs;
      savingMs += seq.savingMs;
      shareSum += seq.share;
      for (const c of seq.calls) countLabel(tools, c.tool ?? c.name, 1, TOOL_LABELS_KEPT);
      if (seq.savingMs > biggest.savingMs) biggest = seq;
    }
    out.push({
      subject,
      input: {
        occurrences: sequences.length,
        calls,
        longest: maxLength,
        sumMs,
        savingMs,
        shareSum,
        labels: tools,
        // the parent span: that is where the tool calls would be started together
        exemplar: { traceId: trace.traceId, spanId: biggest.parent.spanId, runId: biggest.parent.runId, weight: biggest.savingMs },
      },
    });
  }
  return out;
}

/**
 * Low when the pattern recurs; medium only with impact (docs/painpoints.md): running each sequence
 * in parallel saves ≥ medium_saving per occurrence on average and ≥ medium_share of the parent,
 * in ≥ medium_trace_share of the parent's traces; once medium, each held by its band.
 */
export function judgeSequentialFanout(
  config: SequentialFanoutConfig,
  subject: Subject,
  window: string,
  acc: FanoutAcc,
  time: number,
  context: Pick<JudgeContext<FanoutAcc>, 'was' | 'band'> = { band: 0 },
): Observation | undefined {
  if (acc.occurrences === 0) return undefined;
  const label = subjectLabel(subject);
  const share = acc.shareSum / acc.occurrences;
  const length = acc.calls / acc.occurrences;
  const saving = acc.savingMs / acc.occurrences;
  const traceShare = acc.parentTraces > 0 ? acc.traces / acc.parentTraces : 1;
  const medium =
    reaches(saving, config.medium_saving, 'medium', context) &&
    reaches(share, config.medium_share, 'medium', context) &&
    reaches(traceShare, config.medium_trace_share, 'medium', context);
  const toolList = [...acc.labels]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([t]) => t)
    .slice(0, 3)
    .join(', ');
  const ids = exemplarIds(acc.top);
  const where = window === 'all' ? 'the whole input' : `the last ${window}`;
  return {
    kind: 'sequential_fanout',
    subject,
    severity: medium ? 'medium' : 'low',
    category: 'performance',
    title: `${label} runs ${Math.round(length)} tool calls one after another; in parallel they would save ${formatDuration(saving)}`,
    description:
      `Over ${where}, ${acc.traces} of the ${acc.parentTraces} ${acc.parentTraces === 1 ? 'trace' : 'traces'} ${label} ran tool calls in (${formatPercent(traceShare)}) had ${acc.occurrences} ${acc.occurrences === 1 ? 'sequence' : 'sequences'} ` +
      `of ≥ ${config.min_calls} tool calls (${toolList}) with no model call between them and gaps ≤ ${formatDuration(config.max_gap)} ` +
      `(mean ${Math.round(length * 10) / 10} calls, ${formatDuration(acc.sumMs / acc.occurrences)} in all); running each sequence in parallel would save about ` +
      `${formatDuration(saving)}, ${formatPercent(share)} of the parent's time.`,
    evidence: {
      window,
      metrics: {
        calls: acc.calls,
        sequence_length: Math.round(length * 10) / 10,
        max_sequence_length: acc.longest,
        occurrences: acc.occurrences,
        traces: acc.traces,
        parent_traces: acc.parentTraces,
        trace_share: round3(traceShare),
        affected_traces: acc.traces,
        sequential_ms: Math.round(acc.sumMs / acc.occurrences),
        saving_ms: Math.round(saving),
        wasted_ms: Math.round(acc.savingMs),
        share: round3(share),
        tools: Object.fromEntries(acc.labels),
      } satisfies SequentialFanoutMetrics,
      exemplar_trace_ids: ids.traceIds,
      exemplar_span_ids: ids.spanIds,
    },
    keyMetric: share,
    time,
    runIds: exemplarRunIds(acc.top),
  };
}

export function sequentialFanoutOperator(config: SequentialFanoutConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return traceWindowOperator<FanoutAcc, FanoutInput>(
    {
      name: 'sequential_fanout',
      aggregator: fanoutAggregator,
      maxSeries: config.max_series,
      inputs: (trace) => fanoutInputs(trace, config),
      traces: (acc) => acc.traces,
      minTraces: config.min_traces,
      minTracesAll: config.min_traces_all,
      judge: (subject, window, acc, time, context) => judgeSequentialFanout(config, subject, window, acc, time, context),
    },
    ctx,
  );
}

export const sequentialFanoutProcessorFactory: ProcessorFactory<SequentialFanoutConfig> = {
  type: 'sequential_fanout',
  stage: 'detector',
  configSchema: sequentialFanoutConfigSchema,
  create(config, ctx): Detector[] {
    return [{ input: 'traces', operator: sequentialFanoutOperator(config, ctx) }];
  },
};
