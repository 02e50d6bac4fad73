/**
 * How agent_loop reports (docs/engine.md, detectors that are not windowed): a loop is a standing
 * observation of its source (one per invocation and rule) from the boundary of the call that
 * opened it, replaced at the boundary of each call that grows it, cleared at the boundary where
 * it ends. Changes wait here until the watermark passes their boundary, then go out in boundary
 * order; a source changed twice within one pane reports its latest state at that pane's boundary,
 * and a loop that opened and ended within one pane is still seen at that boundary (its clear
 * waits one step). In the reference mode (`every`) each standing loop is repeated as a one-shot
 * observation at every boundary instead, which the lifecycle must turn into the same changes.
 */
import { reviseObservation, type Observation, type Subject } from '../../src/model/painpoint.js';
import type { Judgement, JudgeMode } from '../../src/model/events.js';
import { subjectKey } from '../../src/model/series.js';
import { nextMultipleAfter } from '../../src/windows/judging.js';

interface Entry {
  readonly time: number;
  /** the observation standing from `time`, or undefined: the source's loop clears at `time` */
  observation: Observation | undefined;
  /** the subject the entry is about (the cleared one for a clear) */
  readonly subject: Subject;
}

interface SourceState {
  readonly rank: number;
  readonly index: number;
  readonly entries: Entry[];
  /** the latest entry's time: a source's changes never go back in time */
  lastTime: number;
  /** time of the latest observation queued */
  lastObservedAt: number;
  /** the subject standing after the queued entries, if any */
  open: Subject | undefined;
}

export class StandingQueue {
  private readonly sources = new Map<string, SourceState>();
  /** sources with queued entries */
  private readonly dirty = new Set<string>();
  /** reference mode: what stands at the last boundary replayed */
  private readonly active = new Map<string, { observation: Observation; rank: number; index: number }>();

  constructor(
    private readonly kind: Observation['kind'],
    private readonly gridMs: number,
    private readonly mode: JudgeMode,
  ) {}

  /** Sources with something standing or queued (for tests and gauges). */
  get size(): number {
    return this.sources.size;
  }

  /** `observation` stands for `source` from the boundary `time`. */
  observe(source: string, rank: number, index: number, observation: Observation, time: number): void {
    let s = this.sources.get(source);
    if (s === undefined) this.sources.set(source, (s = { rank, index, entries: [], lastTime: Number.NEGATIVE_INFINITY, lastObservedAt: Number.NEGATIVE_INFINITY, open: undefined }));
    const t = Math.max(time, s.lastTime);
    const o = observation.time === t ? observation : reviseObservation(observation, { time: t });
    const last = s.entries[s.entries.length - 1];
    if (last !== undefined && last.time === t && subjectKey(last.subject) === subjectKey(o.subject)) {
      last.observation = o; // the latest state of the pane (a clear in it is undone)
    } else {
      if (s.open !== undefined && subjectKey(s.open) !== subjectKey(o.subject)) this.pushClear(s, s.open, t);
      s.entries.push({ time: t, observation: o, subject: o.subject });
    }
    s.lastTime = t;
    s.lastObservedAt = t;
    s.open = o.subject;
    this.dirty.add(source);
  }

  /** The loop of `source` ended at the boundary `time` (no-op when none stands). */
  clear(source: string, time: number): void {
    const s = this.sources.get(source);
    if (s === undefined || s.open === undefined) return;
    this.pushClear(s, s.open, time);
    s.open = undefined;
    this.dirty.add(source);
  }

  private pushClear(s: SourceState, subject: Subject, time: number): void {
    // seen at the boundary it was last observed at, whatever happened later in that pane
    const t = Math.max(time, s.lastObservedAt + this.gridMs, s.lastTime);
    s.entries.push({ time: t, observation: undefined, subject });
    s.lastTime = t;
  }

  /** The judgements of the boundaries in (from, upTo], in boundary order. */
  flush(from: number, upTo: number): Judgement[] {
    const due: { source: string; s: SourceState; e: Entry; n: number }[] = [];
    let n = 0;
    for (const source of this.dirty) {
      const s = this.sources.get(source) as SourceState;
      let taken = 0;
      while (taken < s.entries.length && (s.entries[taken] as Entry).time <= upTo) due.push({ source, s, e: s.entries[taken++] as Entry, n: n++ });
      if (taken > 0) s.entries.splice(0, taken);
      if (s.entries.length === 0) {
        this.dirty.delete(source);
        if (s.open === undefined) this.sources.delete(source);
      }
    }
    due.sort((a, b) => a.e.time - b.e.time || a.s.rank - b.s.rank || a.s.index - b.s.index || a.n - b.n);
    return this.mode === 'every' ? this.replayEvery(due, from, upTo) : this.asStanding(due);
  }

  private asStanding(due: readonly { source: string; s: SourceState; e: Entry }[]): Judgement[] {
    return due.map(({ source, s, e }): Judgement =>
      e.observation !== undefined
        ? { type: 'observation', observation: e.observation, standing: { source, gridMs: this.gridMs, rank: s.rank, index: s.index } }
        : { type: 'clear', kind: this.kind, subject: e.subject, time: e.time, source },
    );
  }

  private replayEvery(due: readonly { source: string; s: SourceState; e: Entry }[], from: number, upTo: number): Judgement[] {
    const out: Judgement[] = [];
    let i = 0;
    for (let b = nextMultipleAfter(from, this.gridMs); b <= upTo; b += this.gridMs) {
      if (this.active.size === 0 && i < due.length) b = Math.max(b, (due[i] as { e: Entry }).e.time);
      else if (this.active.size === 0) break;
      for (; i < due.length && (due[i] as { e: Entry }).e.time <= b; i++) {
        const { source, s, e } = due[i] as { source: string; s: SourceState; e: Entry };
        if (e.observation === undefined) this.active.delete(source);
        else this.active.set(source, { observation: e.observation, rank: s.rank, index: s.index });
      }
      const standing = [...this.active.values()].sort((x, y) => x.rank - y.rank || x.index - y.index);
      for (const a of standing) out.push({ type: 'observation', observation: a.observation.time === b ? a.observation : reviseObservation(a.observation, { time: b }) });
    }
    return out;
  }
}
