/**
 * The judging loop every windowed detector shares (docs/engine.md).
 *
 * - `changed` (the engine's mode): at each watermark, the series whose read windows changed are
 *   judged at each boundary where they changed, in order; a series' observations stand until it
 *   is judged again, and a later judgement that no longer observes a kind and subject emits a
 *   `clear`. Boundaries where nothing a series reads changed cost nothing.
 * - `every` (the reference, for tests): every series is judged at every boundary and each
 *   observation is one-shot, as the engine did before; both modes must give the lifecycle exactly
 *   the same pain-point changes.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { SEVERITY_RANK, type Observation, type Severity } from '../model/painpoint.js';
import type { Judgement, JudgeMode } from '../model/events.js';
import { subjectKey } from '../model/series.js';
import type { JudgedSeries, SeriesWindows, StandingEntry } from './series-windows.js';

export type { JudgeMode };

/** How a detector orders the series it judges at one boundary: by creation, or by key. */
export type SeriesOrder = 'created' | 'key';

export interface JudgeLoop<A, S> {
  readonly mode: JudgeMode;
  readonly order?: SeriesOrder;
  /** the judgement of one series at one boundary (pure in the series' read windows) */
  judge(view: JudgedSeries<A, S>, boundary: number): readonly Observation[];
}

function standingEntries(observations: readonly Observation[]): StandingEntry[] {
  return observations.map((o) => ({ kind: o.kind, subject: o.subject, key: `${o.kind}|${subjectKey(o.subject)}`, severity: o.severity }));
}

/**
 * A threshold with a band (docs/painpoints.md): a metric that was above it stays above until it drops below
 * the threshold minus `band` × the threshold, so a value hovering at the line does not flap.
 */
export function aboveWithBand(value: number, threshold: number, wasAbove: boolean, band: number): boolean {
  return value >= (wasAbove ? threshold * (1 - band) : threshold);
}

/**
 * Whether a series that was at severity `was` (its previous judgement; undefined: not observed)
 * was at `level` or above: the thresholds of that level and below are then held by their band.
 */
export function wasAtLeast(was: Severity | undefined, level: Severity): boolean {
  return was !== undefined && SEVERITY_RANK[was] >= SEVERITY_RANK[level];
}

/**
 * What a rule's thresholds are held by (docs/painpoints.md, severity band): the severity the
 * series' previous judgement gave its kind, and the band. The whole-input judgement holds nothing.
 */
export interface Held {
  readonly was?: Severity | undefined;
  readonly band: number;
}

export const NOT_HELD: Held = { band: 0 };

/** `value` reaches `threshold`, or reached it at `level` or above before and stays within the band. */
export function reaches(value: number, threshold: number, level: Severity, held: Held): boolean {
  return aboveWithBand(value, threshold, wasAtLeast(held.was, level), held.band);
}

/** What the series' previous judgement observed of `kind` (its severity), if anything. */
export function previously(view: { readonly standing: readonly StandingEntry[] }, kind: Observation['kind']): StandingEntry | undefined {
  return view.standing.find((e) => e.kind === kind);
}

/** The smallest multiple of `unit` strictly greater than `t`. */
export function nextMultipleAfter(t: number, unit: number): number {
  return Math.floor(t / unit) * unit + unit;
}

/**
 * Judges `windows` at the boundaries in (from, upTo] and appends the judgements to `out`.
 * `upTo` and `from` come from a watermark event.
 */
export function judgeUpTo<A, I, S>(windows: SeriesWindows<A, I, S>, from: number, upTo: number, loop: JudgeLoop<A, S>, out: Judgement[]): void {
  if (loop.mode === 'every') judgeEveryBoundary(windows, from, upTo, loop, out);
  else judgeChanged(windows, upTo, loop, out);
  windows.passed(upTo);
}

function rankOf(view: JudgedSeries<unknown, unknown>, order: SeriesOrder | undefined): number | string {
  return order === 'key' ? view.key : view.seq;
}

function judgeChanged<A, I, S>(windows: SeriesWindows<A, I, S>, upTo: number, loop: JudgeLoop<A, S>, out: Judgement[]): void {
  for (let b = windows.nextDue(); b <= upTo; b = windows.nextDue()) {
    const due = windows.takeDue(b);
    if (loop.order === 'key') due.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    for (const view of due) {
      windows.beforeJudging(view, b);
      const observations = loop.judge(view, b);
      emitStanding(view, observations, b, windows.gridMs, rankOf(view, loop.order), out);
      windows.afterJudging(view, b);
      // A series dropped with observations standing: they were seen at b, not after.
      if (!view.alive && view.standing.length > 0) {
        for (const e of view.standing) out.push({ type: 'clear', kind: e.kind, subject: e.subject, time: b + windows.gridMs, source: view.key });
        view.standing = [];
      }
    }
  }
}

/** Observations as standing, and clears for what the series' previous judgement observed and this one does not. */
function emitStanding<A, S>(view: JudgedSeries<A, S>, observations: readonly Observation[], b: number, gridMs: number, rank: number | string, out: Judgement[]): void {
  const before = view.standing;
  if (observations.length === 0 && before.length === 0) return;
  const now = standingEntries(observations);
  for (const e of before) {
    if (!now.some((n) => n.key === e.key)) out.push({ type: 'clear', kind: e.kind, subject: e.subject, time: b, source: view.key });
  }
  observations.forEach((observation, index) => out.push({ type: 'observation', observation, standing: { source: view.key, gridMs, rank, index } }));
  view.standing = now;
}

function judgeEveryBoundary<A, I, S>(windows: SeriesWindows<A, I, S>, from: number, upTo: number, loop: JudgeLoop<A, S>, out: Judgement[]): void {
  const grid = windows.gridMs;
  for (let b = nextMultipleAfter(from, grid); b <= upTo; b += grid) {
    const series = [...windows.allSeries()];
    if (loop.order === 'key') series.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    for (const view of series) {
      windows.beforeJudging(view, b);
      const observations = loop.judge(view, b);
      for (const observation of observations) out.push({ type: 'observation', observation });
      // a judgement may read what the previous one observed (severity bands): kept in both modes
      view.standing = standingEntries(observations);
      windows.afterJudging(view, b);
    }
  }
}

/** A one-shot observation (the whole-input judgement at `end`). */
export function oneShot(observation: Observation): Judgement {
  return { type: 'observation', observation };
}

/** What a detector judged as one unit observed last (judgeTogether). */
export interface GroupStanding {
  standing: readonly StandingEntry[];
}

/**
 * For detectors whose series are judged together (one series' observation depends on the others,
 * as error_cluster's share of all failures): at every boundary where any series of any of
 * `group` changed, `judgeAt` judges them all; the detector is one source of standing observations.
 */
export function judgeTogether(
  group: readonly SeriesWindows<unknown, unknown, unknown>[],
  from: number,
  upTo: number,
  mode: JudgeMode,
  judgeAt: (boundary: number) => readonly Observation[],
  state: GroupStanding,
  source: string,
  out: Judgement[],
): void {
  const first = group[0];
  if (first === undefined) return;
  const grid = first.gridMs;
  if (mode === 'every') {
    for (let b = nextMultipleAfter(from, grid); b <= upTo; b += grid) {
      for (const w of group) for (const s of [...w.allSeries()]) w.beforeJudging(s, b);
      const observations = judgeAt(b);
      for (const w of group) for (const s of [...w.allSeries()]) w.afterJudging(s, b);
      for (const observation of observations) out.push({ type: 'observation', observation });
      state.standing = standingEntries(observations);
    }
  } else {
    for (;;) {
      let b = Number.POSITIVE_INFINITY;
      for (const w of group) b = Math.min(b, w.nextDue());
      if (!(b <= upTo)) break;
      // Nothing any series read changes at b when no series is due there (the agenda's entries at
      // b were only put back at their next change): the group's judgement would be the same, and
      // its observations stand. On the kc history 60 % of error_cluster's group boundaries were so.
      let due = false;
      for (const w of group) if (w.takeDue(b).length > 0) due = true;
      if (!due) continue;
      // (afterJudging may drop the series it is given: a Map iterated on goes on past a deleted entry)
      for (const w of group) for (const s of w.allSeries()) w.beforeJudging(s, b);
      const observations = judgeAt(b);
      for (const w of group) for (const s of w.allSeries()) w.afterJudging(s, b);
      const now = standingEntries(observations);
      for (const e of state.standing) if (!now.some((n) => n.key === e.key)) out.push({ type: 'clear', kind: e.kind, subject: e.subject, time: b, source });
      observations.forEach((observation, index) => out.push({ type: 'observation', observation, standing: { source, gridMs: grid, rank: 0, index } }));
      state.standing = now;
    }
  }
  for (const w of group) w.passed(upTo);
}

/**
 * A detector's operator from its event handler: each event's judgements, emitted at once in order.
 * What `mergeMap(handle)` / `concatMap(handle)` do for a handler returning an array, without an
 * inner subscription per event: profiling NativeAgentLightning showed those, made for every span
 * and watermark by every detector (and mostly for empty arrays), among the largest allocations.
 * A handler that throws errors the stream, as it did there (the engine's guard catches it).
 */
export function eachEvent<E, J>(handle: (event: E) => readonly J[]): OperatorFunction<E, J> {
  return (source) =>
    new Observable<J>((subscriber) =>
      source.subscribe({
        next(event) {
          let out: readonly J[];
          try {
            out = handle(event);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          for (let i = 0; i < out.length && !subscriber.closed; i++) subscriber.next(out[i] as J);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}
