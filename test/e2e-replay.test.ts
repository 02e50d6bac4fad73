/**
 * docs/architecture.md, Event time and windows: a recorded run replayed as fast as possible must give the same pain points as the same
 * run received live. Live is simulated on a virtual clock: each span arrives a moment after it
 * ends and the idle watermark advances with the clock between arrivals.
 */
import { describe, expect, it } from 'vitest';
import { Subject, VirtualTimeScheduler, VirtualAction, from, lastValueFrom, toArray } from 'rxjs';
import { Registry } from 'prom-client';
import type { SpanRecord } from '../src/model/span.js';
import type { PainPointChange } from '../src/model/events.js';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { buildEngineParts } from '../src/pipeline/engine-parts.js';
import { runEngine } from '../src/pipeline/engine.js';
import { newClockState } from '../src/windows/event-clock.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { recordTraces } from './support/readable-to-record.js';
import { agentWorkload } from './support/agent-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const config = parseConfigObject({}, components, DEFAULT_CONFIG);

function engine(spans$: import('rxjs').Observable<SpanRecord>, scheduler: VirtualTimeScheduler, idleAdvance: boolean) {
  const metrics = new Registry();
  const ctx = { scheduler, metrics, logger: silentLogger, settings: config.service, mode: 'live' as const, id: 'replay' };
  const parts = buildEngineParts(config, config.pipelines.traces!.processors, ctx);
  return runEngine(spans$, parts, { settings: config.service, scheduler, metrics, logger: silentLogger, idleAdvance, clockState: newClockState() });
}

const summary = (changes: readonly PainPointChange[]) => changes.map((c) => `${c.painpoint.state} ${c.painpoint.kind} ${c.painpoint.severity} ${c.painpoint.id}`);

/** A workload whose web_search failures start after 4 minutes and stop after 9: open, then resolved. */
function spans(): SpanRecord[] {
  const healthy = agentWorkload({ start: T0, tasks: 160, every: 1_500, failEveryFive: 0 });
  const failing = agentWorkload({ start: T0 + 240_000, tasks: 200, every: 1_500, failEveryFive: 3 });
  const after = agentWorkload({ start: T0 + 540_000, tasks: 200, every: 1_500, failEveryFive: 0 });
  return recordTraces([...healthy, ...failing, ...after]).sort((a, b) => a.endMs - b.endMs);
}

describe('replay equivalence', () => {
  it('gives the same pain-point changes fast as paced on a virtual clock', async () => {
    const all = spans();
    const fastScheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
    const fast = await lastValueFrom(engine(from(all), fastScheduler, true).pipe(toArray()));

    const paced = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
    const input = new Subject<SpanRecord>();
    const seen: PainPointChange[] = [];
    engine(input, paced, true).subscribe((c) => seen.push(c));
    // each span arrives 2 s after it ended, as a batching exporter would deliver it
    const first = all[0]!.endMs;
    for (const s of all) paced.schedule(() => input.next(s), s.endMs - first + 2_000);
    paced.schedule(() => input.complete(), all.at(-1)!.endMs - first + 5_000);
    paced.flush();

    expect(summary(fast).length).toBeGreaterThan(0);
    expect(summary(seen)).toEqual(summary(fast));
    // the failing stretch opens a failure rate and a spike, and both resolve once it is over
    const kinds = summary(fast).map((s) => s.split(' ').slice(0, 2).join(' '));
    expect(new Set(kinds)).toEqual(new Set(['open failure_rate', 'updated failure_rate', 'resolved failure_rate', 'open failure_spike', 'updated failure_spike', 'resolved failure_spike']));
  });
});
