import { describe, expect, it } from 'vitest';
import { asyncScheduler, from, lastValueFrom, map, mergeMap, toArray, type OperatorFunction } from 'rxjs';
import { Registry } from 'prom-client';
import { isProblemChange, type Judgement, type PainPointChange, type PipelineEvent } from '../model/events.js';
import { runEngine } from './engine.js';
import { newClockState } from '../windows/event-clock.js';
import { serviceSchema } from '../config/service-schema.js';
import { silentLogger } from '../telemetry/logger.js';
import { makeSpan } from '../../test/support/span-factory.js';

const T0 = 1_700_000_000_000;
const settings = serviceSchema.parse({});

/** Observes "failing" at every boundary while the last span it saw before the boundary failed (one-shot, as the reference mode). */
const lastSpanFailing: OperatorFunction<PipelineEvent, Judgement> = (events$) => {
  let lastFailed = false;
  return events$.pipe(
    mergeMap((e) => {
      if (e.type === 'span') lastFailed = e.span.failed;
      if (e.type !== 'watermark' || !lastFailed) return [];
      const times: number[] = [];
      for (let t = e.from + 10_000; t <= e.time; t += 10_000) times.push(t);
      return times;
    }),
    map(
      (time): Judgement => ({ type: 'observation', observation: {
        kind: 'failure_rate',
        subject: { service: 's', operation: 'op' },
        severity: 'medium',
        category: 'reliability',
        title: 't',
        description: 'd',
        evidence: { window: '1m', metrics: {}, exemplar_trace_ids: [] },
        keyMetric: 1,
        time,
        runIds: [],
      } }),
    ),
  );
};

async function run(throwing = false) {
  // spans that name their run reach span detectors as they arrive (one that names none waits for
  // the boundary that judges it, to take its trace's run: run-resolution.ts)
  const spans = [
    makeSpan({ endMs: T0 + 1_000, failed: true, runId: 'run-1' }),
    ...Array.from({ length: 20 }, (_, i) => makeSpan({ endMs: T0 + 20_000 + i * 10_000, failed: i < 2, runId: 'run-1' })),
  ];
  const registry = new Registry();
  const boom: OperatorFunction<PipelineEvent, Judgement> = map(() => {
    throw new Error('boom');
  });
  const changes = await lastValueFrom(
    runEngine(
      from(spans),
      {
        detectors: [
          { id: 'last_failing', detector: { input: 'spans', operator: lastSpanFailing } },
          ...(throwing ? [{ id: 'broken', detector: { input: 'spans' as const, operator: (e$: import('rxjs').Observable<PipelineEvent>) => e$.pipe(boom) } }] : []),
        ],
        categorize: [],
        recommend: [],
      },
      { settings, scheduler: asyncScheduler, metrics: registry, logger: silentLogger, idleAdvance: false, clockState: newClockState() },
    ).pipe(toArray()),
  );
  return { changes: changes.filter((c): c is PainPointChange => !isProblemChange(c)), registry };
}

describe('runEngine', () => {
  it('turns detector observations into open and resolved changes on event time', async () => {
    const { changes } = await run();
    expect(changes.map((c) => c.painpoint.state)).toEqual(['open', 'resolved']);
    // The span at 20 s moves the watermark to 10 s (boundaries 0 s, 10 s), the one at 30 s to 20 s;
    // the last span seen is failing at those three boundaries, healthy from 30 s on.
    const opened = Date.parse(changes[0]!.painpoint.first_seen) - T0;
    const lastSeen = Date.parse(changes[1]!.painpoint.last_seen) - T0;
    expect(opened).toBe(0);
    expect(lastSeen).toBe(20_000);
  });

  it('keeps running the other detectors when one throws, and counts the failure', async () => {
    const { changes, registry } = await run(true);
    expect(changes.map((c) => c.painpoint.state)).toEqual(['open', 'resolved']);
    expect(await registry.getSingleMetricAsString('sidelight_processor_failures_total')).toContain('{processor="broken"} 1');
  });
});
