/**
 * What the problems stage needs to know about the spans behind pain points (docs/painpoints.md, Problems), kept once
 * for every detector instead of in each detector's evidence: per pane of event time, counts by
 * span *tuple* (service, span name and every dimension value, error class included) and, from the
 * assembled traces, which tuples' spans sit below which (failed descendants of failed spans;
 * descendants' time on a successful span's critical path; descendants' tokens).
 *
 * Any pain point's subject selects a set of tuples, so one table answers "how much of this pain
 * point's excess comes from that one's spans" for every pair of views, and the trace edges answer
 * "is this caller's trouble its callee's". Bounded: `max_tuples` tuples (new ones beyond it are
 * counted and left out), at most `MAX_EDGES_PER_SPAN` descendants kept per span, panes older than
 * the retention dropped.
 *
 * The engine adds a span or trace with the boundary from which it may be read (`availableAt`): it is
 * staged until the index advances there. So a problem grouped at a boundary reads exactly the
 * spans that ended before it and the traces complete by then, whether the boundary closed on a
 * quiet sidecar's wall clock or in a fast replay that had already received later spans.
 */
import type { SpanRecord } from '../model/span.js';
import type { Subject } from '../model/painpoint.js';
import type { Trace, TraceNode } from '../model/trace.js';

/** Figures of one tuple over a pane or an interval. */
export interface TupleFigures {
  calls: number;
  failures: number;
  /** successful calls and their summed duration (latency is judged over successful calls) */
  ok: number;
  okMs: number;
  tokens: number;
}

export interface Tuple {
  readonly id: number;
  readonly service: string;
  readonly operation: string;
  readonly tool: string | undefined;
  readonly model: string | undefined;
  readonly provider: string | undefined;
  readonly agent: string | undefined;
  readonly task_type: string | undefined;
  readonly error_class: string | undefined;
  /** the last pane it was counted in, to forget it once every pane has gone */
  lastPane: number;
}

/** What traces add to a pane: the figures of spans and their descendants. */
interface TraceEdges {
  /** failed span tuple × failed descendant tuple → failed spans with such a descendant */
  readonly failedBelow: Map<number, number>;
  /** successful span tuple × descendant tuple → the descendant's ms on the span's critical path */
  readonly pathBelow: Map<number, number>;
  /** successful spans with children, by tuple (count and ms), the denominators of pathBelow */
  readonly parents: Map<number, { n: number; ms: number }>;
  /** span tuple × descendant tuple → the descendants' tokens (an agent's tokens are its model calls') */
  readonly tokensBelow: Map<number, number>;
  /** by tuple, the calls and tokens of its spans in whole assembled traces (the denominators of tokensBelow) */
  readonly traced: Map<number, TracedFigures>;
  /** failed span tuple × tuple of the call made in its place (replacements) → such calls */
  readonly replacedBy: Map<number, number>;
  /** bumped by every change to the pane: an interval summed over it is stale once this moves */
  version: number;
}

interface Pane extends TraceEdges {
  readonly start: number;
  readonly tuples: Map<number, TupleFigures>;
}

/** summed intervals kept (by start); beyond it the cache starts again */
const MAX_CACHED_INTERVALS = 256;

/** subjects whose matching tuples are kept; beyond it the cache starts again */
const MAX_CACHED_MATCHES = 1_024;

/** The last table version given out (AttributionIndex.tableVersion). */
let tableVersions = 0;

/** Tuple ids stay below this, so a pair of them is one number. */
const TUPLE_ID_SPACE = 1 << 20;
const MAX_EDGES_PER_SPAN = 16;

export interface AttributionIndexOptions {
  /** pane width (ms) */
  readonly paneMs: number;
  /** panes older than this behind the latest time are dropped (ms) */
  readonly retentionMs: number;
  readonly maxTuples: number;
}

export interface IntervalFigures {
  /** tuple id → figures summed over the interval */
  readonly tuples: Map<number, TupleFigures>;
  readonly failedBelow: Map<number, number>;
  readonly pathBelow: Map<number, number>;
  readonly parents: Map<number, { n: number; ms: number }>;
  readonly tokensBelow: Map<number, number>;
  /**
   * by tuple, the calls and tokens of its spans in whole assembled traces (rooted at a parentless
   * span): what tokensBelow is a part of. A model call is counted (tuples) as it ends, its place
   * below an agent only once the agent's trace is assembled; the calls of traces still running, or
   * emitted as a fragment without their agent's span (a long task past the assembler's wait), are
   * in the one and not below any agent.
   */
  readonly traced: Map<number, TracedFigures>;
  /**
   * failed span tuple × the tuple of the call made in its place → such calls, in whole assembled
   * traces (by the replacing call's end): the next sibling under the same parent, started after the
   * failed call ended, that retries it (the same span name) or falls back to another model or
   * provider (both calls name one). Its denominators are `traced`.
   */
  readonly replacedBy: Map<number, number>;
}

export interface TracedFigures {
  calls: number;
  tokens: number;
}

export const pairKey = (a: number, b: number): number => a * TUPLE_ID_SPACE + b;
/** The first tuple id of a pair key (pairKey's inverse; the second is the key less this times the id space). */
export const pairFirst = (key: number): number => Math.floor(key / TUPLE_ID_SPACE);
export const pairSecond = (key: number): number => key - pairFirst(key) * TUPLE_ID_SPACE;

export class AttributionIndex {
  private readonly panes = new Map<number, Pane>();
  /**
   * The panes in the map's order, and whether that is time order: interval() then finds the panes
   * it covers by bisection instead of testing every retained pane (profiled on the kc history)
   */
  private paneList: Pane[] = [];
  private panesInOrder = true;
  /** spans' figures by the boundary they may be read from, then by pane (bounded by tuples × panes) */
  private readonly stagedSpans = new Map<number, Map<number, Map<number, TupleFigures>>>();
  /**
   * traces' figures by the boundary they may be read from, then by pane: summed as each trace comes,
   * so what waits for a boundary is bounded by tuples × panes, never by the traces (a sidecar whose
   * trace caps complete traces early while event time stands still held every such trace here)
   */
  private readonly stagedTraces = new Map<number, Map<number, TraceEdges>>();
  /** figures of traces whose boundary is not known yet (placeHeldTraces names it), by pane */
  private heldTraces = new Map<number, TraceEdges>();
  private readonly tupleIds = new Map<string, Tuple>();
  private readonly byId = new Map<number, Tuple>();
  /** the last interval summed from each start (see interval) */
  private readonly summed = new Map<number, SummedFigures>();
  /** the last interval summed from each first pane (see interval) */
  private readonly summedByFirst = new Map<Pane, SummedFigures>();
  /**
   * matching()'s answers by subject, valid while the tuple table is the same (`tuplesVersion`):
   * the problems stage asks for every active pain point's tuples at every regrouping, and scanning
   * every tuple for each was a tenth of a kc history's CPU (profiled)
   */
  private readonly matched = new Map<string, { readonly version: number; readonly ids: readonly number[] }>();
  /** set anew whenever a tuple is added or forgotten (unique across indexes: see tableVersion) */
  private tuplesVersion = ++tableVersions;
  private nextId = 1;
  private latest = Number.NEGATIVE_INFINITY;
  /** spans of tuples beyond `maxTuples`, left out */
  droppedSpans = 0;

  constructor(private readonly options: AttributionIndexOptions) {}

  get paneMs(): number {
    return this.options.paneMs;
  }

  tuple(id: number): Tuple | undefined {
    return this.byId.get(id);
  }

  get tupleCount(): number {
    return this.byId.size;
  }

  /**
   * Moves whenever a tuple is added or forgotten: matching() answers the same while it stands. No
   * two indexes share one, so a version names one index's table.
   */
  get tableVersion(): number {
    return this.tuplesVersion;
  }

  /** Counts a span, at once or (`availableAt` ahead of the index) once the index advances there. */
  addSpan(span: SpanRecord, availableAt = Number.NEGATIVE_INFINITY): void {
    const tuple = this.tupleFor(span);
    if (tuple === null) return;
    let tuples: Map<number, TupleFigures>;
    if (availableAt > this.latest) {
      const start = this.paneStartOf(span.endMs);
      tuple.lastPane = Math.max(tuple.lastPane, start);
      let byPane = this.stagedSpans.get(availableAt);
      if (byPane === undefined) this.stagedSpans.set(availableAt, (byPane = new Map()));
      let staged = byPane.get(start);
      if (staged === undefined) byPane.set(start, (staged = new Map()));
      tuples = staged;
    } else {
      const pane = this.pane(span.endMs);
      if (pane === undefined) return;
      tuple.lastPane = Math.max(tuple.lastPane, pane.start);
      pane.version++;
      tuples = pane.tuples;
    }
    let f = tuples.get(tuple.id);
    if (f === undefined) tuples.set(tuple.id, (f = { calls: 0, failures: 0, ok: 0, okMs: 0, tokens: 0 }));
    f.calls++;
    if (span.failed) f.failures++;
    else {
      f.ok++;
      f.okMs += span.durationMs;
    }
    f.tokens += (span.inputTokens ?? 0) + (span.outputTokens ?? 0);
  }

  /**
   * Records, for every span of the trace, its failed descendants and its critical path's
   * descendants: at once, or (`availableAt` ahead of the index) once the index advances there.
   */
  addTrace(trace: Trace, availableAt = Number.NEGATIVE_INFINITY): void {
    if (availableAt > this.latest) {
      let staged = this.stagedTraces.get(availableAt);
      if (staged === undefined) this.stagedTraces.set(availableAt, (staged = new Map()));
      this.visit(trace.root, trace.root.span.startMs, trace.root.span.endMs, this.stagingPane(staged));
      return;
    }
    this.visit(trace.root, trace.root.span.startMs, trace.root.span.endMs, (endMs) => this.pane(endMs));
  }

  /**
   * Counts a trace whose boundary is named later (placeHeldTraces): a trace the assembler completes
   * early, at a cap, comes before the watermark that says from which boundary it may be read. Its
   * figures are kept, summed by pane, not the trace.
   */
  holdTrace(trace: Trace): void {
    this.visit(trace.root, trace.root.span.startMs, trace.root.span.endMs, this.stagingPane(this.heldTraces));
  }

  /** The held traces may be read from `availableAt`: staged until the index advances there, or counted at once. */
  placeHeldTraces(availableAt = Number.NEGATIVE_INFINITY): void {
    if (this.heldTraces.size === 0) return;
    const held = this.heldTraces;
    this.heldTraces = new Map();
    if (availableAt > this.latest) {
      const staged = this.stagedTraces.get(availableAt);
      if (staged === undefined) this.stagedTraces.set(availableAt, held);
      else for (const [start, edges] of held) mergeEdges(this.stagingPane(staged)(start) as TraceEdges, edges);
      return;
    }
    this.applyEdges(held);
  }

  /** Moves the index to `time` (a boundary): what was staged up to it counts, older panes go. */
  advance(time: number): void {
    if (time <= this.latest) return;
    this.latest = time;
    this.applyStaged(time);
    const oldest = time - this.options.retentionMs;
    for (const from of this.summed.keys()) if (from < oldest) this.summed.delete(from);
    let dropped = false;
    if (this.panesInOrder) {
      // in time order the panes to drop are the first ones
      let k = 0;
      while (k < this.paneList.length && (this.paneList[k] as Pane).start + this.options.paneMs <= oldest) this.panes.delete((this.paneList[k++] as Pane).start);
      if (k > 0) {
        dropped = true;
        this.paneList = this.paneList.slice(k);
      }
    } else {
      for (const start of this.panes.keys()) {
        if (start + this.options.paneMs <= oldest) {
          this.panes.delete(start);
          dropped = true;
        }
      }
      if (dropped) {
        this.paneList = [...this.panes.values()];
        let inOrder = true;
        for (let i = 1; i < this.paneList.length && inOrder; i++) inOrder = (this.paneList[i - 1] as Pane).start < (this.paneList[i] as Pane).start;
        this.panesInOrder = inOrder;
      }
    }
    if (dropped) for (const first of this.summedByFirst.keys()) if (first.start + this.options.paneMs <= oldest) this.summedByFirst.delete(first);
    // forget tuples no retained pane counts, once the table is half full
    if (dropped && this.byId.size > this.options.maxTuples / 2) {
      for (const [key, t] of this.tupleIds) {
        if (t.lastPane + this.options.paneMs <= oldest) {
          this.tupleIds.delete(key);
          this.byId.delete(t.id);
          this.tuplesVersion = ++tableVersions;
        }
      }
    }
  }

  /**
   * Everything counted in panes ending after `from` and starting before `to`. Never modify the
   * result: it may be shared with earlier and later calls.
   *
   * The problems stage asks at every regrouping for intervals from a pain point's start to the
   * watermark (and the baseline before that start): the same start with a later end, over the same
   * panes plus newer ones. So the last interval summed from each start is kept, and reused while the
   * panes it summed are still the first ones in range, unchanged: the newer panes are added to a copy
   * of it, which sums the same values in the same order as summing every pane again.
   *
   * Each of the result's maps is summed when first read (SummedFigures), from the panes as they are
   * now: read it before the index changes again (a later read throws).
   */
  interval(from: number, to: number): IntervalFigures {
    const paneMs = this.options.paneMs;
    let covered: Pane[];
    const list = this.paneList;
    if (this.panesInOrder) {
      // panes made in time order (the usual case): the covered ones are a run of the list
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((list[mid] as Pane).start + paneMs <= from) lo = mid + 1;
        else hi = mid;
      }
      let end = lo;
      while (end < list.length && (list[end] as Pane).start < to) end++;
      covered = list.slice(lo, end);
    } else {
      covered = [];
      for (const pane of list) if (!(pane.start + paneMs <= from || pane.start >= to)) covered.push(pane);
    }
    const last = this.summed.get(from);
    let reused = last === undefined ? -1 : last.unchangedPrefixOf(covered);
    if (reused === covered.length) return last as SummedFigures;
    let extended = reused > 0 ? last : undefined;
    // a start that moved past no pane (the interval's start slides with the watermark, and the
    // panes hold runs with quiet time between) has the same first panes as an earlier start
    const first = covered[0];
    const byFirst = first === undefined ? undefined : this.summedByFirst.get(first);
    if (byFirst !== undefined && byFirst !== last) {
      const prefix = byFirst.unchangedPrefixOf(covered);
      if (prefix === covered.length) return byFirst;
      if (prefix > reused) {
        reused = prefix;
        extended = byFirst;
      }
    }
    if (reused < 0) reused = 0;
    const figures = new SummedFigures(covered, extended, reused);
    if (this.summed.size >= MAX_CACHED_INTERVALS && last === undefined) this.summed.clear();
    this.summed.set(from, figures);
    if (first !== undefined) {
      if (this.summedByFirst.size >= MAX_CACHED_INTERVALS && byFirst === undefined) this.summedByFirst.clear();
      this.summedByFirst.set(first, figures);
    }
    return figures;
  }

  /** Ids of the known tuples whose spans are in the series `subject` names, in the table's order. Never modify the result: it is shared. */
  matching(subject: Subject): readonly number[] {
    const key = `${subject.service}\u0000${subject.operation ?? '\u0001'}\u0000${subject.tool ?? '\u0001'}\u0000${subject.model ?? '\u0001'}\u0000${subject.provider ?? '\u0001'}\u0000${subject.agent ?? '\u0001'}\u0000${subject.task_type ?? '\u0001'}\u0000${subject.error_class ?? '\u0001'}`;
    const cached = this.matched.get(key);
    if (cached !== undefined && cached.version === this.tuplesVersion) return cached.ids;
    const ids: number[] = [];
    for (const t of this.byId.values()) if (tupleMatches(t, subject)) ids.push(t.id);
    if (this.matched.size >= MAX_CACHED_MATCHES && cached === undefined) this.matched.clear();
    this.matched.set(key, { version: this.tuplesVersion, ids });
    return ids;
  }

  /** Staged figures and traces available by `time`, in the order of their boundaries. */
  private applyStaged(time: number): void {
    if (this.stagedSpans.size > 0) {
      for (const at of [...this.stagedSpans.keys()].filter((a) => a <= time).sort((a, b) => a - b)) {
        for (const [start, tuples] of this.stagedSpans.get(at) as Map<number, Map<number, TupleFigures>>) {
          const pane = this.pane(start);
          if (pane === undefined) continue;
          // a pane changed after an interval summed it: the interval is summed again
          pane.version++;
          for (const [id, f] of tuples) {
            const acc = pane.tuples.get(id);
            if (acc === undefined) pane.tuples.set(id, f);
            else addFigures(acc, f);
          }
        }
        this.stagedSpans.delete(at);
      }
    }
    if (this.stagedTraces.size > 0) {
      for (const at of [...this.stagedTraces.keys()].filter((a) => a <= time).sort((a, b) => a - b)) {
        this.applyEdges(this.stagedTraces.get(at) as Map<number, TraceEdges>);
        this.stagedTraces.delete(at);
      }
    }
  }

  /** Adds traces' figures, by pane, to the panes still retained. */
  private applyEdges(byPane: Map<number, TraceEdges>): void {
    for (const [start, edges] of byPane) {
      const pane = this.pane(start);
      if (pane === undefined) continue;
      pane.version++;
      mergeEdges(pane, edges);
    }
  }

  /** The staging pane for an end time, in `byPane` (created when missing). */
  private stagingPane(byPane: Map<number, TraceEdges>): (endMs: number) => TraceEdges {
    return (endMs) => {
      const start = this.paneStartOf(endMs);
      let edges = byPane.get(start);
      if (edges === undefined) byPane.set(start, (edges = { failedBelow: new Map(), pathBelow: new Map(), parents: new Map(), tokensBelow: new Map(), traced: new Map(), replacedBy: new Map(), version: 0 }));
      return edges;
    };
  }

  private paneStartOf(timeMs: number): number {
    return Math.floor(timeMs / this.options.paneMs) * this.options.paneMs;
  }

  private pane(timeMs: number): Pane | undefined {
    const start = this.paneStartOf(timeMs);
    if (start + this.options.paneMs <= this.latest - this.options.retentionMs) return undefined;
    let pane = this.panes.get(start);
    if (pane === undefined) {
      pane = { start, tuples: new Map(), failedBelow: new Map(), pathBelow: new Map(), parents: new Map(), tokensBelow: new Map(), traced: new Map(), replacedBy: new Map(), version: 0 };
      this.panes.set(start, pane);
      const last = this.paneList[this.paneList.length - 1];
      if (last !== undefined && last.start > start) this.panesInOrder = false;
      this.paneList.push(pane);
    }
    return pane;
  }

  /**
   * The span's tuple; null when it is new and the table is full (counted when `count`: the spans of
   * traces are counted already, as they arrived, and the trace assembler hands over copies of them).
   */
  private tupleFor(span: SpanRecord, count = true): Tuple | null {
    // no per-span cache: a span is looked up once as it comes and once as a trace's copy (another
    // object), so a WeakMap by span never hit and cost the sidecar 4 % of its CPU (profiled)
    const key = `${span.service}\u0000${span.name}\u0000${span.tool ?? ''}\u0000${span.model ?? ''}\u0000${span.provider ?? ''}\u0000${span.agent ?? ''}\u0000${span.taskType ?? ''}\u0000${span.errorClass ?? ''}`;
    let tuple = this.tupleIds.get(key) ?? null;
    if (tuple === null) {
      if (this.byId.size >= this.options.maxTuples || this.nextId >= TUPLE_ID_SPACE) {
        // ids are not reused; once they run out the table starts again (it only informs grouping)
        if (this.nextId >= TUPLE_ID_SPACE && this.byId.size === 0) this.nextId = 1;
        if (count) this.droppedSpans++;
        return null;
      }
      tuple = {
        id: this.nextId++,
        service: span.service,
        operation: span.name,
        tool: span.tool,
        model: span.model,
        provider: span.provider,
        agent: span.agent,
        task_type: span.taskType,
        error_class: span.errorClass,
        lastPane: Number.NEGATIVE_INFINITY,
      };
      this.tupleIds.set(key, tuple);
      this.byId.set(tuple.id, tuple);
      this.tuplesVersion = ++tableVersions;
    }
    return tuple;
  }

  /**
   * Bottom-up over the trace (explicit stack: traces can be deeper than the call stack): each
   * node's failed descendants' tuples and its critical path's descendants' time by tuple.
   */
  private visit(root: TraceNode, rootStart: number, rootEnd: number, paneOf: (endMs: number) => TraceEdges | undefined): void {
    // a fragment (its root has a parent: emitted before the real root arrived, src/traces/trace-assembler.ts)
    // holds spans whose place below their agent is not known: they are in no `traced` whole
    const whole = root.span.parentSpanId === undefined;
    interface Frame {
      readonly node: TraceNode;
      readonly start: number;
      readonly end: number;
      expanded: boolean;
    }
    const results = new Map<TraceNode, Summary>();
    const stack: Frame[] = [{ node: root, start: rootStart, end: Math.max(rootStart, rootEnd), expanded: false }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as Frame;
      if (!frame.expanded) {
        frame.expanded = true;
        for (const child of frame.node.children) stack.push({ node: child, start: child.span.startMs, end: Math.max(child.span.startMs, child.span.endMs), expanded: false });
        continue;
      }
      stack.pop();
      results.set(frame.node, this.summarize(frame.node, results, whole, paneOf));
    }
  }

  /**
   * A visited child's tuple, looked up once: the visit asks for each span's tuple as itself and as
   * its parent's child (up to five times), and building the key each time was most of the index's
   * cost on a dense load (profiled). First looked up where it was before (tuples are made in that
   * order); a null (the table full) is asked again, as before.
   */
  private tupleOfChild(child: TraceNode, r: Summary | undefined): Tuple | null {
    if (r === undefined) return this.tupleFor(child.span, false);
    if (r.tuple === undefined || r.tuple === null) r.tuple = this.tupleFor(child.span, false);
    return r.tuple;
  }

  /** The calls made in place of a failed sibling (children are in start order), by the replacing call's pane. */
  private countReplacements(children: readonly TraceNode[], results: Map<TraceNode, Summary>, paneOf: (endMs: number) => TraceEdges | undefined): void {
    for (let i = 1; i < children.length; i++) {
      const failedNode = children[i - 1] as TraceNode;
      const nextNode = children[i] as TraceNode;
      const failed = failedNode.span;
      const next = nextNode.span;
      if (!failed.failed || !replaces(failed, next)) continue;
      const a = this.tupleOfChild(failedNode, results.get(failedNode));
      const b = this.tupleOfChild(nextNode, results.get(nextNode));
      const pane = paneOf(next.endMs);
      if (a === null || b === null || pane === undefined) continue;
      pane.version++;
      inc(pane.replacedBy, pairKey(a.id, b.id), 1);
    }
  }

  private summarize(node: TraceNode, results: Map<TraceNode, Summary>, whole: boolean, paneOf: (endMs: number) => TraceEdges | undefined): Summary {
    const span = node.span;
    // its own tuple, looked up once (the parent reads it from the summary)
    let self: Tuple | null | undefined = whole ? this.tupleFor(span, false) : undefined;
    const own = self ?? null;
    const ownPane = own === null ? undefined : paneOf(span.endMs);
    if (own !== null && ownPane !== undefined) {
      ownPane.version++;
      const t = ownPane.traced.get(own.id);
      const n = (span.inputTokens ?? 0) + (span.outputTokens ?? 0);
      if (t === undefined) ownPane.traced.set(own.id, { calls: 1, tokens: n });
      else {
        t.calls++;
        t.tokens += n;
      }
    }
    // a leaf passes nothing up: no sets to make (most spans are leaves)
    if (node.children.length === 0) return { failed: NO_IDS, path: NO_FIGURES, tokens: NO_FIGURES, tuple: self };
    const failed = new Set<number>();
    const path = new Map<number, number>();
    const tokens = new Map<number, number>();
    {
      // descendants' tokens by tuple
      for (const child of node.children) {
        const r = results.get(child);
        const ct = this.tupleOfChild(child, r);
        const own = (child.span.inputTokens ?? 0) + (child.span.outputTokens ?? 0);
        if (ct !== null && own > 0 && (tokens.has(ct.id) || tokens.size < MAX_EDGES_PER_SPAN)) inc(tokens, ct.id, own);
        for (const [id, n] of r?.tokens ?? []) if (tokens.has(id) || tokens.size < MAX_EDGES_PER_SPAN) inc(tokens, id, n);
      }
      // failed descendants
      for (const child of node.children) {
        const r = results.get(child);
        const ct = this.tupleOfChild(child, r);
        if (child.span.failed && ct !== null && failed.size < MAX_EDGES_PER_SPAN) failed.add(ct.id);
        if (r !== undefined) for (const id of r.failed) if (failed.size < MAX_EDGES_PER_SPAN) failed.add(id);
      }
      // the critical path through the children, as src/traces/critical-path.ts takes it
      const clipped = node.children
        .map((c) => ({ c, s: Math.max(c.span.startMs, span.startMs), e: Math.min(c.span.endMs, span.endMs) }))
        .filter((x) => x.e > x.s)
        .sort((a, b) => b.e - a.e || a.s - b.s);
      let cursor = span.endMs;
      for (const x of clipped) {
        if (cursor <= span.startMs) break;
        if (x.e > cursor) continue;
        cursor = x.s;
        const ms = x.e - x.s;
        const below = results.get(x.c);
        const ct = this.tupleOfChild(x.c, below);
        if (ct !== null) path.set(ct.id, (path.get(ct.id) ?? 0) + ms);
        const full = x.c.span.durationMs;
        if (below !== undefined && full > 0) {
          const scale = ms / full;
          for (const [id, t] of below.path) path.set(id, (path.get(id) ?? 0) + t * scale);
        }
      }
      if (path.size > MAX_EDGES_PER_SPAN) {
        const kept = [...path].sort((a, b) => b[1] - a[1]).slice(0, MAX_EDGES_PER_SPAN);
        path.clear();
        for (const [id, t] of kept) path.set(id, t);
      }
      if (self === undefined || self === null) self = this.tupleFor(span, false);
      const tuple = self;
      const pane = tuple === null ? undefined : paneOf(span.endMs);
      if (tuple !== null && pane !== undefined) {
        pane.version++;
        for (const [id, n] of tokens) inc(pane.tokensBelow, pairKey(tuple.id, id), n);
        if (span.failed) for (const id of failed) inc(pane.failedBelow, pairKey(tuple.id, id), 1);
        else {
          for (const [id, t] of path) inc(pane.pathBelow, pairKey(tuple.id, id), t);
          const p = pane.parents.get(tuple.id);
          if (p === undefined) pane.parents.set(tuple.id, { n: 1, ms: span.durationMs });
          else {
            p.n++;
            p.ms += span.durationMs;
          }
        }
      }
      if (whole) this.countReplacements(node.children, results, paneOf);
    }
    // children's results are no longer needed once the parent has them
    for (const child of node.children) results.delete(child);
    return { failed, path, tokens, tuple: self };
  }
}

/** Whether `next`, the sibling after the failed call `failed`, is made in its place: its retry, or a fallback to another model or provider. */
function replaces(failed: SpanRecord, next: SpanRecord): boolean {
  if (next.startMs < failed.endMs) return false;
  if (next.name === failed.name) return true;
  return (failed.model ?? failed.provider) !== undefined && (next.model ?? next.provider) !== undefined;
}

/** What a span passes up to its parent: its failed descendants, its critical path's time and its descendants' tokens, by tuple. */
interface Summary {
  readonly failed: ReadonlySet<number>;
  readonly path: ReadonlyMap<number, number>;
  readonly tokens: ReadonlyMap<number, number>;
  /** its span's tuple once looked up (undefined before; null when the table was full) */
  tuple: Tuple | null | undefined;
}

/** A leaf's summary: nothing below it (shared, never modified). */
const NO_IDS: ReadonlySet<number> = new Set();
const NO_FIGURES: ReadonlyMap<number, number> = new Map();

/** Adds traces' figures of one pane to another's (a pane, or a staging pane). */
function mergeEdges(into: Omit<TraceEdges, 'version'>, from: Omit<TraceEdges, 'version'>): void {
  addAll(into.failedBelow, from.failedBelow);
  addAll(into.pathBelow, from.pathBelow);
  addAll(into.tokensBelow, from.tokensBelow);
  addAll(into.replacedBy, from.replacedBy);
  addEntries(into.parents, from.parents, copyParent, addParent);
  addEntries(into.traced, from.traced, copyTraced, addTraced);
}

/** Adds one tuple's figures to another's, field by field (staging a pane and summing an interval alike). */
function addFigures(into: TupleFigures, f: TupleFigures): void {
  into.calls += f.calls;
  into.failures += f.failures;
  into.ok += f.ok;
  into.okMs += f.okMs;
  into.tokens += f.tokens;
}

type ParentFigures = { n: number; ms: number };
const copyParent = (x: ParentFigures): ParentFigures => ({ n: x.n, ms: x.ms });
function addParent(p: ParentFigures, x: ParentFigures): void {
  p.n += x.n;
  p.ms += x.ms;
}
const copyTraced = (t: TracedFigures): TracedFigures => ({ calls: t.calls, tokens: t.tokens });
function addTraced(acc: TracedFigures, t: TracedFigures): void {
  acc.calls += t.calls;
  acc.tokens += t.tokens;
}

/** Adds `from`'s entries to `into`'s: a new id gets a fresh copy (the source stays unshared). */
function addEntries<V>(into: Map<number, V>, from: Map<number, V>, fresh: (v: V) => V, add: (acc: V, v: V) => void): void {
  for (const [id, v] of from) {
    const acc = into.get(id);
    if (acc === undefined) into.set(id, fresh(v));
    else add(acc, v);
  }
}

function inc(map: Map<number, number>, key: number, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function addAll(into: Map<number, number>, from: Map<number, number>): void {
  for (const [k, v] of from) inc(into, k, v);
}

/** The maps of an interval's figures summed so far (SummedFigures). */
interface SummedMaps {
  tuples?: Map<number, TupleFigures>;
  failedBelow?: Map<number, number>;
  pathBelow?: Map<number, number>;
  parents?: Map<number, { n: number; ms: number }>;
  tokensBelow?: Map<number, number>;
  traced?: Map<number, TracedFigures>;
  replacedBy?: Map<number, number>;
}

type PairMap = 'failedBelow' | 'pathBelow' | 'tokensBelow' | 'replacedBy';

/**
 * An interval's figures, each map summed over its panes (in their order) when first read: the
 * problems stage reads the span counts of every interval and the trace edges of few (profiling the
 * kc history: it read failedBelow of some and the other trace maps of none), and summing all of
 * them was most of an interval's cost. A map the interval it extends (the same first panes, at the
 * same versions) had summed when this one was made is copied and the newer panes added: the same
 * values in the same order as summing every pane. Maps are summed from the panes as they are when
 * read, so they are read before the index changes them (checked: a read after throws).
 *
 * The maps are own enumerable accessors and the rest is private, so spreading and deep equality
 * see the figures as if they had been summed at once.
 */
class SummedFigures implements IntervalFigures {
  declare readonly tuples: Map<number, TupleFigures>;
  declare readonly failedBelow: Map<number, number>;
  declare readonly pathBelow: Map<number, number>;
  declare readonly parents: Map<number, { n: number; ms: number }>;
  declare readonly tokensBelow: Map<number, number>;
  declare readonly traced: Map<number, TracedFigures>;
  declare readonly replacedBy: Map<number, number>;
  readonly #panes: readonly Pane[];
  /** each pane's version when the interval was asked for */
  readonly #versions: readonly number[];
  /** how many first panes the seed's maps cover */
  readonly #reused: number;
  /** the extended interval's maps over its panes, as they were when this was made; dropped once used */
  readonly #seed: SummedMaps;
  readonly #maps: SummedMaps = {};

  constructor(panes: readonly Pane[], extended: SummedFigures | undefined, reused: number) {
    this.#panes = panes;
    this.#versions = panes.map((p) => p.version);
    this.#reused = reused;
    this.#seed = extended === undefined ? {} : { ...extended.#maps };
    Object.defineProperties(this, SUMMED_ACCESSORS);
  }

  /** How many of `covered`'s first panes are this interval's, unchanged; -1 when not all of this interval's are. */
  unchangedPrefixOf(covered: readonly Pane[]): number {
    const panes = this.#panes;
    if (panes.length > covered.length) return -1;
    for (let i = 0; i < panes.length; i++) if (panes[i] !== covered[i] || this.#versions[i] !== (covered[i] as Pane).version) return -1;
    return panes.length;
  }

  static tuplesOf(f: SummedFigures): Map<number, TupleFigures> {
    return SummedFigures.sharedSum(f, 'tuples', (t) => ({ ...t }), addFigures);
  }

  static parentsOf(f: SummedFigures): Map<number, ParentFigures> {
    return SummedFigures.sharedSum(f, 'parents', copyParent, addParent);
  }

  static tracedOf(f: SummedFigures): Map<number, TracedFigures> {
    return SummedFigures.sharedSum(f, 'traced', copyTraced, addTraced);
  }

  /**
   * Map `name` summed over the panes when first read: entries of a new id are `fresh` copies, and
   * the seed's entries are shared until a newer pane adds to one (then it is copied first): most of
   * an extended interval's entries are not in its newer panes.
   */
  private static sharedSum<K extends 'tuples' | 'parents' | 'traced', V extends object>(
    f: SummedFigures,
    name: K,
    fresh: (v: V) => V,
    add: (acc: V, v: V) => void,
  ): Map<number, V> {
    const maps = f.#maps as Record<K, Map<number, V> | undefined>;
    let m = maps[name];
    if (m === undefined) {
      const start = f.#startFrom(name);
      const seed = (f.#seed as Record<K, Map<number, V> | undefined>)[name];
      m = new Map(seed);
      for (let i = start; i < f.#panes.length; i++) {
        for (const [id, v] of (f.#panes[i] as Pane)[name] as Map<number, V>) {
          let acc = m.get(id);
          if (acc === undefined) m.set(id, fresh(v));
          else {
            if (acc === seed?.get(id)) m.set(id, (acc = { ...acc }));
            add(acc, v);
          }
        }
      }
      maps[name] = m;
      delete f.#seed[name];
    }
    return m;
  }

  static pairsOf(f: SummedFigures, name: PairMap): Map<number, number> {
    let m = f.#maps[name];
    if (m === undefined) {
      const start = f.#startFrom(name);
      m = new Map(f.#seed[name]);
      for (let i = start; i < f.#panes.length; i++) addAll(m, (f.#panes[i] as Pane)[name]);
      f.#maps[name] = m;
      delete f.#seed[name];
    }
    return m;
  }

  /** The first pane to add for a map (after the seed's panes, when it has that map); throws when a pane changed since. */
  #startFrom(name: keyof SummedMaps): number {
    for (let i = 0; i < this.#panes.length; i++) {
      if ((this.#panes[i] as Pane).version !== this.#versions[i]) throw new Error("attribution index: an interval's figures read after its panes changed");
    }
    return this.#seed[name] === undefined ? 0 : this.#reused;
  }
}

const SUMMED_ACCESSORS: PropertyDescriptorMap = {
  tuples: { enumerable: true, get(this: SummedFigures) { return SummedFigures.tuplesOf(this); } },
  failedBelow: { enumerable: true, get(this: SummedFigures) { return SummedFigures.pairsOf(this, 'failedBelow'); } },
  pathBelow: { enumerable: true, get(this: SummedFigures) { return SummedFigures.pairsOf(this, 'pathBelow'); } },
  parents: { enumerable: true, get(this: SummedFigures) { return SummedFigures.parentsOf(this); } },
  tokensBelow: { enumerable: true, get(this: SummedFigures) { return SummedFigures.pairsOf(this, 'tokensBelow'); } },
  traced: { enumerable: true, get(this: SummedFigures) { return SummedFigures.tracedOf(this); } },
  replacedBy: { enumerable: true, get(this: SummedFigures) { return SummedFigures.pairsOf(this, 'replacedBy'); } },
};

/** Whether the spans of a tuple are in the series a subject names (its fields all agree). */
export function tupleMatches(t: Tuple, s: Subject): boolean {
  return (
    t.service === s.service &&
    (s.operation === undefined || t.operation === s.operation) &&
    (s.tool === undefined || t.tool === s.tool) &&
    (s.model === undefined || t.model === s.model) &&
    (s.provider === undefined || t.provider === s.provider) &&
    (s.agent === undefined || t.agent === s.agent) &&
    (s.task_type === undefined || t.task_type === s.task_type) &&
    (s.error_class === undefined || t.error_class === s.error_class)
  );
}
