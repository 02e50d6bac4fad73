import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { IngestQueue } from './ingest-queue.js';
import { makeSpan } from '../../test/support/span-factory.js';
import type { SpanRecord } from '../model/span.js';

describe('IngestQueue', () => {
  it('delivers every accepted span in order and resolves drained() when empty', async () => {
    const seen: SpanRecord[] = [];
    const q = new IngestQueue(10_000, (s) => seen.push(s), new Registry());
    const a = Array.from({ length: 3_000 }, () => makeSpan());
    const b = Array.from({ length: 10 }, () => makeSpan());
    expect(q.push(a)).toBe(true);
    expect(q.push(b)).toBe(true);
    expect(q.depth).toBe(3_010);
    await q.drained();
    expect(seen).toEqual([...a, ...b]);
    expect(q.depth).toBe(0);
  });

  it('refuses a whole batch that would pass the capacity and counts its spans', async () => {
    const registry = new Registry();
    const seen: SpanRecord[] = [];
    const q = new IngestQueue(5, (s) => seen.push(s), registry, 'p1');
    expect(q.push([makeSpan(), makeSpan(), makeSpan()])).toBe(true);
    expect(q.push([makeSpan(), makeSpan(), makeSpan()])).toBe(false);
    expect(q.refused).toBe(3);
    await q.drained();
    expect(seen).toHaveLength(3);
    expect(q.push([makeSpan(), makeSpan(), makeSpan()])).toBe(true);
    expect(await registry.getSingleMetricAsString('sidelight_queue_refused_spans_total')).toContain('{pipeline="p1"} 3');
  });
});
