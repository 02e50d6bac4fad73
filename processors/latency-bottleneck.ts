/**
 * latency_bottleneck (docs/painpoints.md), part of the `latency` processor: an operation that dominates the
 * critical path of the traces it is in.
 *
 * For each completed trace, the critical path (src/traces/critical-path.ts) gives every span's
 * self time on the path; it is summed per operation key. Each operation key present in the trace
 * gets share = its self time on the path / the path's length (0 when it is in the trace but off
 * the path). Per window and operation key: mean share over the traces containing it; fires when
 * the mean share's 95 % lower confidence bound (shareLowerBound) reaches bottleneck_share over
 * ≥ bottleneck_min_traces traces (medium), high at mean share ≥ bottleneck_high_share, each
 * threshold held by its band once passed. A model call fires only
 * when its share also rose ≥ bottleneck_model_rise above its baseline (the window before the
 * judged one, traceWindowOperator) and at least half of that rise is its own time's (ownShareRise):
 * agents spend most of their time in model calls, which is not a pain point, and a share that rose
 * because the rest of the path shrank is not the model's; the whole input, with no baseline, never
 * fires for one. Self time belongs to whichever span owns it, so a pure container
 * (run, task) scores only its own gaps; the trace root's operation key is skipped in that trace
 * (a root is always 100 % of its own trace, the finding would say nothing). Synthetic spans (kc
 * attempts, whose times are apportioned within their task) are transparent: their time on the
 * path belongs to their nearest real ancestor, so a kc run names the task type, not its attempts.
 */
import type { OperatorFunction } from 'rxjs';
import type { Judgement, TraceStreamEvent } from '../src/model/events.js';
import type { Observation, Subject } from '../src/model/painpoint.js';
import { isSynthetic, type SpanRecord } from '../src/model/span.js';
import type { Trace } from '../src/model/trace.js';
import { operationSubject, subjectLabel } from '../src/model/series.js';
import type { ComponentContext } from '../src/component/contracts.js';
import type { PaneAggregator } from '../src/windows/series-windows.js';
import { criticalPath, type CriticalPath } from '../src/traces/critical-path.js';
import { formatDuration, formatPercent, MAX_RUN_IDS } from '../src/model/evidence-format.js';
import type { LatencyBottleneckMetrics } from '../src/model/evidence/index.js';
import { exemplarIds, exemplarRunIds, keepTop, mergeTop, round3, roundMs, type WeightedExemplar } from './latency-evidence.js';
import { isLlmCall, type JudgeContext, LLM_OPERATION_NAMES, type TraceInput, traceNodes, traceWindowOperator } from './latency-trace-windows.js';
import { reaches } from '../src/windows/judging.js';

export interface BottleneckConfig {
  readonly bottleneck_share: number;
  readonly bottleneck_high_share: number;
  readonly bottleneck_min_traces: number;
  readonly bottleneck_model_rise: number;
  readonly max_series: number;
}

/** One trace's figures for one operation key. */
export interface BottleneckInput {
  readonly share: number;
  /** the operation is a model call (its share is judged against its baseline) */
  readonly model: boolean;
  readonly pathMs: number;
  readonly traceMs: number;
  readonly exemplar: WeightedExemplar;
}

export interface BottleneckAcc {
  traces: number;
  /** traces in which the operation is a model call */
  modelTraces: number;
  shareSum: number;
  /** sum of squared shares: the spread of the traces' shares, for the mean's confidence bound */
  shareSqSum: number;
  pathMsSum: number;
  traceMsSum: number;
  /** the traces where the operation spent the most time on the path */
  readonly top: WeightedExemplar[];
}

/** exemplars kept per pane: 5 traces and enough run ids */
const TOP_KEPT = MAX_RUN_IDS;

export const bottleneckAggregator: PaneAggregator<BottleneckAcc, BottleneckInput> = {
  create: () => ({ traces: 0, modelTraces: 0, shareSum: 0, shareSqSum: 0, pathMsSum: 0, traceMsSum: 0, top: [] }),
  add(acc, input) {
    acc.traces++;
    if (input.model) acc.modelTraces++;
    acc.shareSum += input.share;
    acc.shareSqSum += input.share * input.share;
    acc.pathMsSum += input.pathMs;
    acc.traceMsSum += input.traceMs;
    if (input.pathMs > 0) keepTop(acc.top, input.exemplar, TOP_KEPT);
  },
  merge(into, from) {
    into.traces += from.traces;
    into.modelTraces += from.modelTraces;
    into.shareSum += from.shareSum;
    into.shareSqSum += from.shareSqSum;
    into.pathMsSum += from.pathMsSum;
    into.traceMsSum += from.traceMsSum;
    mergeTop(into.top, from.top, TOP_KEPT);
  },
};


/**
 * Self time on the path per operation key, with the span holding the most as exemplar; a
 * synthetic span's time goes to its nearest real ancestor.
 */
function pathTimeByOperation(path: CriticalPath, realAncestor: ReadonlyMap<string, SpanRecord>): Map<string, { selfMs: number; span: SpanRecord; best: number }> {
  const byKey = new Map<string, { selfMs: number; span: SpanRecord; best: number }>();
  for (const entry of path.entries) {
    const span = realAncestor.get(entry.span.spanId) ?? entry.span;
    const acc = byKey.get(span.operationKey);
    if (acc === undefined) byKey.set(span.operationKey, { selfMs: entry.selfMs, span, best: entry.selfMs });
    else {
      acc.selfMs += entry.selfMs;
      if (entry.selfMs > acc.best) {
        acc.best = entry.selfMs;
        acc.span = span;
      }
    }
  }
  return byKey;
}

/** Per operation key of a trace (root's excepted): its share of the critical path. */
export function bottleneckInputs(trace: Trace): TraceInput<BottleneckInput>[] {
  const path = criticalPath(trace);
  if (!(path.totalMs > 0)) return [];
  const rootKey = trace.root.span.operationKey;
  const present = new Map<string, SpanRecord>();
  // synthetic span id → nearest real ancestor (parents come before children in traceNodes order)
  const realAncestor = new Map<string, SpanRecord>();
  const nodeParent = new Map<string, SpanRecord>();
  for (const node of traceNodes(trace)) {
    for (const child of node.children) nodeParent.set(child.span.spanId, node.span);
    if (isSynthetic(node.span)) {
      const parent = nodeParent.get(node.span.spanId);
      const real = parent === undefined ? undefined : (realAncestor.get(parent.spanId) ?? parent);
      if (real !== undefined) realAncestor.set(node.span.spanId, real);
      continue;
    }
    const key = node.span.operationKey;
    if (key !== rootKey && !present.has(key)) present.set(key, node.span);
  }
  const byOp = pathTimeByOperation(path, realAncestor);
  const out: TraceInput<BottleneckInput>[] = [];
  for (const [key, firstSpan] of present) {
    const onPath = byOp.get(key);
    const pathMs = onPath?.selfMs ?? 0;
    const span = onPath?.span ?? firstSpan;
    out.push({
      subject: operationSubject(span),
      input: {
        share: pathMs / path.totalMs,
        model: isModelCall(firstSpan),
        pathMs,
        traceMs: path.totalMs,
        exemplar: { traceId: span.traceId, spanId: span.spanId, runId: span.runId, weight: pathMs },
      },
    });
  }
  return out;
}

/**
 * A model call: a gen_ai model operation (chat, text_completion, generate_content), or with no
 * operation name, a span the trace detectors take for one (a model and no tool, or a provider
 * alone: an LLM SDK's client span, a kc task).
 */
export function isModelCall(span: SpanRecord): boolean {
  return span.operationName !== undefined ? LLM_OPERATION_NAMES.includes(span.operationName) : isLlmCall(span);
}

const meanShare = (acc: BottleneckAcc) => acc.shareSum / acc.traces;

/** z of a one-sided 95 % bound */
const Z_95_ONE_SIDED = 1.6448536269514722;

/**
 * The one-sided 95 % lower confidence bound of the mean share (normal approximation, the traces'
 * sample standard deviation): the significance of a share, as a rate's is its Wilson bound. A tool
 * whose share of its traces' path is 0.45–0.55 from one window to the next (run_tests, 4 s of a
 * 15 s coding task) has a mean of 0.525 over 21 traces by chance half the time; its bound is ~0.45.
 */
export function shareLowerBound(acc: BottleneckAcc): number {
  const n = acc.traces;
  if (n < 2) return 0;
  const mean = acc.shareSum / n;
  const variance = Math.max(0, (acc.shareSqSum - n * mean * mean) / (n - 1));
  return mean - Z_95_ONE_SIDED * Math.sqrt(variance / n);
}

/**
 * How much a model call's share of the path rose by its own time: its share with its mean time on
 * the path now and the rest of the path as long as in the baseline, against its baseline share
 * (from mean times per trace). A share that rose only because the rest of the path shrank — a
 * tool that now fails fast, or by chance fewer slow tools in a thin window — is not the model
 * holding the traces up: its own time did not grow.
 */
export function ownShareRise(acc: BottleneckAcc, base: BottleneckAcc): number {
  if (acc.traces === 0 || base.traces === 0) return 0;
  const before = base.pathMsSum / base.traces;
  const rest = Math.max(0, base.traceMsSum - base.pathMsSum) / base.traces;
  const now = acc.pathMsSum / acc.traces;
  if (!(before + rest > 0) || !(now + rest > 0)) return 0;
  return now / (now + rest) - before / (before + rest);
}

/**
 * latency_bottleneck: mean share ≥ bottleneck_share (medium), ≥ bottleneck_high_share (high),
 * each held by its band once passed. Model calls carry an agent's work, so a model's large share
 * is how agents work: a model call fires only when its share rose ≥ bottleneck_model_rise above
 * its baseline window's share (never on the whole input, which has no baseline), and at least half
 * of that rise is its own (ownShareRise: the rest of the path held at its baseline length).
 */
export function judgeBottleneck(config: BottleneckConfig, subject: Subject, window: string, acc: BottleneckAcc, time: number, context: JudgeContext<BottleneckAcc> = NO_CONTEXT): Observation | undefined {
  if (acc.traces < config.bottleneck_min_traces) return undefined;
  const share = meanShare(acc);
  const bound = shareLowerBound(acc);
  if (!reaches(bound, config.bottleneck_share, 'low', context)) return undefined;
  const model = acc.modelTraces * 2 > acc.traces;
  let base: { readonly window: string; readonly share: number; readonly traces: number } | undefined;
  if (model) {
    const b = context.baseline();
    if (b === undefined) return undefined;
    base = { window: b.window, share: meanShare(b.acc), traces: b.acc.traces };
    if (!reaches(share - base.share, config.bottleneck_model_rise, 'low', context)) return undefined;
    if (!reaches(ownShareRise(acc, b.acc), config.bottleneck_model_rise / 2, 'low', context)) return undefined;
  }
  const severity = reaches(share, config.bottleneck_high_share, 'high', context) ? 'high' : 'medium';
  const label = subjectLabel(subject);
  const meanPath = acc.pathMsSum / acc.traces;
  const meanTrace = acc.traceMsSum / acc.traces;
  const ids = exemplarIds(acc.top);
  const rose = base === undefined ? '' : `, up from ${formatPercent(base.share)} over the ${base.window} before`;
  return {
    kind: 'latency_bottleneck',
    subject,
    severity,
    category: 'performance',
    title: `${label} takes ${formatPercent(share)} of the critical path of the traces it is in${rose}`,
    description:
      `Over ${window === 'all' ? 'the whole input' : `the last ${window}`}, ${acc.traces} traces contained ${label}; on average it held the critical path ` +
      `for ${formatDuration(meanPath)} of ${formatDuration(meanTrace)} end to end (${formatPercent(share)} of their time${rose}), so the traces cannot finish faster than it does.`,
    evidence: {
      window,
      metrics: {
        share: round3(share),
        critical_path_ms: roundMs(meanPath),
        trace_ms: roundMs(meanTrace),
        traces: acc.traces,
        affected_traces: acc.traces,
        ...(base !== undefined ? { baseline_window: base.window, baseline_share: round3(base.share), baseline_traces: base.traces } : {}),
      } satisfies LatencyBottleneckMetrics,
      exemplar_trace_ids: ids.traceIds,
      exemplar_span_ids: ids.spanIds,
    },
    keyMetric: share,
    time,
    runIds: exemplarRunIds(acc.top),
  };
}

const NO_CONTEXT: JudgeContext<BottleneckAcc> = { band: 0, baseline: () => undefined };

export function latencyBottleneckOperator(config: BottleneckConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return traceWindowOperator<BottleneckAcc, BottleneckInput>(
    {
      name: 'latency_bottleneck',
      aggregator: bottleneckAggregator,
      maxSeries: config.max_series,
      inputs: bottleneckInputs,
      traces: (acc) => acc.traces,
      minTraces: config.bottleneck_min_traces,
      minTracesAll: config.bottleneck_min_traces,
      baselines: true,
      judge: (subject, window, acc, time, context) => judgeBottleneck(config, subject, window, acc, time, context),
    },
    ctx,
  );
}
