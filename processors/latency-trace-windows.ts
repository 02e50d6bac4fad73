/**
 * The windowed scaffold shared by the trace-based latency-family detectors (latency_bottleneck,
 * repeated_calls, sequential_fanout): each completed trace contributes inputs to series keyed on
 * the trace's end time; at each watermark every series is judged on the shortest window holding
 * enough traces; offline, `end` judges the whole input too (window `all`).
 */
import { concatMap, defer, type OperatorFunction } from 'rxjs';
import type { TraceStreamEvent } from '../src/model/events.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import type { Trace } from '../src/model/trace.js';
import { OVERFLOW_SUBJECT, subjectKey } from '../src/model/series.js';
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
