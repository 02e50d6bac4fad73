import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { PaneList, SeriesWindows, shortestSummaryWith, shortestWindowWith, type PaneAggregator } from './series-windows.js';
import { serviceSchema } from '../config/service-schema.js';
import { windowSpecs } from './window-spec.js';

const T0 = 1_700_000_000_000;
const windows = serviceSchema.parse({}).windows;
const counting: PaneAggregator<{ n: number }, number> = {
  create: () => ({ n: 0 }),
  add: (acc, x) => void (acc.n += x),
  merge: (into, from) => void (into.n += from.n),
};
const subject = (tool: string) => ({ service: 'svc', operation: 'execute_tool', tool });
const specs = windowSpecs(windows);
const spec = (name: string) => specs.find((s) => s.name === name)!;

describe('SeriesWindows', () => {
  it('names the default windows shortest first', () => {
    expect(specs.map((s) => s.name)).toEqual(['1m', '5m', '15m', '1h', '6h', '24h']);
  });

  it('merges the panes a window covers and nothing outside it', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    w.add([subject('a')], T0 + 5_000, 1); // pane [0, 10 s)
    w.add([subject('a')], T0 + 59_999, 10); // pane [50 s, 60 s)
    w.add([subject('a')], T0 + 60_000, 100); // pane [60 s, 70 s): not closed at boundary 60 s
    const [view] = [...w.all()];
    expect(view!.window(spec('1m'), T0 + 60_000).n).toBe(11);
    expect(view!.window(spec('1m'), T0 + 70_000).n).toBe(110); // [10 s, 70 s)
    expect(view!.window(spec('5m'), T0 + 70_000).n).toBe(111);
  });

  it('builds coarse windows from closed coarse panes only', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    const base = 1_699_999_800_000; // a multiple of 5 m
    w.add([subject('a')], base + 1_000, 1); // coarse pane [0, 5 m)
    w.add([subject('a')], base + 301_000, 2); // coarse pane [5 m, 10 m)
    const [view] = [...w.all()];
    // At a boundary inside the second coarse pane, the 1 h window holds only the first (closed) one.
    expect(view!.window(spec('1h'), base + 310_000).n).toBe(1);
    expect(view!.window(spec('1h'), base + 600_000).n).toBe(3);
    expect(view!.window(spec('1h'), base + 3_600_000 + 300_000).n).toBe(2);
  });

  it('reuses a merged window while its panes are unchanged and rebuilds it when a pane in it changes', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    w.add([subject('a')], T0 + 5_000, 1);
    const [view] = [...w.all()];
    const first = view!.window(spec('5m'), T0 + 60_000);
    expect(view!.window(spec('5m'), T0 + 70_000)).toBe(first); // same panes: the cached merge
    w.add([subject('a')], T0 + 6_000, 2); // a late trace into the same pane
    const rebuilt = view!.window(spec('5m'), T0 + 70_000);
    expect(rebuilt).not.toBe(first);
    expect(rebuilt.n).toBe(3);
    expect(view!.window(spec('5m'), T0 + 5_000 + 300_000).n).toBe(0); // the pane aged out
  });

  it('sends spans of series past max_series to one __overflow__ series and counts them', async () => {
    const registry = new Registry();
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 2, name: 'fr', metrics: registry });
    for (const tool of ['a', 'b', 'c', 'd']) w.add([subject(tool)], T0, 1);
    const keys = [...w.all()].map((v) => v.subject.service);
    expect(keys).toEqual(['svc', 'svc', '__overflow__']);
    expect(w.overflowed).toBe(2);
    const overflow = [...w.all()].find((v) => v.subject.service === '__overflow__')!;
    expect(overflow.window(spec('1m'), T0 + 10_000).n).toBe(2);
    expect(await registry.getSingleMetricAsString('sidelight_series_overflow_spans_total')).toContain('sidelight_series_overflow_spans_total{processor="fr"} 2');
  });

  it('forgets panes and series that no window can reach any more', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    w.add([subject('a')], T0, 1);
    w.advance(T0 + 3_600_000);
    expect(w.size).toBe(1); // still inside the 24 h coarse window
    w.advance(T0 + 86_400_000 + 600_000);
    expect(w.size).toBe(0);
  });

  it('keeps the whole input per series when asked (offline)', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't', keepAll: true });
    w.add([subject('a')], T0, 5);
    w.add([subject('a')], T0 + 2 * 86_400_000, 7);
    w.advance(T0 + 3 * 86_400_000);
    expect([...w.all()][0]!.all()!.n).toBe(12);
  });

  it('judges a series on the shortest window holding min_samples', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    for (let i = 0; i < 30; i++) w.add([subject('sparse')], T0 + i * 60_000, 1); // one call a minute
    const [view] = [...w.all()];
    const boundary = T0 + 30 * 60_000;
    expect(shortestWindowWith(view!, specs, boundary, (a) => a.n, 20)?.spec.name).toBe('1h');
    expect(shortestWindowWith(view!, specs, boundary, (a) => a.n, 5)?.spec.name).toBe('5m');
    expect(shortestWindowWith(view!, specs, boundary, (a) => a.n, 31)).toBeUndefined();
  });

  it('invalidates a cached merge when a late input lands in an already merged pane, and only then', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    w.add([subject('a')], T0 + 5_000, 1); // pane [0, 10 s)
    w.add([subject('a')], T0 + 25_000, 2); // pane [20 s, 30 s)
    const [view] = [...w.all()];
    const first = view!.window(spec('1m'), T0 + 60_000);
    expect(first.n).toBe(3);
    w.add([subject('a')], T0 + 65_000, 4); // the open pane, outside the window: the merge stays valid
    expect(view!.window(spec('1m'), T0 + 60_000)).toBe(first);
    w.add([subject('a')], T0 + 15_000, 8); // a new pane between the merged ones (a trace closing late)
    const second = view!.window(spec('1m'), T0 + 60_000);
    expect(second).not.toBe(first);
    expect(second.n).toBe(11);
    w.add([subject('a')], T0 + 26_000, 16); // an existing pane inside the range changes
    expect(view!.window(spec('1m'), T0 + 60_000).n).toBe(27);
  });
});

describe('PaneList', () => {
  type Acc = { seen: number[] };
  const order: PaneAggregator<Acc, number> = {
    create: () => ({ seen: [] }),
    add: (acc, x) => void acc.seen.push(x),
    merge: (into, from) => void into.seen.push(...from.seen),
  };

  it('keeps panes sorted by start when one arrives out of order, and merges them in creation order', () => {
    const list = new PaneList<Acc>();
    for (const start of [10, 30, 20, 40]) order.add(list.pane(start, order.create), start);
    order.add(list.pane(30, order.create), 31); // an existing pane is found, not duplicated
    expect(list.starts).toEqual([10, 20, 30, 40]);
    expect(list.size).toBe(4);
    // creation order, as a Map of panes iterated: 10, 30, 20 (the out-of-order one), not start order
    expect(list.merge(order, 100, 0, 40).seen).toEqual([10, 30, 31, 20]);
    expect(list.merge(order, 200, 15, 35).seen).toEqual([30, 31, 20]);
    expect(list.merge(order, 300, 50, 60).seen).toEqual([]);
  });

  it('finds a window range by start, end exclusive, and drops expired panes from the front', () => {
    const list = new PaneList<Acc>();
    for (const start of [0, 10, 20, 30, 40]) order.add(list.pane(start, order.create), start);
    expect(list.merge(order, 1, 10, 40).seen).toEqual([10, 20, 30]);
    list.dropBefore(25);
    expect(list.starts).toEqual([30, 40]);
    expect(list.merge(order, 1, 10, 40).seen).toEqual([30]); // the cached merge no longer holds the same panes
    list.dropBefore(0);
    expect(list.size).toBe(2);
  });

  it('keeps two merges of one size (a baseline ending earlier and the judged window), each until its panes change', () => {
    const list = new PaneList<Acc>();
    for (const start of [0, 10, 20, 30]) order.add(list.pane(start, order.create), start);
    const judged = list.merge(order, 20, 20, 40);
    const baseline = list.merge(order, 20, 0, 20);
    expect(list.merge(order, 20, 20, 40)).toBe(judged);
    expect(list.merge(order, 20, 0, 20)).toBe(baseline);
    order.add(list.pane(10, order.create), 11);
    list.changed(10);
    expect(list.merge(order, 20, 20, 40)).toBe(judged);
    expect(list.merge(order, 20, 0, 20).seen).toEqual([0, 10, 11]);
  });

  it('drops only the cached merges whose pane range holds a changed pane', () => {
    const list = new PaneList<Acc>();
    for (const start of [0, 10, 20]) order.add(list.pane(start, order.create), start);
    const early = list.merge(order, 1, 0, 10);
    const late = list.merge(order, 2, 10, 30);
    order.add(list.pane(20, order.create), 21);
    list.changed(20);
    expect(list.merge(order, 1, 0, 10)).toBe(early);
    const rebuilt = list.merge(order, 2, 10, 30);
    expect(rebuilt).not.toBe(late);
    expect(rebuilt.seen).toEqual([10, 20, 21]);
  });

  it('summarizes a window without merging it, sharing the entry (and its staleness) with the merge', () => {
    type Sum = { panes: number; values: number };
    let merges = 0;
    const summed: PaneAggregator<Acc, number, Sum> = {
      ...order,
      merge: (into, from) => {
        merges++;
        order.merge(into, from);
      },
      summary: { create: () => ({ panes: 0, values: 0 }), add: (into, pane) => void ((into.panes += 1), (into.values += pane.seen.length)) },
    };
    const list = new PaneList<Acc, Sum>();
    for (const start of [0, 10, 20]) summed.add(list.pane(start, summed.create), start);
    const first = list.summary(summed, 30, 0, 30);
    expect(first).toEqual({ panes: 3, values: 3 });
    expect(merges).toBe(0);
    expect(list.summary(summed, 30, 0, 30)).toBe(first); // cached while the panes are unchanged
    const merged = list.merge(summed, 30, 0, 30);
    expect(merges).toBe(3);
    expect(list.summary(summed, 30, 0, 30)).toBe(first); // the merge joined the same entry
    summed.add(list.pane(10, summed.create), 11);
    list.changed(10);
    const second = list.summary(summed, 30, 0, 30);
    expect(second).not.toBe(first);
    expect(second).toEqual({ panes: 3, values: 4 });
    expect(list.merge(summed, 30, 0, 30)).not.toBe(merged);
    expect(() => new PaneList<Acc, Sum>().summary(order as PaneAggregator<Acc, number, Sum>, 1, 0, 1)).toThrow(/no window summary/);
  });
});

describe('shortestSummaryWith', () => {
  it('picks the shortest window whose summary is enough, merging none', () => {
    let merges = 0;
    const agg: PaneAggregator<{ n: number }, number, { n: number }> = {
      ...counting,
      merge: (into, from) => {
        merges++;
        counting.merge(into, from);
      },
      summary: { create: () => ({ n: 0 }), add: (into, pane) => void (into.n += pane.n) },
    };
    const w = new SeriesWindows({ aggregator: agg, windows, maxSeries: 10, name: 'test' });
    for (let i = 0; i < 30; i++) w.add([subject('a')], T0 + i * 60_000, 1);
    const view = [...w.all()][0]!;
    const boundary = T0 + 30 * 60_000;
    expect(shortestSummaryWith(view, specs, boundary, (s) => s.n >= 5)?.name).toBe('5m');
    expect(shortestSummaryWith(view, specs, boundary, (s) => s.n >= 20)?.name).toBe('1h');
    expect(shortestSummaryWith(view, specs, boundary, (s) => s.n >= 31)).toBeUndefined();
    expect(merges).toBe(0);
    expect(view.summary(spec('1h'), boundary).n).toBe(view.window(spec('1h'), boundary).n);
  });
});

describe('SeriesView.deferredWindow', () => {
  it('merges nothing until called, then the panes the window held when read, whatever came or expired since', () => {
    let merges = 0;
    const agg: PaneAggregator<{ n: number }, number> = { ...counting, merge: (into, from) => void (merges++, counting.merge(into, from)) };
    const w = new SeriesWindows({ aggregator: agg, windows, maxSeries: 10, name: 't' });
    for (let i = 0; i < 10; i++) w.add([subject('a')], T0 + i * 60_000 + 1_000, 2 ** i);
    const view = [...w.all()][0]!;
    const boundary = T0 + 10 * 60_000;
    const fiveMinutes = view.deferredWindow(spec('5m'), boundary);
    const hour = view.deferredWindow(spec('1h'), boundary);
    expect(merges).toBe(0);
    let inHour = 0; // the coarse window ends at the last closed coarse pane
    view.forEachPane(spec('1h'), boundary, (pane) => void (inHour += pane.n));
    expect(inHour).toBeGreaterThan(0);
    expect(inHour).toBeLessThan(2 ** 10 - 1);
    // later inputs, in panes after the boundary, and the first panes expiring
    for (let i = 10; i < 30; i++) w.add([subject('a')], T0 + i * 60_000 + 1_000, 2 ** i);
    w.advance(T0 + 30 * 60_000);
    expect(fiveMinutes().n).toBe(2 ** 5 + 2 ** 6 + 2 ** 7 + 2 ** 8 + 2 ** 9);
    expect(hour().n).toBe(inHour);
    const made = merges;
    expect(fiveMinutes()).toBe(fiveMinutes()); // merged once
    expect(merges).toBe(made);
  });

  it('merges at once in windows that took a late input (a pane already in a read window changed)', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    w.add([subject('a')], T0 + 1_000, 1);
    w.passed(T0 + 60_000);
    w.add([subject('a')], T0 + 2_000, 2); // its pane is in the 1m window at T0 + 60 s: late
    const view = [...w.all()][0]!;
    const minute = view.deferredWindow(spec('1m'), T0 + 60_000);
    w.add([subject('a')], T0 + 3_000, 4);
    expect(minute().n).toBe(3);
  });
});

describe('SeriesView.forEachPane', () => {
  it('visits exactly the panes a window merges, fine and coarse, at a boundary and before it', () => {
    const w = new SeriesWindows({ aggregator: counting, windows, maxSeries: 10, name: 't' });
    // one pane a minute with 2^i, so a sum names the panes in it
    for (let i = 0; i < 30; i++) w.add([subject('a')], T0 + i * 60_000 + 1_000, 2 ** i);
    const view = [...w.all()][0]!;
    for (const name of ['1m', '5m', '15m', '1h']) {
      for (const boundary of [T0 + 10 * 60_000, T0 + 17 * 60_000 + 20_000, T0 + 30 * 60_000]) {
        let visited = 0;
        view.forEachPane(spec(name), boundary, (pane) => void (visited += pane.n));
        expect(visited, `${name} at ${boundary - T0}`).toBe(view.window(spec(name), boundary).n);
      }
    }
  });
});
