/**
 * Per operation key, the mean share of the critical path of the traces it is in, over the longest
 * fine window ending at the latest closed boundary (the live page's "critical path" list), read
 * from the trace stream the trace detectors read. The same measure as the latency_bottleneck
 * detector (docs/painpoints.md) without its thresholds: self time on the path / the path's length,
 * 0 for a trace the operation is in but off the path; a trace's root operation is left out of
 * that trace (it is always 100 % of it).
 *
 * The list shows the present only, so a watermark that closes many boundaries at once is reported
 * once, at its last boundary `time`; the boundaries it skips would be overwritten at once.
 */
import { defer, ignoreElements, tap, type Observable } from 'rxjs';
import type { Registry } from 'prom-client';
import type { TraceStreamEvent } from '../model/events.js';
import type { SpanRecord } from '../model/span.js';
import type { Trace, TraceNode } from '../model/trace.js';
import type { WindowsSettings } from '../config/service-schema.js';
import { OVERFLOW_SUBJECT, operationSubject, subjectKey } from '../model/series.js';
import { SeriesWindows, type PaneAggregator } from '../windows/series-windows.js';
import { criticalPath, criticalPathByOperation } from '../traces/critical-path.js';

export interface CriticalPathShare {
  /** the operation key text */
  readonly key: string;
  /** mean share of the critical path over the traces containing the operation, 0..1 */
  readonly share: number;
  readonly traces: number;
  /** mean self time on the path per trace, ms */
  readonly meanPathMs: number;
}

export interface CriticalPathSharesOptions {
  readonly windows: WindowsSettings;
  /** cap on operations tracked; further ones go to one `__overflow__` series (never listed) */
  readonly maxOperations: number;
  /** how many operations each report lists, largest share first */
  readonly top: number;
  readonly registry?: Registry;
  /** the shares over the longest fine window ending at each watermark's time, largest first, at most `top` */
  readonly onWatermark: (time: number, window: string, shares: readonly CriticalPathShare[]) => void;
}

interface ShareAcc {
  traces: number;
  shareSum: number;
  pathMsSum: number;
}

interface ShareInput {
  readonly share: number;
  readonly pathMs: number;
}

const shareAggregator: PaneAggregator<ShareAcc, ShareInput> = {
  create: () => ({ traces: 0, shareSum: 0, pathMsSum: 0 }),
  add(acc, input) {
    acc.traces++;
    acc.shareSum += input.share;
    acc.pathMsSum += input.pathMs;
  },
  merge(into, from) {
    into.traces += from.traces;
    into.shareSum += from.shareSum;
    into.pathMsSum += from.pathMsSum;
  },
};

const OVERFLOW_KEY = subjectKey(OVERFLOW_SUBJECT);

/** One span per operation key in the trace (the first met), for the key's subject. */
function operationsOf(root: TraceNode): Map<string, SpanRecord> {
  const out = new Map<string, SpanRecord>();
  const stack: TraceNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as TraceNode;
    if (!out.has(node.span.operationKey)) out.set(node.span.operationKey, node.span);
    for (const child of node.children) stack.push(child);
  }
  return out;
}

/** Per-trace shares of every operation in it except the root's. */
export function traceShares(trace: Trace): { span: SpanRecord; share: number; pathMs: number }[] {
  const path = criticalPath(trace);
  if (path.totalMs <= 0) return [];
  const onPath = criticalPathByOperation(path);
  const rootKey = trace.root.span.operationKey;
  const out: { span: SpanRecord; share: number; pathMs: number }[] = [];
  for (const [key, span] of operationsOf(trace.root)) {
    if (key === rootKey) continue;
    const pathMs = onPath.get(key)?.selfMs ?? 0;
    out.push({ span, share: pathMs / path.totalMs, pathMs });
  }
  return out;
}

/** An operator over the trace stream that reports shares at each watermark; it emits nothing. */
export function criticalPathShares(options: CriticalPathSharesOptions): (events$: Observable<TraceStreamEvent>) => Observable<never> {
  return (events$) =>
    defer(() => {
      const windows = new SeriesWindows<ShareAcc, ShareInput>({
        aggregator: shareAggregator,
        windows: { ...options.windows, coarse_sizes: [] },
        maxSeries: options.maxOperations,
        name: 'ui_critical_path',
        judging: 'every', // read, never judged: no agenda
        ...(options.registry ? { metrics: options.registry } : {}),
      });
      const longest = windows.specs[windows.specs.length - 1];
      const keyText = new Map<string, string>();

      const report = (boundary: number) => {
        windows.advance(boundary);
        if (longest === undefined) return;
        const shares: CriticalPathShare[] = [];
        const live = new Set<string>();
        for (const series of windows.all()) {
          live.add(series.key);
          if (series.key === OVERFLOW_KEY) continue;
          const acc = series.window(longest, boundary);
          if (acc.traces === 0) continue;
          shares.push({ key: keyText.get(series.key) ?? series.key, share: acc.shareSum / acc.traces, traces: acc.traces, meanPathMs: acc.pathMsSum / acc.traces });
        }
        // ties broken by key so the list is the same whatever the map order
        shares.sort((a, b) => b.share - a.share || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        // operations aged out of every pane leave the name table too
        for (const key of keyText.keys()) if (!live.has(key)) keyText.delete(key);
        options.onWatermark(boundary, longest.name, shares.slice(0, options.top));
      };

      return events$.pipe(
        tap((event) => {
          if (event.type === 'trace') {
            for (const { span, share, pathMs } of traceShares(event.trace)) {
              const subject = operationSubject(span);
              windows.add([subject], event.trace.endMs, { share, pathMs });
              const key = subjectKey(subject);
              if (key !== OVERFLOW_KEY && !keyText.has(key) && keyText.size < options.maxOperations) keyText.set(key, span.operationKey);
            }
          } else if (event.type === 'watermark') {
            report(event.time);
          }
        }),
        ignoreElements(),
      );
    });
}
