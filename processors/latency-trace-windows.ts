/**
 * The windowed scaffold shared by the trace-based latency-family detectors (latency_bottleneck,
 * repeated_calls, sequential_fanout): each completed trace contributes inputs to series keyed on
 * the trace's end time; at each watermark every series is judged on the shortest window holding
 * enough traces; offline, `end` judges the whole input too (window `all`). Also the span roles
 * (model call, tool call) and parent naming these detectors share.
 */
import { defer, type OperatorFunction } from 'rxjs';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import { eachEvent, judgeUpTo, oneShot, type JudgeLoop } from '../src/windows/judging.js';
import type { Observation, Severity, Subject } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { OVERFLOW_SUBJECT, operationSubject, subjectKey } from '../src/model/series.js';
import type { ComponentContext } from '../src/component/contracts.js';
import { type PaneAggregator, SeriesWindows, shortestWindowWith, type WindowRead } from '../src/windows/series-windows.js';
import { windowSpecs, type WindowSpec } from '../src/windows/window-spec.js';
import { countLabel, MAX_RUN_IDS, OVERFLOW_LABEL } from '../src/model/evidence-format.js';
import { keepTop, mergeTop, type WeightedExemplar } from './latency-evidence.js';

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
  /** how many traces an accumulator holds (the sample size of docs/painpoints.md) */
  traces(acc: A): number;
  /** traces needed in a sliding window */
  readonly minTraces: number;
  /** traces needed in the whole input (offline `all`) */
  readonly minTracesAll: number;
  /**
   * the detector compares a judged window with the window before it (judge's `baseline`); its
   * windows are then kept long enough, and read, for that
   */
  readonly baselines?: boolean;
  judge(subject: Subject, window: string, acc: A, time: number, context: JudgeContext<A>): Observation | undefined;
}

/** What a judgement may read besides its window. */
export interface JudgeContext<A> {
  /** the severity the series' previous judgement gave (thresholds passed then are held by their band) */
  readonly was?: Severity | undefined;
  /** the band of service.painpoints */
  readonly band: number;
  /**
   * the baseline: the shortest window longer than the judged one that holds minTraces traces
   * before the judged part (it ends where the judged window starts); undefined when none does,
   * and offline for the whole input
   */
  baseline(): { readonly window: string; readonly acc: A } | undefined;
}

/**
 * The windows a detector with baselines reads: each window at the boundary, and each window
 * longer than another ending where that other starts.
 */
export function baselineReads(specs: readonly WindowSpec[]): WindowRead[] {
  const reads: WindowRead[] = specs.map((spec) => ({ spec, offsetMs: 0 }));
  for (const judged of specs) for (const spec of specs) if (spec.sizeMs > judged.sizeMs) reads.push({ spec, offsetMs: judged.sizeMs });
  return reads;
}

export function traceWindowOperator<A, I>(detector: TraceWindowDetector<A, I>, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return (source) =>
    defer(() => {
      const offline = ctx.mode === 'offline';
      const specs = windowSpecs(ctx.settings.windows);
      const windows = new SeriesWindows<A, I>({
        aggregator: detector.aggregator,
        windows: ctx.settings.windows,
        maxSeries: Math.min(detector.maxSeries, ctx.settings.series.max_series),
        name: detector.name,
        metrics: ctx.metrics,
        keepAll: offline,
        judging: ctx.judging,
        ...(detector.baselines ? { reads: baselineReads(specs) } : {}),
      });
      const band = ctx.settings.painpoints.band;
      const noBaseline = () => undefined;
      const overflowKey = subjectKey(OVERFLOW_SUBJECT);
      let lastWatermark = Number.NEGATIVE_INFINITY;
      let lastTraceEnd = Number.NEGATIVE_INFINITY;

      const loop: JudgeLoop<A, never> = {
        mode: ctx.judging ?? 'changed',
        judge(view, time) {
          if (view.key === overflowKey) return [];
          const judged = shortestWindowWith(view, windows.specs, time, detector.traces, detector.minTraces);
          if (judged === undefined) return [];
          const baseline = () => {
            const before = time - judged.spec.sizeMs;
            for (const spec of windows.specs) {
              if (spec.sizeMs <= judged.spec.sizeMs || !view.atLeast(spec, before, detector.minTraces)) continue;
              const acc = view.window(spec, before);
              if (detector.traces(acc) >= detector.minTraces) return { window: spec.name, acc };
            }
            return undefined;
          };
          const obs = detector.judge(view.subject, judged.spec.name, judged.acc, time, { was: view.standing[0]?.severity, band, baseline: detector.baselines ? baseline : noBaseline });
          return obs ? [obs] : [];
        },
      };
      const onWatermark = (from: number, time: number): Judgement[] => {
        lastWatermark = time;
        const out: Judgement[] = [];
        judgeUpTo(windows, from, time, loop, out);
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
          const obs = detector.judge(view.subject, 'all', whole, time, { band, baseline: noBaseline });
          if (obs) out.push(obs);
        }
        return out;
      };

      return source.pipe(
        eachEvent((event: TraceStreamEvent): Judgement[] => {
          switch (event.type) {
            case 'trace': {
              const trace = event.trace;
              if (trace.endMs > lastTraceEnd) lastTraceEnd = trace.endMs;
              for (const { subject, input } of detector.inputs(trace)) windows.add([subject], trace.endMs, input);
              return [];
            }
            case 'watermark':
              return onWatermark(event.from, event.time);
            case 'drain':
              return [];
            case 'end':
              return onEnd().map(oneShot);
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

/** The most frequent label of a breakdown table (the first of equals); never the overflow label. */
export function topLabel(table: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let bestCount = 0;
  for (const [label, n] of table) {
    if (label === OVERFLOW_LABEL) continue;
    if (best === undefined || n > bestCount) [best, bestCount] = [label, n];
  }
  return best;
}

/**
 * What one trace contributes to a recurring-pattern series (N+1 calls, sequential fan-out): how
 * often the pattern occurred, its calls and time, the longest run, a label breakdown and the
 * trace as an exemplar.
 */
export interface PatternInput {
  /** 0 for a trace in which the parent ran without the pattern: it counts in parentTraces only */
  readonly occurrences: number;
  readonly calls: number;
  /** the longest run of calls in one occurrence */
  readonly longest: number;
  /** sum over occurrences of the share of the parent's duration the calls take */
  readonly shareSum: number;
  readonly sumMs: number;
  /** sum − max per occurrence: what running the calls concurrently (or as one batch) would save */
  readonly savingMs: number;
  readonly labels: ReadonlyMap<string, number>;
  readonly exemplar: WeightedExemplar;
}

/** A pane (or window) of pattern inputs: `traces` (traces showing the pattern) is the sample size. */
export interface PatternAcc {
  traces: number;
  /** traces in which the series' parent ran, with the pattern or without */
  parentTraces: number;
  occurrences: number;
  calls: number;
  longest: number;
  shareSum: number;
  sumMs: number;
  savingMs: number;
  readonly labels: Map<string, number>;
  readonly top: WeightedExemplar[];
}

/** Folds the figures of `from` (one trace's input, or a pane) into `into`. */
function foldPattern(into: PatternAcc, from: Omit<PatternInput, 'exemplar'>, labelsKept: number): void {
  into.occurrences += from.occurrences;
  into.calls += from.calls;
  into.longest = Math.max(into.longest, from.longest);
  into.shareSum += from.shareSum;
  into.sumMs += from.sumMs;
  into.savingMs += from.savingMs;
  for (const [label, n] of from.labels) countLabel(into.labels, label, n, labelsKept);
}

/** The pane aggregator of a recurring-pattern detector, keeping `labelsKept` labels per breakdown. */
export function patternAggregator(labelsKept: number): PaneAggregator<PatternAcc, PatternInput> {
  return {
    create: () => ({ traces: 0, parentTraces: 0, occurrences: 0, calls: 0, longest: 0, shareSum: 0, sumMs: 0, savingMs: 0, labels: new Map(), top: [] }),
    // the sample is a trace showing the pattern
    weight: (input) => (input.occurrences > 0 ? 1 : 0),
    add(acc, input) {
      acc.parentTraces++;
      if (input.occurrences === 0) return;
      acc.traces++;
      foldPattern(acc, input, labelsKept);
      keepTop(acc.top, input.exemplar, MAX_RUN_IDS);
    },
    merge(into, from) {
      into.traces += from.traces;
      into.parentTraces += from.parentTraces;
      foldPattern(into, from, labelsKept);
      mergeTop(into.top, from.top, MAX_RUN_IDS);
    },
  };
}
