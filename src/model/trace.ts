/** A completed trace as a tree (built by src/traces/trace-assembler.ts). */
import type { SpanRecord } from './span.js';

export interface TraceNode {
  readonly span: SpanRecord;
  /** children ordered by start time */
  readonly children: readonly TraceNode[];
  /** true when the real parent never arrived and the node was re-parented under an ancestor */
  readonly reparented?: boolean;
}

export interface Trace {
  readonly traceId: string;
  readonly root: TraceNode;
  readonly spanCount: number;
  /** earliest start and latest end over all spans, epoch ms */
  readonly startMs: number;
  readonly endMs: number;
}
