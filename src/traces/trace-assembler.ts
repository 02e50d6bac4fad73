/**
 * The trace assembler: buffers spans per trace and emits each trace as a tree once it is complete,
 * in the way of the Collector's tail_sampling processor, but on event time (docs/architecture.md, Event time and windows).
 *
 * - Event time "now" = the watermark boundary + allowed_lateness (the clock's max event time).
 * - A trace completes when its root has arrived and no span of it ended within `trace_idle` of
 *   now, or when `decision_wait` has passed since its first span (earliest end time) — except a
 *   trace whose root is sure to come (a kc run file's, RECORDED_RUN_SCOPE), which waits for it:
 *   a kc run is one trace of hours, and cutting it would split tasks from their attempts.
 *   The rule reads event time and the spans only, so live and offline assemble the same traces.
 * - On each `watermark`, the traces completing at each boundary it closes are emitted (ordered by
 *   root end time, then trace id), each boundary's followed by a watermark at it; a trace's
 *   completion boundary is kept in a queue, so a watermark costs only the traces it completes.
 *   On `drain` every buffered trace is emitted, then drain.
 * - Bounded: past `max_traces` buffered traces, or `max_buffered_spans` buffered spans over all
 *   of them, the oldest trace (by arrival) is emitted early, counted by cap; spans beyond
 *   `max_spans_per_trace` (and duplicate span ids) are dropped, counted. A buffered span is a
 *   compact copy (buffered-span.ts), released as soon as its trace is emitted.
 * - Trees are a function of the set of spans only, never of their arrival order.
 */
import { z } from 'zod';
import { Observable, type OperatorFunction } from 'rxjs';
import { Counter, Gauge, type Registry } from '../telemetry/prom.js';
import { RECORDED_RUN_SCOPE, type SpanRecord } from '../model/span.js';
import type { PipelineEvent, TraceStreamEvent } from '../model/events.js';
import type { Trace, TraceNode } from '../model/trace.js';
import { inRun, isParentless, namesItsRun, traceRunId } from '../model/run-ids.js';
import type { ComponentContext } from '../component/contracts.js';
import { zDuration } from '../config/duration.js';
import { DEFAULT_MAX_BUFFERED_SPANS } from '../config/service-schema.js';
import FlatQueue from 'flatqueue';
import { nextMultipleAfter } from '../windows/judging.js';
import { SpanCompactor } from './buffered-span.js';
import { perRegistry } from '../telemetry/per-registry.js';

/** Ceiling of `t` to a multiple of `unit`. */
function ceilTo(t: number, unit: number): number {
  return Math.ceil(t / unit) * unit;
}

export const traceAssemblerSchema = z.strictObject({
  /** a trace whose root has ended completes after this much event time without a new span */
  trace_idle: zDuration.default(5_000),
  /** a trace completes at the latest this long after its first span, root or not */
  decision_wait: zDuration.default(30_000),
  /** traces buffered at once; beyond it the oldest is emitted early (sidelight_traces_evicted_total{reason="max_traces"}) */
  max_traces: z.number().int().positive().default(50_000),
  /**
   * spans buffered at once over every trace, the assembler's memory (about 400 bytes each); beyond
   * it the oldest trace is emitted early (sidelight_traces_evicted_total{reason="max_buffered_spans"})
   */
  max_buffered_spans: z.number().int().positive().default(DEFAULT_MAX_BUFFERED_SPANS),
  /** spans kept per trace; further spans are dropped (sidelight_trace_spans_dropped_total) */
  max_spans_per_trace: z.number().int().positive().default(10_000),
});
export type TraceAssemblerConfig = z.output<typeof traceAssemblerSchema>;

/** Counters a caller (tests, analyze statistics) can read; the same figures go to Prometheus. */
export interface TraceAssemblerStats {
  tracesCompleted: number;
  tracesEvicted: number;
  spansDropped: number;
  spansReparented: number;
  /** traces buffered */
  buffered: number;
  /** spans buffered over every trace */
  bufferedSpans: number;
  /** entries of the arrival order, those of traces gone among them (bounded: about twice `buffered`) */
  arrivalEntries: number;
}

export function newTraceAssemblerStats(): TraceAssemblerStats {
  return { tracesCompleted: 0, tracesEvicted: 0, spansDropped: 0, spansReparented: 0, buffered: 0, bufferedSpans: 0, arrivalEntries: 0 };
}

interface AssemblerMetrics {
  readonly completed: Counter;
  readonly evicted: Counter<'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly reparented: Counter;
  readonly buffered: Gauge;
  readonly bufferedSpans: Gauge;
}

/** the stats of every assembler on a registry, for the buffered gauge */
const bufferedSources = new WeakMap<Registry, Set<TraceAssemblerStats>>();

/** One set per registry, so several assemblers on one registry (tests) do not register twice. */
const assemblerMetrics = perRegistry((registry): AssemblerMetrics => ({
  completed: new Counter({ name: 'sidelight_traces_completed_total', help: 'Traces emitted by the trace assembler', registers: [registry] }),
  evicted: new Counter({
    name: 'sidelight_traces_evicted_total',
    help: 'Traces emitted early because max_traces traces or max_buffered_spans spans were buffered (reason: the cap)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  dropped: new Counter({
    name: 'sidelight_trace_spans_dropped_total',
    help: 'Spans the trace assembler dropped (over max_spans_per_trace, or a duplicate span id)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  reparented: new Counter({
    name: 'sidelight_spans_reparented_total',
    help: 'Spans whose parent never arrived, attached under the closest ancestor containing them in time',
    registers: [registry],
  }),
  buffered: new Gauge({
    name: 'sidelight_traces_buffered',
    help: 'Traces buffered by the trace assembler',
    registers: [registry],
    // read when scraped rather than set per trace
    collect() {
      this.set([...(bufferedSources.get(registry) ?? [])].reduce((n, s) => n + s.buffered, 0));
    },
  }),
  bufferedSpans: new Gauge({
    name: 'sidelight_trace_spans_buffered',
    help: 'Spans buffered by the trace assembler, over every trace',
    registers: [registry],
    collect() {
      this.set([...(bufferedSources.get(registry) ?? [])].reduce((n, s) => n + s.bufferedSpans, 0));
    },
  }),
}));

/** The spans of an emitted trace: none (a stale completion entry may still name the trace). */
const NO_SPANS: SpanRecord[] = [];
/** spans of a trace searched for a duplicate id before it gets a set of ids */
const IDS_AFTER = 16;

/** The bit of a span id among a trace's 64: its last two characters' hex value (any text: then a hash), mod 64. */
function idBit(spanId: string): number {
  const n = spanId.length;
  const last = spanId.charCodeAt(n - 1);
  const before = spanId.charCodeAt(n - 2);
  // hex digits 0-9 and a-f (A-F) to their values; another character lands anywhere, which is fine
  return ((last <= 57 ? last - 48 : (last | 32) - 87) + 16 * (before <= 57 ? before - 48 : (before | 32) - 87)) & 63;
}

/** Whether the trace holds a span with this id. */
function holds(p: PendingTrace, spanId: string): boolean {
  if (p.ids !== undefined) return p.ids.has(spanId);
  const bit = idBit(spanId);
  if (((bit < 32 ? p.idBitsLow : p.idBitsHigh) & (1 << (bit & 31))) === 0) return false;
  const spans = p.spans;
  for (let i = 0; i < spans.length; i++) if ((spans[i] as SpanRecord).spanId === spanId) return true;
  return false;
}

interface PendingTrace {
  readonly traceId: string;
  /** the boundary at which it completes as things stand (it moves when spans arrive) */
  completeAt: number;
  /** its spans (compact copies, owned by the assembler), in arrival order; the shared empty list once it has been emitted */
  spans: SpanRecord[];
  /**
   * the ids of its spans, once it holds more than IDS_AFTER (a shorter list is searched instead:
   * profiling the sidecar bench showed a set per trace as half of addSpan's time, and its tables
   * as garbage)
   */
  ids: Set<string> | undefined;
  /**
   * 64 bits, one per value of the last two characters of its span ids mod 64 (two words): a bit
   * not set proves a span id new without searching the list (a search reads every span object,
   * and profiling showed it as costly as the set it replaced)
   */
  idBitsLow: number;
  idBitsHigh: number;
  /** earliest end time of its spans: when the trace was first seen, in event time */
  firstSeenMs: number;
  /** latest end time of its spans: when it last got a span, in event time */
  lastSeenMs: number;
  hasRoot: boolean;
  /** its root is sure to come (RECORDED_RUN_SCOPE): decision_wait does not cut it */
  rootComes: boolean;
}

export function traceAssembler(
  config: TraceAssemblerConfig,
  ctx: Pick<ComponentContext, 'metrics' | 'settings'>,
  stats: TraceAssemblerStats = newTraceAssemblerStats(),
): OperatorFunction<PipelineEvent, TraceStreamEvent> {
  const metrics = assemblerMetrics(ctx.metrics);
  let registered = bufferedSources.get(ctx.metrics);
  if (registered === undefined) bufferedSources.set(ctx.metrics, (registered = new Set()));
  registered.add(stats);
  const lateness = ctx.settings.windows.allowed_lateness;
  const step = Math.max(ctx.settings.windows.slide, ctx.settings.windows.judge_every ?? ctx.settings.windows.slide);
  const waitMs = config.decision_wait >= Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : config.decision_wait;

  return (source) =>
    new Observable<TraceStreamEvent>((subscriber) => {
      const pending = new Map<string, PendingTrace>();
      // Arrival order, for eviction at the caps (entries that left `pending` are skipped). Not the
      // map's own order: finding its first entry skips every deleted slot before it, which under
      // steady eviction costs as much as the map is large.
      let arrivals: PendingTrace[] = [];
      let oldestArrival = 0;
      // Traces by completion boundary; an entry is stale when its trace left or moved on. Stale
      // entries leave as their boundary passes, and once they outnumber the buffered traces the
      // queue is rebuilt from those, so it stays near their number however slowly event time moves.
      let completions = new FlatQueue<PendingTrace>();
      const compactor = new SpanCompactor();
      let bufferedSpans = 0;
      let lastWatermark = Number.NEGATIVE_INFINITY;

      /**
       * The first boundary b at which the trace is complete: its root has arrived and
       * b + lateness − last end ≥ trace_idle, or b + lateness − first end ≥ decision_wait; never a
       * boundary already passed (a root arriving late completes the trace at the next one).
       */
      const schedule = (p: PendingTrace) => {
        const idleAt = p.hasRoot ? p.lastSeenMs + config.trace_idle - lateness : Number.POSITIVE_INFINITY;
        const waitAt = p.rootComes ? Number.POSITIVE_INFINITY : p.firstSeenMs + waitMs - lateness;
        const at = Math.max(ceilTo(Math.min(idleAt, waitAt), step), nextMultipleAfter(lastWatermark, step));
        if (at === p.completeAt) return;
        p.completeAt = at;
        if (!Number.isFinite(at)) return;
        completions.push(p, at);
        if (completions.length > 2 * pending.size + 1_024) {
          completions = new FlatQueue<PendingTrace>();
          for (const q of pending.values()) if (Number.isFinite(q.completeAt)) completions.push(q, q.completeAt);
        }
      };

      const setBuffered = () => {
        stats.buffered = pending.size;
      };

      /**
       * Builds and emits traces that have left `pending`. Their spans are released here: a stale
       * entry of the completion queue may still hold the trace until its boundary passes.
       */
      const emit = (traces: PendingTrace[]) => {
        const built = traces.map((p) => {
          const trace = buildOwnedTrace(p.traceId, p.spans, stats, metrics);
          bufferedSpans -= p.spans.length;
          stats.bufferedSpans = bufferedSpans;
          p.spans = NO_SPANS;
          p.ids = undefined;
          return trace;
        });
        built.sort((a, b) => a.root.span.endMs - b.root.span.endMs || compareText(a.traceId, b.traceId));
        for (const trace of built) {
          stats.tracesCompleted++;
          metrics.completed.inc();
          subscriber.next({ type: 'trace', trace });
        }
      };

      /** Emits the oldest buffered trace early because `cap` was reached. */
      const evictOldest = (cap: 'max_traces' | 'max_buffered_spans') => {
        let oldest: PendingTrace | undefined;
        while (oldest === undefined) {
          const p = arrivals[oldestArrival++] as PendingTrace;
          if (pending.get(p.traceId) === p) oldest = p;
        }
        pending.delete(oldest.traceId);
        setBuffered();
        stats.tracesEvicted++;
        metrics.evicted.inc({ reason: cap });
        emit([oldest]);
      };

      const addSpan = (span: SpanRecord) => {
        let p = pending.get(span.traceId);
        if (p === undefined) {
          if (pending.size >= config.max_traces) evictOldest('max_traces');
          p = { traceId: span.traceId, completeAt: Number.NaN, spans: [], ids: undefined, idBitsLow: 0, idBitsHigh: 0, firstSeenMs: span.endMs, lastSeenMs: span.endMs, hasRoot: false, rootComes: false };
          pending.set(span.traceId, p);
          arrivals.push(p);
          // drop the entries of traces gone (completed or evicted) once they are half the list,
          // counting the evicted ones before `oldestArrival` too: when the caps evict every trace,
          // they are all there, and the list grew by one trace a trace (a sidecar soak, profiled)
          if (arrivals.length > 2 * pending.size + 1_024) {
            arrivals = arrivals.slice(oldestArrival).filter((a) => pending.get(a.traceId) === a);
            oldestArrival = 0;
          }
          stats.arrivalEntries = arrivals.length;
          setBuffered();
        }
        if (holds(p, span.spanId)) {
          stats.spansDropped++;
          metrics.dropped.inc({ reason: 'duplicate' });
          return;
        }
        if (p.spans.length >= config.max_spans_per_trace) {
          stats.spansDropped++;
          metrics.dropped.inc({ reason: 'max_spans_per_trace' });
          return;
        }
        p.spans.push(compactor.compact(span, p.traceId));
        if (p.ids !== undefined) p.ids.add(span.spanId);
        else if (p.spans.length > IDS_AFTER) p.ids = new Set(p.spans.map((s) => s.spanId));
        else {
          const bit = idBit(span.spanId);
          if (bit < 32) p.idBitsLow |= 1 << bit;
          else p.idBitsHigh |= 1 << (bit - 32);
        }
        stats.bufferedSpans = ++bufferedSpans;
        if (span.endMs < p.firstSeenMs) p.firstSeenMs = span.endMs;
        if (span.endMs > p.lastSeenMs) p.lastSeenMs = span.endMs;
        if (parentless(span)) p.hasRoot = true;
        if (span.scopeName === RECORDED_RUN_SCOPE) p.rootComes = true;
        schedule(p);
        // the trace just added to may be the oldest: then it goes out with this span
        while (bufferedSpans > config.max_buffered_spans && pending.size > 0) evictOldest('max_buffered_spans');
      };

      /**
       * The traces completing at the boundaries in (lastWatermark, time], each boundary's traces
       * followed by a watermark at it, so trace detectors judge a boundary with exactly the
       * traces complete by then.
       */
      const completeUpTo = (time: number) => {
        let from = lastWatermark;
        // a trace due before the first boundary of this watermark completes at that boundary
        const first = nextMultipleAfter(lastWatermark, step);
        while (completions.length > 0 && (completions.peekValue() as number) <= time) {
          const at = Math.max(completions.peekValue() as number, first);
          const done: PendingTrace[] = [];
          while (completions.length > 0 && Math.max(completions.peekValue() as number, first) === at) {
            const p = completions.pop() as PendingTrace;
            if (pending.get(p.traceId) === p && Math.max(p.completeAt, first) === at) {
              pending.delete(p.traceId);
              done.push(p);
            }
          }
          if (done.length === 0) continue;
          setBuffered();
          emit(done);
          subscriber.next({ type: 'watermark', time: at, from });
          from = at;
        }
        lastWatermark = time;
        if (from < time) subscriber.next({ type: 'watermark', time, from });
      };

      const sub = source.subscribe({
        next(event) {
          switch (event.type) {
            case 'span':
              addSpan(event.span);
              return;
            case 'watermark':
              if (lastWatermark === Number.NEGATIVE_INFINITY) lastWatermark = event.from;
              completeUpTo(event.time);
              return;
            case 'drain': {
              const all = [...pending.values()];
              pending.clear();
              arrivals = [];
              oldestArrival = 0;
              setBuffered();
              emit(all);
              subscriber.next(event);
              return;
            }
            case 'end':
              subscriber.next(event);
              return;
          }
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          subscriber.complete();
        },
      });
      return () => sub.unsubscribe();
    });
}

/** isParentless, without a regular expression for the usual parent id (not starting with 0). */
function parentless(span: SpanRecord): boolean {
  const p = span.parentSpanId;
  return p === undefined || p === '' || (p.charCodeAt(0) === 48 && isParentless(span));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Start time, then span id: the order of children, and of orphans' placement. */
function byStart(a: SpanRecord, b: SpanRecord): number {
  return a.startMs - b.startMs || compareText(a.spanId, b.spanId);
}

interface BuildNode {
  readonly span: SpanRecord;
  readonly children: BuildNode[];
  reparented?: boolean;
}

function contains(outer: SpanRecord, inner: SpanRecord): boolean {
  return outer.startMs <= inner.startMs && inner.endMs <= outer.endMs;
}

/**
 * Builds the tree of one trace, every span that names no run in the trace's run (src/model/run-ids.ts). Root: the earliest-starting parentless span (else the
 * earliest-starting span whose parent is absent, else the earliest span). Every span not reachable
 * from the root (parent missing, another parentless span, a parent cycle) is attached, with its
 * own subtree, under the deepest placed span containing it in time, else under the root.
 */
export function buildTrace(
  traceId: string,
  spans: readonly SpanRecord[],
  stats?: TraceAssemblerStats,
  metrics?: Pick<AssemblerMetrics, 'reparented'>,
): Trace {
  // spans that name no run (a second service's) are in the trace's run
  const run = traceRunId(spans);
  const sorted = (run === undefined ? [...spans] : spans.map((s) => (namesItsRun(s) ? s : inRun(s, run)))).sort(byStart);
  return treeOf(traceId, sorted, stats, metrics);
}

/**
 * buildTrace for the assembler's own compact copies, which nothing else has seen: their run is
 * set in place and the list sorted in place (profiling the dense live load showed the copies
 * inRun made, a spread per span naming no run, as a fifth of building a trace).
 */
function buildOwnedTrace(traceId: string, spans: SpanRecord[], stats: TraceAssemblerStats, metrics: Pick<AssemblerMetrics, 'reparented'>): Trace {
  const run = traceRunId(spans);
  if (run !== undefined) {
    for (const s of spans) if (!namesItsRun(s)) (s as { runId: string }).runId = run;
  }
  return treeOf(traceId, spans.sort(byStart), stats, metrics);
}

/** The tree of a trace's spans in start order (byStart), each in the trace's run. */
function treeOf(traceId: string, sorted: readonly SpanRecord[], stats?: TraceAssemblerStats, metrics?: Pick<AssemblerMetrics, 'reparented'>): Trace {
  if (sorted.length === 0) throw new Error(`trace ${traceId} has no spans`);
  const nodes = new Map<string, BuildNode>();
  let rootSpan: SpanRecord | undefined;
  for (const span of sorted) {
    nodes.set(span.spanId, { span, children: [] });
    if (rootSpan === undefined && parentless(span)) rootSpan = span;
  }
  rootSpan ??= sorted.find((s) => !nodes.has(s.parentSpanId as string)) ?? (sorted[0] as SpanRecord);
  const root = nodes.get(rootSpan.spanId) as BuildNode;

  // Children by parent id, in start order (sorted is already in that order).
  for (const span of sorted) {
    if (span === rootSpan || parentless(span)) continue;
    const parent = nodes.get(span.parentSpanId as string);
    if (parent === undefined) continue;
    const node = nodes.get(span.spanId) as BuildNode;
    if (parent !== node) parent.children.push(node);
  }

  // Usually every span hangs from the root: then nothing is detached and every child list is in
  // start order already. Each node is in at most one child list and the root in none, so a walk
  // from the root visits each node it reaches once; with distinct span ids, it reaching them all
  // means none is detached.
  if (sorted.length === nodes.size && reachable(root) === nodes.size) {
    let startMs = Number.POSITIVE_INFINITY;
    let endMs = Number.NEGATIVE_INFINITY;
    for (const span of sorted) {
      if (span.startMs < startMs) startMs = span.startMs;
      if (span.endMs > endMs) endMs = span.endMs;
    }
    return { traceId, root: root as TraceNode, spanCount: nodes.size, startMs, endMs };
  }

  // Mark what hangs from the root; whatever is left is detached (orphans, extra roots, cycles).
  const placed = new Set<string>();
  const markPlaced = (start: BuildNode) => {
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop() as BuildNode;
      if (placed.has(n.span.spanId)) continue;
      placed.add(n.span.spanId);
      for (const c of n.children) stack.push(c);
    }
  };
  markPlaced(root);

  // Containers first: earlier start, then longer, so an orphan inside another orphan lands in it.
  const detached = sorted
    .filter((s) => !placed.has(s.spanId))
    .sort((a, b) => a.startMs - b.startMs || b.endMs - a.endMs || compareText(a.spanId, b.spanId));
  for (const span of detached) {
    if (placed.has(span.spanId)) continue; // placed with an earlier orphan's subtree
    const node = nodes.get(span.spanId) as BuildNode;
    // Cut it from a detached parent (a cycle) so it hangs in one place only.
    const parent = span.parentSpanId !== undefined ? nodes.get(span.parentSpanId) : undefined;
    if (parent !== undefined) {
      const i = parent.children.indexOf(node);
      if (i >= 0) parent.children.splice(i, 1);
    }
    const host = deepestContaining(root, span);
    host.children.push(node);
    node.reparented = true;
    if (stats) stats.spansReparented++;
    metrics?.reparented.inc();
    markPlaced(node);
  }

  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const n of nodes.values()) {
    if (n.children.length > 1) n.children.sort((a, b) => byStart(a.span, b.span));
    if (n.span.startMs < startMs) startMs = n.span.startMs;
    if (n.span.endMs > endMs) endMs = n.span.endMs;
  }
  return { traceId, root: root as TraceNode, spanCount: nodes.size, startMs, endMs };
}

/** Nodes reachable from `root` (a tree: each node in at most one child list, the root in none). */
function reachable(root: BuildNode): number {
  let n = 0;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop() as BuildNode;
    n++;
    for (const c of node.children) stack.push(c);
  }
  return n;
}

/**
 * The closest ancestor for an orphan: descend from the root into a child that contains the
 * orphan in time (the latest-starting such child, the tightest), as deep as it goes.
 */
function deepestContaining(root: BuildNode, orphan: SpanRecord): BuildNode {
  let host = root;
  for (;;) {
    let next: BuildNode | undefined;
    for (const c of host.children) {
      if (c.span === orphan || !contains(c.span, orphan)) continue;
      if (next === undefined || c.span.startMs > next.span.startMs || (c.span.startMs === next.span.startMs && c.span.endMs < next.span.endMs))
        next = c;
    }
    if (next === undefined) return host;
    host = next;
  }
}

/** Every node of a trace, depth first, parents before children. */
export function* walkTrace(trace: Trace): Generator<{ node: TraceNode; parent: TraceNode | undefined; depth: number }> {
  const stack: { node: TraceNode; parent: TraceNode | undefined; depth: number }[] = [{ node: trace.root, parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as { node: TraceNode; parent: TraceNode | undefined; depth: number };
    yield item;
    for (let i = item.node.children.length - 1; i >= 0; i--) {
      stack.push({ node: item.node.children[i] as TraceNode, parent: item.node, depth: item.depth + 1 });
    }
  }
}
