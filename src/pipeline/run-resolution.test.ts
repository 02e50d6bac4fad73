import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, Subject, toArray, VirtualTimeScheduler } from 'rxjs';
import { Registry } from 'prom-client';
import type { PipelineEvent } from '../model/events.js';
import type { SpanRecord } from '../model/span.js';
import { serviceSchema, type ServiceSettings } from '../config/service-schema.js';
import { TraceRuns } from '../model/run-ids.js';
import { eventClock } from '../windows/event-clock.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { runResolution } from './run-resolution.js';

const T0 = 1_700_000_000_000;
const settings = serviceSchema.parse({});

async function resolve(events: PipelineEvent[], s: ServiceSettings = settings, registry?: Registry): Promise<PipelineEvent[]> {
  return lastValueFrom(from(events).pipe(runResolution(s, new TraceRuns(1_000), registry), toArray()));
}

const span = (s: SpanRecord): PipelineEvent => ({ type: 'span', span: s });
const wm = (from: number, time: number): PipelineEvent => ({ type: 'watermark', from: T0 + from, time: T0 + time });
/** each output event as text: spans by name with their run, watermarks by time */
const text = (out: PipelineEvent[]) => out.map((e) => (e.type === 'span' ? `${e.span.name}:${e.span.runId}` : e.type === 'watermark' ? `wm:${e.time - T0}` : e.type));

/** An agent's root span naming its run, and a second service's span under it naming none. */
function twoServices(rootEnd: number, childEnd = 5_000) {
  const traceId = 'a'.repeat(32);
  const root = makeSpan({ traceId, spanId: '1'.repeat(16), name: 'root', startMs: T0, endMs: T0 + rootEnd, runId: 'run-A' });
  const child = makeSpan({ traceId, spanId: '2'.repeat(16), parentSpanId: root.spanId, name: 'child', startMs: T0 + 1_000, endMs: T0 + childEnd });
  return { root, child };
}

describe('runResolution', () => {
  it('holds a span that names no run until its boundary, then passes it in the run its root named meanwhile', async () => {
    const { root, child } = twoServices(8_000);
    const out = await resolve([span(child), span(root), wm(-10_000, 0), wm(0, 10_000)]);
    // the root passes at once; the child waits for the boundary 10 s that judges its pane
    expect(text(out)).toEqual(['root:run-A', 'wm:0', 'child:run-A', 'wm:10000']);
  });

  it('counts only the spans that ended before the boundary, so the pacing of the watermark changes nothing', async () => {
    // the root ends at 15 s, after the child's boundary (10 s)
    const { root, child } = twoServices(15_000);
    const next = makeSpan({ name: 'next', endMs: T0 + 20_000, runId: 'run-B' });
    // live: a quiet sidecar closes 10 s on its own before the root arrives
    const live = await resolve([span(child), wm(0, 10_000), span(root), span(next)]);
    // a replay: the root and the span that moves the watermark arrive before the boundary closes
    const replay = await resolve([span(child), span(root), span(next), wm(0, 10_000)]);
    const childRun = (out: PipelineEvent[]) => out.flatMap((e) => (e.type === 'span' && e.span.name === 'child' ? [e.span.runId] : []));
    expect(childRun(live)).toEqual([child.traceId]);
    expect(childRun(replay)).toEqual(childRun(live));
  });

  it('gives every span the same run live, paced with idle watermarks, as in a fast replay', async () => {
    // 60 traces, one every 3 s with a quiet minute in the middle; the root (naming the run) ends
    // 0.5–14 s after its child, so some roots end in the child's pane and some after it
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 60; i++) {
      const start = T0 + i * 3_000 + (i >= 30 ? 60_000 : 0);
      const traceId = (i + 1).toString(16).padStart(32, '0');
      const root = makeSpan({ traceId, name: `root${i}`, startMs: start, endMs: start + 2_500 + ((i * 4_700) % 14_000), runId: `run-${i % 7}` });
      spans.push(root, makeSpan({ traceId, name: `child${i}`, parentSpanId: root.spanId, startMs: start + 100, endMs: start + 2_000 }));
    }
    spans.sort((a, b) => a.endMs - b.endMs);
    const runsOf = (out: PipelineEvent[]) => new Map(out.flatMap((e) => (e.type === 'span' ? [[e.span.name, e.span.runId] as const] : [])));

    const replay = runsOf(await lastValueFrom(from(spans).pipe(eventClock({ windows: settings.windows, scheduler: new VirtualTimeScheduler(), idleAdvance: false }), runResolution(settings, new TraceRuns(1_000)), toArray())));

    // live: frame f is event time T0 + f; a batch every 5 s of the spans ended by then, 1.5 s later
    const scheduler = new VirtualTimeScheduler();
    const input = new Subject<SpanRecord>();
    const out: PipelineEvent[] = [];
    input.pipe(eventClock({ windows: settings.windows, scheduler, idleAdvance: true }), runResolution(settings, new TraceRuns(1_000))).subscribe((e) => out.push(e));
    let next = 0;
    for (let cut = 5_000; next < spans.length; cut += 5_000) {
      scheduler.schedule(() => undefined, cut + 1_500 - scheduler.now());
      scheduler.maxFrames = cut + 1_500;
      scheduler.flush();
      while (next < spans.length && spans[next]!.endMs <= T0 + cut) input.next(spans[next++]!);
    }
    input.complete();
    const live = runsOf(out);

    expect(live.size).toBe(spans.length);
    expect(live).toEqual(replay);
    // the idle watermark did close boundaries in the quiet minute (the two pacings really differ)
    expect(out.filter((e) => e.type === 'watermark' && e.time > T0 + 95_000 && e.time < T0 + 140_000).length).toBeGreaterThan(0);
    // and the rule holds: a child is in its root's run when the root ended before the child's boundary
    for (let i = 0; i < 60; i++) {
      const root = spans.find((s) => s.name === `root${i}`)!;
      const child = spans.find((s) => s.name === `child${i}`)!;
      const boundary = Math.floor(child.endMs / 10_000) * 10_000 + 10_000;
      expect(live.get(`child${i}`), `child${i}`).toBe(root.endMs < boundary ? root.runId : child.traceId);
    }
    expect([...live.entries()].filter(([name, run]) => name.startsWith('child') && run.startsWith('run-')).length).toBeGreaterThan(10);
    expect([...live.entries()].filter(([name, run]) => name.startsWith('child') && !run.startsWith('run-')).length).toBeGreaterThan(10);
  });

  it('passes the earliest boundary on early past max_held_spans, counted', async () => {
    const capped = serviceSchema.parse({ traces: { max_held_spans: 2 } });
    const registry = new Registry();
    const a = makeSpan({ name: 'a', endMs: T0 + 1_000 });
    const b = makeSpan({ name: 'b', endMs: T0 + 11_000 });
    const c = makeSpan({ name: 'c', endMs: T0 + 12_000 });
    const out = await resolve([span(a), span(b), span(c), wm(0, 20_000)], capped, registry);
    expect(text(out).map((t) => t.split(':')[0])).toEqual(['a', 'b', 'c', 'wm']);
    expect(await registry.getSingleMetricAsString('sidelight_run_spans_released_early_total')).toContain('sidelight_run_spans_released_early_total 1');
  });

  it('passes every held span on at the end of the input', async () => {
    const { child } = twoServices(8_000);
    expect(text(await resolve([span(child), { type: 'drain' }, { type: 'end' }]))).toEqual(['drain', `child:${child.traceId}`, 'end']);
  });
});
