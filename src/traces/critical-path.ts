/**
 * The critical path of a trace: the chain of spans that sets its end-to-end duration, with
 * overlap taken into account, computed as Jaeger's critical-path view does.
 *
 * From a span's end (the cursor), take the child that finished last at or before the cursor,
 * descend into it, then move the cursor to that child's start and continue with the children
 * that finished before it. Children skipped on the way ran in parallel with a child on the path
 * and did not delay the parent. Time of a span not covered by path children is its self time.
 *
 * Children are clipped to their parent's interval first (as Jaeger does): the part of a child
 * that outlives its parent (fire-and-forget work) did not delay the parent, nor did the part
 * that started before it. So the path's length is the root span's duration.
 */
import type { SpanRecord } from '../model/span.js';
import type { Trace, TraceNode } from '../model/trace.js';

export interface CriticalPathEntry {
  readonly span: SpanRecord;
  /** time (ms) this span itself, not a child, is on the critical path */
  readonly selfMs: number;
  /** the span's interval clipped to its ancestors */
  readonly startMs: number;
  readonly endMs: number;
}

export interface CriticalPath {
  /** length of the path: the root span's duration */
  readonly totalMs: number;
  /** every span on the path, parents before their children */
  readonly entries: readonly CriticalPathEntry[];
}

interface Clipped {
  readonly node: TraceNode;
  readonly startMs: number;
  readonly endMs: number;
}

export function criticalPath(traceOrRoot: Trace | TraceNode): CriticalPath {
  const root = 'root' in traceOrRoot ? traceOrRoot.root : traceOrRoot;
  const rootSpan = root.span;
  const totalMs = Math.max(0, rootSpan.endMs - rootSpan.startMs);
  const entries: CriticalPathEntry[] = [];
  // An explicit stack: traces can be deeper than the call stack allows.
  const stack: Clipped[] = [{ node: root, startMs: rootSpan.startMs, endMs: Math.max(rootSpan.startMs, rootSpan.endMs) }];
  while (stack.length > 0) {
    const item = stack.pop() as Clipped;
    const children: Clipped[] = [];
    for (const child of item.node.children) {
      const startMs = Math.max(child.span.startMs, item.startMs);
      const endMs = Math.min(child.span.endMs, item.endMs);
      // A child with nothing inside its parent's interval cannot be on the path.
      if (endMs > startMs) children.push({ node: child, startMs, endMs });
    }
    // Last finishing first; on a tie the longer child, which covers more of the parent.
    children.sort((a, b) => b.endMs - a.endMs || a.startMs - b.startMs);
    let cursor = item.endMs;
    let childMs = 0;
    const onPath: Clipped[] = [];
    for (const child of children) {
      if (cursor <= item.startMs) break;
      // ≤ (Jaeger uses <): a child ending exactly where the next one starts is on the path.
      if (child.endMs > cursor) continue; // ran in parallel with a child already on the path
      onPath.push(child);
      childMs += child.endMs - child.startMs;
      cursor = child.startMs;
    }
    entries.push({ span: item.node.span, selfMs: item.endMs - item.startMs - childMs, startMs: item.startMs, endMs: item.endMs });
    // onPath is latest first, so the stack pops the earliest child first (entries in time order per level).
    for (let i = 0; i < onPath.length; i++) stack.push(onPath[i] as Clipped);
  }
  return { totalMs, entries };
}

export interface OperationPathTime {
  /** self time on the critical path of every span of this operation key */
  readonly selfMs: number;
  /** the span of this operation with the most self time on the path (the exemplar) */
  readonly span: SpanRecord;
}

/** Self time on the critical path summed per operation key (docs/input.md), in descending order of time. */
export function criticalPathByOperation(path: CriticalPath): Map<string, OperationPathTime> {
  const byKey = new Map<string, { selfMs: number; span: SpanRecord; best: number }>();
  for (const entry of path.entries) {
    const key = entry.span.operationKey;
    const acc = byKey.get(key);
    if (acc === undefined) byKey.set(key, { selfMs: entry.selfMs, span: entry.span, best: entry.selfMs });
    else {
      acc.selfMs += entry.selfMs;
      if (entry.selfMs > acc.best) {
        acc.best = entry.selfMs;
        acc.span = entry.span;
      }
    }
  }
  const sorted = [...byKey].sort((a, b) => b[1].selfMs - a[1].selfMs);
  return new Map(sorted.map(([key, v]) => [key, { selfMs: v.selfMs, span: v.span }]));
}
