/**
 * The live page's chart data: per operation, failure rate, p95 and retries per minute on each fine
 * window, one point per watermark boundary, in ring buffers on one shared time axis. Bounded by
 * configuration: at most `maxOperations` operations × `points` points; an operation over the cap
 * is not charted (counted), and an operation whose last data left the ring is forgotten.
 */
import type { OperationFigures } from '../component/contracts.js';

export const CHART_METRICS = ['failure_rate', 'p95', 'retries'] as const;
export type ChartMetric = (typeof CHART_METRICS)[number];

/** One operation's columns: per metric, one array per window (shortest first), oldest point first. */
export type OperationSeries = Record<ChartMetric, (number | null)[][]> & { readonly calls: (number | null)[][] };

/** A fixed-capacity ring of numbers (or null for "no data at this boundary"). */
class Ring {
  private readonly values: (number | null)[];
  private start = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.values = new Array<number | null>(capacity).fill(null);
  }

  push(v: number | null): void {
    if (this.size < this.capacity) this.values[(this.start + this.size++) % this.capacity] = v;
    else {
      this.values[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** the last `n` values (all when n ≥ size), oldest first */
  tail(n = this.size): (number | null)[] {
    const count = Math.min(n, this.size);
    const out: (number | null)[] = [];
    for (let i = this.size - count; i < this.size; i++) out.push(this.values[(this.start + i) % this.capacity] as number | null);
    return out;
  }

  last(): number | null {
    return this.size === 0 ? null : (this.values[(this.start + this.size - 1) % this.capacity] as number | null);
  }
}

interface Tracked {
  readonly columns: Record<ChartMetric | 'calls', Ring[]>;
  /** boundary count at the last point with data */
  lastData: number;
  /** boundary count when it joined (for "new since" deltas) */
  readonly added: number;
}

export interface OperationHistoryOptions {
  /** names of the fine windows, shortest first (as the figures list them) */
  readonly windows?: readonly string[];
  readonly maxOperations: number;
  readonly points: number;
  /** an operation was not charted because maxOperations were already tracked */
  readonly onDropped?: () => void;
}

/** The latest figures of an operation on its shortest window with calls. */
export interface LatestFigures {
  readonly window: string;
  readonly calls: number;
  readonly failureRate: number | null;
  readonly p95Ms: number | null;
  readonly retriesPerMinute: number | null;
}

export class OperationHistory {
  private readonly tracked = new Map<string, Tracked>();
  private readonly times: Ring;
  /** window names of the figures, shortest first (set by the first boundary with data) */
  windows: readonly string[] = [];
  /** boundaries recorded since start: the version number deltas are taken against */
  boundaries = 0;
  dropped = 0;

  constructor(private readonly options: OperationHistoryOptions) {
    this.times = new Ring(options.points);
    this.windows = options.windows ?? [];
  }

  get capacity(): number {
    return this.options.points;
  }

  /**
   * Appends one point at `time` to every tracked operation (null where it had no call in a
   * window). The time axis only moves forward: a boundary at or before the last one is ignored
   * (two operation_metrics processors in the observed pipeline would both report it).
   */
  record(time: number, figures: readonly OperationFigures[]): void {
    const lastTime = this.times.last();
    if (lastTime !== null && time <= lastTime) return;
    if (this.windows.length === 0 && figures[0]) this.windows = figures[0].windows.map((w) => w.window);
    const n = this.windows.length;
    this.boundaries++;
    this.times.push(time);
    const seen = new Set<string>();
    for (const f of figures) {
      if (f.key === '__overflow__') continue;
      let t = this.tracked.get(f.key);
      if (t === undefined) {
        if (this.tracked.size >= this.options.maxOperations) {
          this.dropped++;
          this.options.onDropped?.();
          continue;
        }
        t = this.track();
        this.tracked.set(f.key, t);
      }
      seen.add(f.key);
      t.lastData = this.boundaries;
      for (let w = 0; w < n; w++) {
        const fig = f.windows[w];
        const calls = fig?.calls ?? 0;
        t.columns.calls[w]?.push(calls);
        t.columns.failure_rate[w]?.push(fig && calls > 0 ? fig.failures / calls : null);
        t.columns.p95[w]?.push(fig?.p95Ms ?? null);
        t.columns.retries[w]?.push(fig && calls > 0 ? fig.retriesPerMinute : null);
      }
    }
    for (const [key, t] of this.tracked) {
      if (seen.has(key)) continue;
      // its last data left the ring: nothing of it is on a chart any more
      if (this.boundaries - t.lastData >= this.options.points) {
        this.tracked.delete(key);
        continue;
      }
      for (const column of Object.values(t.columns)) for (const ring of column) ring.push(null);
    }
  }

  /** A new operation's rings, back-filled with nulls so every operation shares the time axis. */
  private track(): Tracked {
    const size = this.times.size - 1;
    const rings = () =>
      this.windows.map(() => {
        const r = new Ring(this.options.points);
        for (let i = 0; i < size; i++) r.push(null);
        return r;
      });
    return { columns: { failure_rate: rings(), p95: rings(), retries: rings(), calls: rings() }, lastData: this.boundaries, added: this.boundaries };
  }

  keys(): string[] {
    return [...this.tracked.keys()];
  }

  has(key: string): boolean {
    return this.tracked.has(key);
  }

  /** The time axis (epoch ms), oldest first; the last `n` points when given. */
  timeAxis(n?: number): number[] {
    return this.times.tail(n) as number[];
  }

  /** An operation's columns; the last `n` points when given. */
  series(key: string, n?: number): OperationSeries | undefined {
    const t = this.tracked.get(key);
    if (!t) return undefined;
    const cols = (rings: Ring[]) => rings.map((r) => r.tail(n));
    return { failure_rate: cols(t.columns.failure_rate), p95: cols(t.columns.p95), retries: cols(t.columns.retries), calls: cols(t.columns.calls) };
  }

  /** Operations that joined after boundary number `since`. */
  addedSince(since: number): string[] {
    return [...this.tracked].filter(([, t]) => t.added > since).map(([k]) => k);
  }

  /** The newest figures on the shortest window that had calls at the last boundary. */
  latest(key: string): LatestFigures | undefined {
    const t = this.tracked.get(key);
    if (!t) return undefined;
    for (let w = 0; w < this.windows.length; w++) {
      const calls = t.columns.calls[w]?.last() ?? null;
      if (calls === null || calls === 0) continue;
      return {
        window: this.windows[w] as string,
        calls,
        failureRate: t.columns.failure_rate[w]?.last() ?? null,
        p95Ms: t.columns.p95[w]?.last() ?? null,
        retriesPerMinute: t.columns.retries[w]?.last() ?? null,
      };
    }
    return undefined;
  }

  /** Points of the shortest window with data: what its chart draws. */
  pointCount(key: string): number {
    const ring = this.tracked.get(key)?.columns.calls[0];
    return ring ? ring.tail().filter((v) => v !== null && v > 0).length : 0;
  }
}
