import { describe, expect, it } from 'vitest';
import type { OperationFigures } from '../component/contracts.js';
import { OperationHistory } from './operation-history.js';

const WINDOWS = ['1m', '5m'];

/** figures of one operation: calls, failures, retries/min and p95 on each window */
function fig(key: string, perWindow: [calls: number, failures: number, retries: number, p95: number | null][]): OperationFigures {
  return {
    key,
    service: 'svc',
    operation: key,
    windows: perWindow.map(([calls, failures, retriesPerMinute, p95Ms], i) => ({ window: WINDOWS[i] as string, calls, failures, retriesPerMinute, p95Ms })),
  };
}

describe('OperationHistory', () => {
  it('keeps failure rate, p95 and retries per minute per window, one point per boundary', () => {
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 10, points: 10 });
    h.record(10_000, [fig('a', [[10, 2, 1, 100], [40, 4, 0.5, 120]])]);
    h.record(20_000, [fig('a', [[20, 10, 3, 300], [50, 12, 1, 200]])]);
    expect(h.timeAxis()).toEqual([10_000, 20_000]);
    expect(h.series('a')).toEqual({
      failure_rate: [
        [0.2, 0.5],
        [0.1, 0.24],
      ],
      p95: [
        [100, 300],
        [120, 200],
      ],
      retries: [
        [1, 3],
        [0.5, 1],
      ],
      calls: [
        [10, 20],
        [40, 50],
      ],
    });
    expect(h.latest('a')).toEqual({ window: '1m', calls: 20, failureRate: 0.5, p95Ms: 300, retriesPerMinute: 3 });
    expect(h.pointCount('a')).toBe(2);
  });

  it('judges the latest figures on the shortest window that has calls', () => {
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 10, points: 10 });
    h.record(10_000, [fig('a', [[0, 0, 0, null], [30, 3, 0, 90]])]);
    expect(h.latest('a')).toEqual({ window: '5m', calls: 30, failureRate: 0.1, p95Ms: 90, retriesPerMinute: 0 });
    // no call in the short window: no failure rate there (null), not 0 %
    expect(h.series('a')?.failure_rate[0]).toEqual([null]);
  });

  it('keeps at most `points` points, oldest dropped first, on one time axis for every operation', () => {
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 10, points: 3 });
    for (let i = 1; i <= 5; i++) h.record(i * 10_000, [fig('a', [[i, 0, 0, i], [i, 0, 0, i]]), ...(i >= 4 ? [fig('b', [[1, 1, 0, 5], [1, 1, 0, 5]])] : [])]);
    expect(h.timeAxis()).toEqual([30_000, 40_000, 50_000]);
    expect(h.series('a')?.p95[0]).toEqual([3, 4, 5]);
    // b joined at the 4th boundary: back-filled with null, aligned with the axis
    expect(h.series('b')?.failure_rate[0]).toEqual([null, 1, 1]);
    expect(h.series('b', 1)?.failure_rate[0]).toEqual([1]);
    expect(h.addedSince(3)).toEqual(['b']);
  });

  it('charts at most max_operations operations and counts the ones left out', () => {
    let dropped = 0;
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 2, points: 5, onDropped: () => dropped++ });
    h.record(10_000, [fig('a', [[1, 0, 0, 1], [1, 0, 0, 1]]), fig('b', [[1, 0, 0, 1], [1, 0, 0, 1]]), fig('c', [[1, 0, 0, 1], [1, 0, 0, 1]])]);
    h.record(20_000, [fig('c', [[1, 0, 0, 1], [1, 0, 0, 1]])]);
    expect(h.keys()).toEqual(['a', 'b']);
    expect(h.dropped).toBe(2);
    expect(dropped).toBe(2);
  });

  it('forgets an operation once its last data has left the ring, and never charts __overflow__', () => {
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 5, points: 3 });
    h.record(10_000, [fig('a', [[1, 0, 0, 1], [1, 0, 0, 1]]), fig('__overflow__', [[9, 0, 0, 1], [9, 0, 0, 1]])]);
    h.record(20_000, []);
    h.record(30_000, []);
    expect(h.keys()).toEqual(['a']);
    expect(h.series('a')?.calls[0]).toEqual([1, null, null]);
    h.record(40_000, []);
    expect(h.keys()).toEqual([]);
  });

  it('keeps its time axis moving forward: a boundary at or before the last one is ignored', () => {
    const h = new OperationHistory({ windows: WINDOWS, maxOperations: 5, points: 5 });
    h.record(10_000, [fig('a', [[1, 0, 0, 1], [1, 0, 0, 1]])]);
    h.record(30_000, [fig('a', [[2, 1, 0, 2], [2, 1, 0, 2]])]);
    // a second feed of the same pipeline repeating boundaries, or one going back
    h.record(30_000, [fig('a', [[9, 9, 0, 9], [9, 9, 0, 9]])]);
    h.record(20_000, [fig('a', [[9, 9, 0, 9], [9, 9, 0, 9]])]);
    expect(h.timeAxis()).toEqual([10_000, 30_000]);
    expect(h.series('a')?.calls[0]).toEqual([1, 2]);
    expect(h.boundaries).toBe(2);
  });
});
