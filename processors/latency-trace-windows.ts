/**
 * The windowed scaffold shared by the trace-based latency-family detectors (latency_bottleneck,
 * repeated_calls, sequential_fanout): each completed trace contributes inputs to series keyed on
 * the trace's end time; at each watermark every series is judged on the shortest window holding
 * enough traces; offline, `end` judges the whole input too (window `all`). Also the span roles
 * (model call, tool call) and parent naming these detectors share.
 */
import { concatMap, defer, type OperatorFunction } from 'rxjs';
import type { TraceStreamEvent } from '../src/model/events.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { OVERFLOW_SUBJECT, operationSubject, subjectKey } from '../src/model/series.js';
import type { ComponentContext } from '../src/pipeline/component.js';
import { type PaneAggregator, SeriesWindows, shortestWindowWith } from '../src/windows/series-windows.js';

export interface TraceInput<I> {
  readonly subject: Subject;
  readonly input: I;
}

export interface TraceWindowDetector<A, I> {
  /** processor name, for metric labels */
  readonly name: string;
  readonly aggregator: PaneAggregator<A, I>;
  readonly maxSeries: number;
  /** what one completed trace contributes */
  inputs(trace: Trace): readonly TraceInput<I>[];
  /** how many traces an accumulator holds (the sample size of SPEC §3) */
  traces(acc: A): number;
  /** traces needed in a sliding window */
  readonly minTraces: number;
  /** traces needed in the whole input (offline `all`) */
  readonly minTracesAll: number;
  judge(subject: Subject, window: string, acc: A, time: number): Observation | undefined;
}

export function traceWindowOperator<A, I>(detector: TraceWindowDetector<A, I>, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Observation> {
  return (source) =>
    defer(() => {
      const offline = ctx.mode === 'offline';
      const windows = new SeriesWindows<A, I>({
        aggregator: detector.aggregator,
        windows: ctx.settings.windows,
        maxSeries: Math.min(detector.maxSeries, ctx.settings.series.max_series),
        name: detector.name,
        metrics: ctx.metrics,
        keepAll: offline,
      });
      const overflowKey = subjectKey(OVERFLOW_SUBJECT);
      let lastWatermark = Number.NEGATIVE_INFINITY;
      let lastTraceEnd = Number.NEGATIVE_INFINITY;

      const onWatermark = (time: number): Observation[] => {
        lastWatermark = time;
        const out: Observation[] = [];
        for (const view of windows.all()) {
          if (view.key === overflowKey) continue;
          const judged = shortestWindowWith(view, windows.specs, time, detector.traces, detector.minTraces);
          if (judged === undefined) continue;
          const obs = detector.judge(view.subject, judged.spec.name, judged.acc, time);
          if (obs) out.push(obs);
        }
        windows.advance(time);
        return out;
      };

      const onEnd = (): Observation[] => {
        if (!offline) return [];
        const time = Number.isFinite(lastWatermark) ? lastWatermark : lastTraceEnd;
        const out: Observation[] = [];
        for (const view of windows.all()) {
          if (view.key === overflowKey) continue;
          const whole = view.all();
          if (whole === undefined || detector.traces(whole) < detector.minTracesAll) continue;
          const obs = detector.judge(view.subject, 'all', whole, time);
          if (obs) out.push(obs);
        }
        return out;
      };

      return source.pipe(
        concatMap((event): Observation[] => {
          switch (event.type) {
            case 'trace': {
              const trace = event.trace;
              if (trace.endMs > lastTraceEnd) lastTraceEnd = trace.endMs;
              for (const { subject, input } of detector.inputs(trace)) windows.add([subject], trace.endMs, input);
              return [];
            }
            case 'watermark':
              return onWatermark(event.time);
            case 'drain':
              return [];
            case 'end':
              return onEnd();
          }
        }),
      );
    });
}

/** Every node of a trace, iteratively (traces can be deeper than the call stack allows). */
export function* traceNodes(trace: Trace): Generator<Trace['root']> {
  const stack: Trace['root'][] = [trace.root];
  while (stack.length > 0) {
    const node = stack.pop() as Trace['root'];
    yield node;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i] as Trace['root']);
  }
}

/** gen_ai operation names of model calls (an agent loop's chats are not N+1, and they separate tool turns) */
export const LLM_OPERATION_NAMES: readonly string[] = ['chat', 'text_completion', 'generate_content'];

/**
 * A model call: an LLM operation name, or a span with a model (or, with no gen_ai operation name,
 * a provider: an LLM SDK's own client span) and no tool.
 */
export function isLlmCall(span: SpanRecord, llmOperations: readonly string[] = LLM_OPERATION_NAMES): boolean {
  if (span.operationName !== undefined && llmOperations.includes(span.operationName)) return true;
  if (span.tool !== undefined) return false;
  return span.model !== undefined || (span.provider !== undefined && span.operationName === undefined);
}

/** A tool call: gen_ai execute_tool, or a span naming a tool (and not a model call). */
export function isToolCall(span: SpanRecord, llmOperations: readonly string[] = LLM_OPERATION_NAMES): boolean {
  if (isLlmCall(span, llmOperations)) return false;
  return span.operationName === 'execute_tool' || span.tool !== undefined;
}

/** Subject of a parent span that runs calls: its agent when it has one, else its operation subject. */
export function parentSubject(span: SpanRecord): Subject {
  if (span.agent !== undefined) return { service: span.service, operation: span.name, agent: span.agent };
  return operationSubject(span);
}

/** `invoke_agent researcher`: span name and its most telling qualifier. */
export function parentLabel(span: SpanRecord): string {
  const qualifier = span.agent ?? span.tool ?? span.model ?? span.taskType;
  return qualifier === undefined ? span.name : `${span.name} ${qualifier}`;
}

/** Adds `n` to `label` in a small breakdown table, keeping at most `cap` labels (the rest go to `other`). */
export function countLabel(table: Record<string, number>, label: string, n: number, cap: number): void {
  if (table[label] === undefined && Object.keys(table).length >= cap) label = 'other';
  table[label] = (table[label] ?? 0) + n;
}

/** The most frequent label of a breakdown table. */
export function topLabel(table: Readonly<Record<string, number>>): string | undefined {
  let best: string | undefined;
  for (const [label, n] of Object.entries(table)) if (best === undefined || n > (table[best] as number)) best = label;
  return best;
}
