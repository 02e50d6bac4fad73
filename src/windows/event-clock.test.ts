import { describe, expect, it } from 'vitest';
import { Subject, from, lastValueFrom, toArray, VirtualTimeScheduler, VirtualAction } from 'rxjs';
import type { PipelineEvent } from '../model/events.js';
import type { SpanRecord } from '../model/span.js';
import { eventClock, newClockState } from './event-clock.js';
import { serviceSchema } from '../config/service-schema.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { asyncScheduler } from 'rxjs';

const T0 = 1_700_000_000_000; // a multiple of 10 s
const windows = serviceSchema.parse({}).windows;

const spanEndingAt = (endMs: number) => makeSpan({ startMs: endMs - 50, endMs });
const describeEvents = (events: PipelineEvent[]) =>
  events.map((e) => (e.type === 'span' ? `s@${e.span.endMs - T0}` : e.type === 'watermark' ? `w@${e.from - T0}..${e.time - T0}` : e.type));

async function runOffline(spans: SpanRecord[], state = newClockState()) {
  const out = await lastValueFrom(from(spans).pipe(eventClock({ windows, scheduler: asyncScheduler, idleAdvance: false }, state), toArray()));
  return describeEvents(out);
}

describe('eventClock', () => {
  it('emits one watermark per advance, naming the boundaries it closed, after the span that moved it', async () => {
    const events = await runOffline([spanEndingAt(T0 + 1_000), spanEndingAt(T0 + 25_000), spanEndingAt(T0 + 41_000)]);
    // watermark = max end − 10 s: 15 s → boundaries 0 s and 10 s; 31 s → 20 s and 30 s; drain closes the rest.
    expect(events).toEqual(['s@1000', 's@25000', 'w@-10000..10000', 's@41000', 'w@10000..30000', 'drain', 'w@30000..50000', 'end']);
  });

  it('keeps a span that ends exactly on a boundary in the pane starting there', async () => {
    const state = newClockState();
    const events = await runOffline([spanEndingAt(T0 + 1_000), spanEndingAt(T0 + 30_000), spanEndingAt(T0 + 20_000)], state);
    // watermark 20 s closes the pane [10 s, 20 s); a span ending at 20 s belongs to [20 s, 30 s), still open.
    expect(events).toEqual(['s@1000', 's@30000', 'w@-10000..20000', 's@20000', 'drain', 'w@20000..40000', 'end']);
    expect(state.lateSpansDropped).toBe(0);
  });

  it('drops and counts spans whose pane has closed, and accepts spans within the allowed lateness', async () => {
    const state = newClockState();
    const events = await runOffline([spanEndingAt(T0 + 60_000), spanEndingAt(T0 + 49_999), spanEndingAt(T0 + 50_000)], state);
    // watermark 50 s: pane [40 s, 50 s) closed, so 49.999 s is late; 50 s is not.
    expect(events.filter((e) => e.startsWith('s@'))).toEqual(['s@60000', 's@50000']);
    expect(state.lateSpansDropped).toBe(1);
  });

  it('emits watermarks only at judge_every boundaries when asked to judge less often', async () => {
    const coarse = serviceSchema.parse({ windows: { judge_every: '1m' } }).windows;
    const M0 = Math.floor(T0 / 60_000) * 60_000; // a whole minute
    const spans = [spanEndingAt(M0 + 1_000), spanEndingAt(M0 + 85_000), spanEndingAt(M0 + 190_000)];
    const out = await lastValueFrom(from(spans).pipe(eventClock({ windows: coarse, scheduler: asyncScheduler, idleAdvance: false }), toArray()));
    // watermark 75 s → boundaries 0 and 1 min; 180 s → 2 and 3 min; the drain closes the minute of the last span
    expect(out.flatMap((e) => (e.type === 'watermark' ? [[e.from - M0, e.time - M0]] : []))).toEqual([
      [-60_000, 60_000],
      [60_000, 180_000],
      [180_000, 240_000],
    ]);
  });

  it('crosses a long gap in one watermark instead of one per empty boundary', async () => {
    const day = 86_400_000;
    const events = await runOffline([spanEndingAt(T0 + 1_000), spanEndingAt(T0 + 3 * day)]);
    const marks = events.filter((e) => e.startsWith('w@'));
    expect(marks).toEqual([`w@-10000..${3 * day - 10_000}`, `w@${3 * day - 10_000}..${3 * day + 10_000}`]);
  });

  it('advances an idle watermark with the wall clock, relative to the data time', () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 120_000);
    const input = new Subject<SpanRecord>();
    const seen: string[] = [];
    input.pipe(eventClock({ windows, scheduler, idleAdvance: true })).subscribe((e) => seen.push(describeEvents([e])[0] as string));
    // Data from yesterday arrives at wall time 0: it is judged on its own time, not dropped as late.
    const yesterday = T0 - 86_400_000;
    input.next(makeSpan({ startMs: yesterday, endMs: yesterday + 5_000 }));
    expect(seen).toEqual([`s@${-86_400_000 + 5_000}`]);
    scheduler.flush(); // 120 s of silence on the virtual wall clock
    const marks = seen.filter((e) => e.startsWith('w@'));
    // max end 5 s + 120 s idle − 10 s lateness = 115 s → boundaries 0 s … 110 s after yesterday's start.
    expect(marks[0]).toBe(`w@${-86_410_000}..${-86_400_000}`);
    expect(marks.at(-1)).toBe(`w@${-86_400_000 + 100_000}..${-86_400_000 + 110_000}`);
  });

  it('never drops data whose event time moves slower than the wall clock while it keeps arriving (a backlog being worked off)', () => {
    // the idle timer ticks forever: the virtual clock stops after 200 s
    const scheduler = new VirtualTimeScheduler(VirtualAction, 200_000);
    const input = new Subject<SpanRecord>();
    const state = newClockState();
    input.pipe(eventClock({ windows, scheduler, idleAdvance: true }, state)).subscribe();
    // a span every 100 ms of wall time, each 20 ms of event time after the last: 2 000 spans, 200 s of wall time
    for (let i = 0; i < 2_000; i++) scheduler.schedule(() => input.next(spanEndingAt(T0 + i * 20)), i * 100);
    scheduler.flush();
    expect(state.lateSpansDropped).toBe(0);
    expect(state.watermark).toBeLessThanOrEqual(T0 + 2_000 * 20);
  });
});
