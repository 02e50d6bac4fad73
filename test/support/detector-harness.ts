/**
 * Runs detectors in tests the way the pipeline does: spans (sorted by end time) through the event
 * clock without idle advance, so results depend only on the data.
 *
 * Detectors judge only what changed and emit standing observations and clears
 * (docs/engine.md); `runOnSpans` expands them back into what judging at every boundary observes —
 * each standing observation repeated at every boundary of its grid until its series is judged
 * again — so a detector test reads "observed at these boundaries" whichever way it was computed.
 */
import { from, lastValueFrom, tap, toArray, type OperatorFunction } from 'rxjs';
import { Registry } from 'prom-client';
import type { SpanRecord } from '../../src/model/span.js';
import { reviseObservation, type Observation } from '../../src/model/painpoint.js';
import type { Judgement, PipelineEvent, Standing } from '../../src/model/events.js';
import { subjectKey } from '../../src/model/series.js';
import { eventClock } from '../../src/windows/event-clock.js';
import { serviceSchema, type ServiceSettings } from '../../src/config/service-schema.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { asyncScheduler } from 'rxjs';

export function testSettings(overrides: Record<string, unknown> = {}): ServiceSettings {
  return serviceSchema.parse(overrides);
}

export function testContext(mode: 'live' | 'offline' = 'offline', settings: ServiceSettings = testSettings()): ComponentContext {
  return { scheduler: asyncScheduler, metrics: new Registry(), logger: silentLogger, settings, mode, id: 'test' };
}

/** Feeds spans (sorted by end time) through the event clock into `operator` and collects its output. */
export async function runOnSpans<T>(
  spans: readonly SpanRecord[],
  operator: OperatorFunction<PipelineEvent, T>,
  settings: ServiceSettings = testSettings(),
): Promise<(T extends Judgement ? Observation : T)[]> {
  const sorted = [...spans].sort((a, b) => a.endMs - b.endMs);
  const marks: { from: number; time: number; at: number }[] = [];
  const out: T[] = [];
  await lastValueFrom(
    from(sorted).pipe(
      eventClock({ windows: settings.windows, scheduler: asyncScheduler, idleAdvance: false }),
      tap((e) => {
        if (e.type === 'watermark') marks.push({ from: e.from, time: e.time, at: out.length });
      }),
      operator,
      tap((x) => out.push(x)),
      toArray(),
    ),
  );
  const isJudgement = (x: unknown): x is Judgement => typeof x === 'object' && x !== null && ((x as Judgement).type === 'observation' || (x as Judgement).type === 'clear');
  if (!out.some(isJudgement)) return out as never;
  return expandJudgements(out as unknown as Judgement[], marks) as never;
}

/**
 * The per-boundary observations change-driven judgements stand for: at each boundary of each
 * watermark's range, the judgements made for it are applied, then every standing observation on
 * that boundary's grid is seen, in the detector's order; one-shot observations come as they are.
 */
export function expandJudgements(judgements: readonly Judgement[], marks: readonly { from: number; time: number; at: number }[]): Observation[] {
  type Standingly = { observation: Observation; standing: Standing };
  const standing = new Map<string, Standingly>();
  const out: Observation[] = [];
  let pending: Judgement[] = [];
  const timeOf = (j: Judgement) => (j.type === 'clear' ? j.time : j.observation.time);
  const slot = (source: string, o: { kind: string; subject: Observation['subject'] }) => `${source}|${o.kind}|${subjectKey(o.subject)}`;
  const oneShots = (list: readonly Judgement[]) => {
    for (const j of list) if (j.type === 'observation' && !j.standing) out.push(j.observation);
  };
  oneShots(judgements.slice(0, marks[0]?.at ?? judgements.length));
  for (let m = 0; m < marks.length; m++) {
    const mark = marks[m] as { from: number; time: number; at: number };
    const end = m + 1 < marks.length ? (marks[m + 1] as { at: number }).at : judgements.length;
    const batch = judgements.slice(mark.at, end);
    pending.push(...batch.filter((j) => j.type === 'clear' || j.standing !== undefined));
    const times = new Set<number>();
    for (const j of pending) if (timeOf(j) <= mark.time) times.add(timeOf(j));
    const grids = new Set([...standing.values()].map((x) => x.standing.gridMs));
    for (const j of pending) if (j.type === 'observation' && j.standing) grids.add(j.standing.gridMs);
    for (const g of grids) for (let b = Math.floor(mark.from / g) * g + g; b <= mark.time; b += g) times.add(b);
    for (const b of [...times].sort((x, y) => x - y)) {
      const now = pending.filter((j) => timeOf(j) === b);
      pending = pending.filter((j) => timeOf(j) !== b);
      for (const j of now) if (j.type === 'clear') standing.delete(slot(j.source, j));
      for (const j of now) if (j.type === 'observation' && j.standing) standing.set(slot(j.standing.source, j.observation), { observation: j.observation, standing: j.standing });
      const seen = [...standing.values()]
        .filter((x) => b % x.standing.gridMs === 0 && x.observation.time <= b)
        .sort((x, y) => (x.standing.rank === y.standing.rank ? x.standing.index - y.standing.index : x.standing.rank < y.standing.rank ? -1 : 1));
      for (const x of seen) out.push(x.observation.time === b ? x.observation : reviseObservation(x.observation, { time: b }));
    }
    oneShots(batch);
  }
  return out;
}

export type { Observation };
