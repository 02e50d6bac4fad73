/**
 * Summary statistics of an offline input for reports: per operation key, calls, failures and
 * exact percentiles of successful durations (offline input is in memory already), plus a
 * timeline for charts.
 */
import { quantileSorted } from 'simple-statistics';
import type { SpanRecord } from '../model/span.js';
import type { AnalysisStatistics, OperationStatistics } from '../model/analysis.js';
import { namesItsRun, TraceRuns } from '../model/run-ids.js';

/** at most this many timeline points per operation, so a day-long input still charts in a glance */
const TIMELINE_POINTS = 60;
const MIN_BUCKET_MS = 10_000;

interface OpAcc {
  service: string;
  operation: string;
  calls: number;
  failures: number;
  ok: number[];
  buckets: Map<number, { calls: number; failures: number; ok: number[] }>;
}

const percentile = (sorted: number[], q: number) => (sorted.length === 0 ? null : quantileSorted(sorted, q));

export function operationStatistics(spans: readonly SpanRecord[]): {
  operations: OperationStatistics[];
  traces: number;
  runs: number;
  failed: number;
  start: number | null;
  end: number | null;
} {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const s of spans) {
    if (s.startMs < start) start = s.startMs;
    if (s.endMs > end) end = s.endMs;
  }
  const range = Number.isFinite(start) ? Math.max(end - start, 1) : 1;
  const bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(range / TIMELINE_POINTS / MIN_BUCKET_MS) * MIN_BUCKET_MS);

  // the whole input is at hand: a span that names no run counts in its trace's run
  const traceRuns = new TraceRuns(Number.MAX_SAFE_INTEGER);
  for (const s of spans) traceRuns.learn(s);
  const ops = new Map<string, OpAcc>();
  const traces = new Set<string>();
  const runs = new Set<string>();
  let failed = 0;
  for (const s of spans) {
    traces.add(s.traceId);
    runs.add(namesItsRun(s) ? s.runId : (traceRuns.runOf(s.traceId) ?? s.runId));
    if (s.failed) failed++;
    let acc = ops.get(s.operationKey);
    if (!acc) {
      acc = { service: s.service, operation: s.name, calls: 0, failures: 0, ok: [], buckets: new Map() };
      ops.set(s.operationKey, acc);
    }
    acc.calls++;
    const bucketStart = Math.floor((s.endMs - start) / bucketMs) * bucketMs + start;
    let b = acc.buckets.get(bucketStart);
    if (!b) {
      b = { calls: 0, failures: 0, ok: [] };
      acc.buckets.set(bucketStart, b);
    }
    b.calls++;
    if (s.failed) {
      acc.failures++;
      b.failures++;
    } else {
      acc.ok.push(s.durationMs);
      b.ok.push(s.durationMs);
    }
  }

  const operations: OperationStatistics[] = [...ops.entries()]
    .map(([key, a]) => {
      const sorted = a.ok.sort((x, y) => x - y);
      return {
        service: a.service,
        operation: a.operation,
        key,
        calls: a.calls,
        failures: a.failures,
        failure_rate: a.calls === 0 ? 0 : a.failures / a.calls,
        p50_ms: percentile(sorted, 0.5),
        p95_ms: percentile(sorted, 0.95),
        p99_ms: percentile(sorted, 0.99),
        timeline: [...a.buckets.entries()]
          .sort(([x], [y]) => x - y)
          .map(([time, b]) => ({
            time,
            calls: b.calls,
            failure_rate: b.failures / b.calls,
            p95_ms: percentile(b.ok.sort((x, y) => x - y), 0.95),
          })),
      };
    })
    .sort((x, y) => y.calls - x.calls || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));

  return {
    operations,
    traces: traces.size,
    runs: runs.size,
    failed,
    start: Number.isFinite(start) ? start : null,
    end: Number.isFinite(end) ? end : null,
  };
}

export type { AnalysisStatistics };
