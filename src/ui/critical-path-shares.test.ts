import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TraceStreamEvent } from '../model/events.js';
import type { Trace, TraceNode } from '../model/trace.js';
import { serviceSchema } from '../config/service-schema.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { criticalPathShares, traceShares, type CriticalPathShare } from './critical-path-shares.js';

const T0 = 1_800_000_000_000;
const windows = serviceSchema.parse({}).windows;

function node(name: string, start: number, end: number, traceId: string, children: TraceNode[] = []): TraceNode {
  return { span: makeSpan({ name, startMs: T0 + start, endMs: T0 + end, traceId }), children };
}

/** A task whose model call holds 600 of its 1000 ms, a tool 300 ms, and a cache lookup run in parallel off the path. */
function trace(n: number, offset: number): Trace {
  const id = n.toString(16).padStart(32, '0');
  const root = node('invoke_agent', offset, offset + 1_000, id, [
    node('chat', offset, offset + 600, id),
    node('cache', offset + 600, offset + 650, id),
    node('execute_tool', offset + 600, offset + 900, id),
  ]);
  return { traceId: id, root, spanCount: 4, startMs: T0 + offset, endMs: T0 + offset + 1_000 };
}

describe('traceShares', () => {
  it('gives each operation its self time on the path over the path length, 0 off the path, and leaves out the root', () => {
    const shares = Object.fromEntries(traceShares(trace(1, 0)).map((s) => [s.span.name, [s.share, s.pathMs]]));
    expect(shares).toEqual({ chat: [0.6, 600], execute_tool: [0.3, 300], cache: [0, 0] });
  });
});

describe('criticalPathShares', () => {
  it('reports mean shares over the longest fine window at each boundary, largest first, capped at top', () => {
    const reports: { time: number; window: string; shares: readonly CriticalPathShare[] }[] = [];
    const input = new Subject<TraceStreamEvent>();
    input.pipe(criticalPathShares({ windows, maxOperations: 10, top: 2, onWatermark: (time, window, shares) => reports.push({ time, window, shares }) })).subscribe();
    for (let i = 0; i < 4; i++) input.next({ type: 'trace', trace: trace(i + 1, i * 2_000) });
    input.next({ type: 'watermark', time: T0 + 10_000, from: T0 });
    expect(reports).toEqual([
      {
        time: T0 + 10_000,
        window: '15m',
        shares: [
          { key: 'kc-orchestrator chat', share: 0.6, traces: 4, meanPathMs: 600 },
          { key: 'kc-orchestrator execute_tool', share: 0.3, traces: 4, meanPathMs: 300 },
        ],
      },
    ]);
    // one watermark closing many boundaries is one report, at its last boundary
    input.next({ type: 'watermark', time: T0 + 600_000, from: T0 + 10_000 });
    expect(reports.slice(1).map((r) => [r.time, r.shares.map((s) => s.traces)])).toEqual([[T0 + 600_000, [4, 4]]]);
    // once the traces leave the 15 m window, nothing is listed
    input.next({ type: 'watermark', time: T0 + 10_000 + 900_000, from: T0 + 600_000 });
    expect(reports[2]?.shares).toEqual([]);
  });
});
