/**
 * The pain-point lifecycle (docs/painpoints.md), shared by every detector: observations become pain points
 * that are `open`ed once, `updated` when severity changes or the key metric moves by more than
 * `update_delta` (at most once per boundary), and `resolved` when no observation has come for
 * `resolve_after` of event time. Each state change is emitted exactly once.
 *
 * Detectors judge a series only when what it reads changed (docs/engine.md), so an observation
 * *stands* — counts as seen at every boundary of its detector's grid — until its source judges
 * again or clears it. The lifecycle gives exactly the changes that repeating each standing
 * observation at every boundary would give: it buffers a watermark's judgements, replays them
 * boundary by boundary in the order the detectors would have made them, re-observes a standing
 * observation at a later boundary only where a repeat changes something (the severity band's
 * streak, an update held back by the once-per-boundary rule), and resolves at the first boundary
 * `resolve_after` past the last one seen.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import FlatQueue from 'flatqueue';
import { Counter, Gauge, type Registry } from '../telemetry/prom.js';
import { reviseObservation, SEVERITY_RANK, type Observation, type PainPointKind, type PainPointRecord, type PainPointState, type Severity, type Subject } from '../model/painpoint.js';
import type { PainPointChange, Standing, TaggedJudgement } from '../model/events.js';
import type { PainPointSettings } from '../config/service-schema.js';
import { painPointId } from './ids.js';
import { subjectKey } from '../model/series.js';

/** pain-point ids remembered by subject text */
const MAX_CACHED_IDS = 50_000;
import { MAX_RUN_IDS } from '../model/evidence-format.js';
import { perRegistry } from '../telemetry/per-registry.js';

export type LifecycleInput =
  | TaggedJudgement
  | { readonly type: 'watermark'; readonly time: number; readonly from?: number }
  | { readonly type: 'end' };

/** A standing observation of one source (a detector's series). */
interface Source {
  readonly observation: Observation;
  readonly standing: Standing;
  readonly detector: number;
}

interface Active {
  readonly id: string;
  /** insertion number: resolutions of one boundary come out in the order pain points opened */
  readonly seq: number;
  /** the record as last built; observations since are in `pending` */
  record: PainPointRecord;
  /** current severity (the record's once `pending` is applied) */
  severity: Severity;
  /** the latest observation not yet applied to `record` (applied when a record is emitted) */
  pending: Observation | undefined;
  /** the latest observation since that carries an impact (read only when applied: it may be lazy) */
  pendingImpact: Observation | undefined;
  /** event time of the latest observation (while sources stand: of the latest boundary seen) */
  lastObserved: number;
  /** run ids of the observations behind the emitted records (capped) */
  /** event time of the latest emitted change, so an update is emitted at most once per boundary */
  lastEmitted: number;
  /** key metric at the latest emitted change */
  emittedKey: number;
  /** run ids of the observations behind the emitted records (capped) */
  runIds: Set<string>;
  /** consecutive observations below the current severity (hysteresis on the way down) */
  lowerStreak: number;
  /** standing observations by source ("detector/source") */
  readonly sources: Map<string, Source>;
  /** the boundary at which its standing observations are seen again (a repeat would change it), or NaN */
  reobserveAt: number;
  /** the boundary it resolves at when nothing stands, or NaN */
  resolveAt: number;
}

/**
 * The last time written, kept: a change writes its last_seen twice (the record, then the change),
 * and a boundary's changes share it (profiling the kc history: formatting dates was among the
 * lifecycle's top lines).
 */
let isoMs = Number.NaN;
let isoText = '';
const iso = (ms: number): string => {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
};

/** "detector/source" keys kept per detector; beyond it a detector's start again (they only save building the text) */
const MAX_CACHED_SOURCE_KEYS = 50_000;

function relativeMove(from: number, to: number): number {
  if (from === to) return 0;
  const base = Math.max(Math.abs(from), 1e-9);
  return Math.abs(to - from) / base;
}

function ceilTo(t: number, unit: number): number {
  return Math.ceil(t / unit) * unit;
}

/** The order the reference engine observed in at one boundary: detector, series, observation. */
function compareOrder(a: { detector: number; standing?: Standing | undefined }, b: { detector: number; standing?: Standing | undefined }): number {
  if (a.detector !== b.detector) return a.detector - b.detector;
  const ra = a.standing?.rank ?? 0;
  const rb = b.standing?.rank ?? 0;
  if (ra !== rb) return ra < rb ? -1 : 1;
  return (a.standing?.index ?? 0) - (b.standing?.index ?? 0);
}

export interface LifecycleMetrics {
  readonly changes: Counter<'state' | 'kind'>;
  readonly active: Gauge<'severity'>;
  readonly dropped: Counter;
}

export const lifecycleMetrics = perRegistry((registry): LifecycleMetrics => ({
  changes: new Counter({ name: 'sidelight_painpoint_changes_total', help: 'Pain-point state changes emitted', labelNames: ['state', 'kind'], registers: [registry] }),
  active: new Gauge({ name: 'sidelight_painpoints_open', help: 'Open pain points by severity', labelNames: ['severity'], registers: [registry] }),
  dropped: new Counter({ name: 'sidelight_painpoints_dropped_total', help: 'New pain points dropped because max_active was reached', registers: [registry] }),
}));

export interface LifecycleOptions {
  /** the event clock's step: resolution happens on its boundaries */
  readonly clockStepMs: number;
  /**
   * the run of a trace whose id stands in for a run id (a span that named no run and was judged
   * before a span of its trace that did, docs/input.md Runs), as named by spans that ended before
   * `before` (the boundary the record is written at, so live and offline list the same runs);
   * records list the run instead
   */
  readonly runOf?: (traceId: string, before: number) => string | undefined;
  /**
   * called after each boundary it replayed, once that boundary's changes are out: the problems
   * stage groups there, so its grouping does not depend on how many boundaries a watermark closed
   */
  readonly onBoundary?: (time: number) => void;
}

type Item = Extract<TaggedJudgement, { type: 'observation' }> | Extract<TaggedJudgement, { type: 'clear' }>;

export function painPointLifecycle(settings: PainPointSettings, registry?: Registry, options: LifecycleOptions = { clockStepMs: 10_000 }): OperatorFunction<LifecycleInput, PainPointChange> {
  const metrics = registry ? lifecycleMetrics(registry) : undefined;
  const clockStep = options.clockStepMs;
  const runOf = options.runOf;
  const runIdsOf = (ids: ReadonlySet<string>, time: number): string[] =>
    runOf === undefined ? [...ids].sort() : [...new Set([...ids].map((id) => runOf(id, time) ?? id))].sort();
  return (source) =>
    new Observable<PainPointChange>((subscriber) => {
      const active = new Map<string, Active>();
      let created = 0;
      /** judgements not yet replayed (their boundary is past the last watermark) */
      let buffer: Item[] = [];
      const reobserve = new FlatQueue<Active>();
      const resolutions = new FlatQueue<Active>();
      /** standing observations dropped at max_active, tried again after a resolution frees room */
      const droppedStanding = new Map<string, Source>();
      let retryDroppedAt = Number.NaN;
      // Detectors observe with their series' own subject objects: ids are remembered per subject
      // object and kind rather than hashed per observation.
      const ids = new WeakMap<Subject, Map<PainPointKind, string>>();
      // Some detectors build a new subject object per observation: behind the per-object cache, one
      // by text (bounded: cleared when full, it only saves hashing).
      const idsByText = new Map<string, string>();
      const idOf = (kind: PainPointKind, subject: Subject): string => {
        let byKind = ids.get(subject);
        if (byKind === undefined) ids.set(subject, (byKind = new Map()));
        let id = byKind.get(kind);
        if (id === undefined) {
          const text = `${kind}|${subjectKey(subject)}`;
          id = idsByText.get(text);
          if (id === undefined) {
            if (idsByText.size >= MAX_CACHED_IDS) idsByText.clear();
            idsByText.set(text, (id = painPointId(kind, subject)));
          }
          byKind.set(kind, id);
        }
        return id;
      };

      /** Applies the pending observation to the record, as each observation's copy used to. */
      const apply = (a: Active) => {
        const o = a.pending;
        if (o === undefined) return;
        // run ids of the observations emitted, not of every judgement: reading them builds the detail
        for (const r of o.runIds) if (a.runIds.size < MAX_RUN_IDS) a.runIds.add(r);
        a.record = {
          ...a.record,
          severity: a.severity,
          category: o.category,
          title: o.title,
          description: o.description,
          evidence: o.evidence,
          ...(a.pendingImpact?.impact ? { impact: a.pendingImpact.impact } : {}),
          last_seen: iso(a.lastObserved),
        };
        a.pending = undefined;
        a.pendingImpact = undefined;
      };

      const emit = (a: Active, state: PainPointState, time: number) => {
        apply(a);
        // a standing observation was seen up to lastObserved without a new observation object
        const lastSeen = iso(a.lastObserved);
        const runIds = runIdsOf(a.runIds, time);
        a.record = a.record.last_seen === lastSeen ? { ...a.record, state, run_ids: runIds } : { ...a.record, state, last_seen: lastSeen, run_ids: runIds };
        a.lastEmitted = time;
        metrics?.changes.inc({ state, kind: a.record.kind });
        subscriber.next({ painpoint: a.record, recommendations: [] });
      };

      const refreshGauge = () => {
        if (!metrics) return;
        const counts = { high: 0, medium: 0, low: 0 };
        for (const a of active.values()) counts[a.severity]++;
        for (const [severity, n] of Object.entries(counts)) metrics.active.set({ severity }, n);
      };

      const scheduleResolution = (a: Active) => {
        if (a.sources.size > 0) {
          a.resolveAt = Number.NaN;
          return;
        }
        const at = ceilTo(a.lastObserved + settings.resolve_after, clockStep);
        if (at === a.resolveAt) return;
        a.resolveAt = at;
        resolutions.push(a, at);
      };

      // A standing observation's source key, kept: building the text for every observation (to
      // set it in its pain point's sources) was the lifecycle's top line (profiled on the kc history).
      const sourceKeys: Map<string, string>[] = [];
      const sourceKeyOf = (detector: number, source: string): string => {
        let byDetector = sourceKeys[detector];
        if (byDetector === undefined) sourceKeys[detector] = byDetector = new Map();
        let key = byDetector.get(source);
        if (key === undefined) {
          if (byDetector.size >= MAX_CACHED_SOURCE_KEYS) byDetector.clear();
          byDetector.set(source, (key = `${detector}/${source}`));
        }
        return key;
      };
      const sourceKey = (detector: number, standing: Standing) => sourceKeyOf(detector, standing.source);

      /** Observes `o`; returns false when it was dropped at max_active. */
      const observe = (o: Observation, src: Source | undefined): boolean => {
        const id = idOf(o.kind, o.subject);
        const existing = active.get(id);
        if (!existing) {
          if (active.size >= settings.max_active) {
            metrics?.dropped.inc();
            if (src) droppedStanding.set(`${id}|${sourceKey(src.detector, src.standing)}`, src);
            return false;
          }
          const a: Active = {
            id,
            seq: created++,
            record: {
              id,
              kind: o.kind,
              severity: o.severity,
              category: o.category,
              state: 'open',
              subject: o.subject,
              title: o.title,
              description: o.description,
              evidence: o.evidence,
              ...(o.impact ? { impact: o.impact } : {}),
              first_seen: iso(o.time),
              last_seen: iso(o.time),
              run_ids: [],
            },
            severity: o.severity,
            pending: undefined,
            pendingImpact: undefined,
            lastObserved: o.time,
            lastEmitted: o.time,
            emittedKey: o.keyMetric,
            runIds: new Set(o.runIds.slice(0, MAX_RUN_IDS)),
            lowerStreak: 0,
            sources: new Map(),
            reobserveAt: Number.NaN,
            resolveAt: Number.NaN,
          };
          if (src) a.sources.set(sourceKey(src.detector, src.standing), src);
          active.set(id, a);
          emit(a, 'open', o.time);
          refreshGauge();
          scheduleResolution(a);
          return true;
        }
        // run ids are read (and an observation's detail built) only while the record has room for more
        let severity = o.severity;
        if (SEVERITY_RANK[o.severity] < SEVERITY_RANK[existing.severity]) {
          existing.lowerStreak++;
          if (existing.lowerStreak < settings.severity_down_after) severity = existing.severity;
        } else existing.lowerStreak = 0;
        if (severity === o.severity) existing.lowerStreak = 0;
        const severityChanged = severity !== existing.severity;
        const moved = relativeMove(existing.emittedKey, o.keyMetric) > settings.update_delta;
        existing.lastObserved = Math.max(existing.lastObserved, o.time);
        existing.severity = severity;
        existing.pending = o;
        if ('impact' in o) existing.pendingImpact = o;
        let heldBack = false;
        if (severityChanged || moved) {
          if (o.time > existing.lastEmitted) {
            existing.emittedKey = o.keyMetric;
            emit(existing, 'updated', o.time);
            if (severityChanged) refreshGauge();
          } else heldBack = true;
        }
        if (src) {
          existing.sources.set(sourceKey(src.detector, src.standing), src);
          // A repeat at the next boundary of its grid would change something: see it again then.
          if (existing.lowerStreak > 0 || heldBack) {
            const at = o.time + src.standing.gridMs;
            if (!(existing.reobserveAt <= at)) {
              existing.reobserveAt = at;
              reobserve.push(existing, at);
            }
          }
        }
        scheduleResolution(existing);
        return true;
      };

      const clear = (item: Extract<Item, { type: 'clear' }>) => {
        const id = idOf(item.kind, item.subject);
        const key = sourceKeyOf(item.detector, item.source);
        droppedStanding.delete(`${id}|${key}`);
        const a = active.get(id);
        const src = a?.sources.get(key);
        if (!a || !src) return;
        a.sources.delete(key);
        // seen at every boundary of its grid before this one
        a.lastObserved = Math.max(a.lastObserved, item.time - src.standing.gridMs);
        scheduleResolution(a);
      };

      const resolveAt = (time: number) => {
        const due: Active[] = [];
        while (resolutions.length > 0 && (resolutions.peekValue() as number) <= time) {
          const a = resolutions.pop() as Active;
          if (a.resolveAt <= time && a.sources.size === 0 && active.get(a.id) === a && !due.includes(a)) due.push(a);
        }
        if (due.length === 0) return;
        due.sort((x, y) => x.seq - y.seq);
        for (const a of due) {
          active.delete(a.id);
          a.resolveAt = Number.NaN;
          emit(a, 'resolved', time);
        }
        refreshGauge();
        if (droppedStanding.size > 0) retryDroppedAt = time + clockStep;
      };

      const timeOf = (item: Item) => (item.type === 'clear' ? item.time : item.observation.time);

      /** The next boundary ≤ upTo with work: the next buffered judgement (`buffer[at]`), a re-observation, a resolution. */
      const nextBoundary = (upTo: number, at: number): number => {
        let next = at < buffer.length ? timeOf(buffer[at] as Item) : Number.POSITIVE_INFINITY;
        while (reobserve.length > 0) {
          const a = reobserve.peek() as Active;
          if (a.reobserveAt === reobserve.peekValue() && active.get(a.id) === a) break;
          reobserve.pop();
        }
        if (reobserve.length > 0) next = Math.min(next, reobserve.peekValue() as number);
        while (resolutions.length > 0) {
          const a = resolutions.peek() as Active;
          if (a.resolveAt === resolutions.peekValue() && active.get(a.id) === a && a.sources.size === 0) break;
          resolutions.pop();
        }
        if (resolutions.length > 0) next = Math.min(next, resolutions.peekValue() as number);
        if (retryDroppedAt === retryDroppedAt) next = Math.min(next, retryDroppedAt);
        return next <= upTo ? next : Number.NaN;
      };

      /** Replays every boundary up to `upTo`: clears, then observations in the reference order, then resolutions. */
      const replayUpTo = (upTo: number) => {
        // by boundary; the sort is stable, so each boundary's judgements keep their arrival order
        if (buffer.length > 1) buffer.sort((x, y) => timeOf(x) - timeOf(y));
        let at = 0;
        for (let b = nextBoundary(upTo, at); b === b; b = nextBoundary(upTo, at)) {
          const start = at;
          while (at < buffer.length && timeOf(buffer[at] as Item) === b) at++;
          const now = buffer.slice(start, at);
          for (const item of now) if (item.type === 'clear') clear(item);

          type Step = { detector: number; standing?: Standing | undefined; observation: Observation; src: Source | undefined };
          const steps: Step[] = [];
          for (const item of now) {
            if (item.type !== 'observation') continue;
            const src = item.standing ? { observation: item.observation, standing: item.standing, detector: item.detector } : undefined;
            steps.push({ detector: item.detector, standing: item.standing, observation: item.observation, src });
          }
          // the sources observed at this boundary, made only when a pain point is seen again here
          let observedSources: Set<string> | undefined;
          while (reobserve.length > 0 && (reobserve.peekValue() as number) <= b) {
            const a = reobserve.pop() as Active;
            if (a.reobserveAt !== b || active.get(a.id) !== a) continue;
            a.reobserveAt = Number.NaN;
            if (observedSources === undefined) {
              observedSources = new Set<string>();
              for (const item of now) if (item.type === 'observation' && item.standing) observedSources.add(`${idOf(item.observation.kind, item.observation.subject)}|${sourceKey(item.detector, item.standing)}`);
            }
            for (const [key, src] of a.sources) {
              if (observedSources.has(`${a.id}|${key}`)) continue;
              steps.push({ detector: src.detector, standing: src.standing, observation: reviseObservation(src.observation, { time: b }), src });
            }
          }
          if (retryDroppedAt === b) {
            retryDroppedAt = Number.NaN;
            const retry = [...droppedStanding.values()];
            droppedStanding.clear();
            for (const src of retry) steps.push({ detector: src.detector, standing: src.standing, observation: reviseObservation(src.observation, { time: b }), src });
          }
          steps.sort(compareOrder);
          for (const s of steps) observe(s.observation, s.src);
          resolveAt(b);
          options.onBoundary?.(b);
        }
        buffer = at === 0 ? buffer : buffer.slice(at);
      };

      return source.subscribe({
        next(input) {
          switch (input.type) {
            case 'observation':
            case 'clear':
              buffer.push(input);
              return;
            case 'watermark':
              replayUpTo(input.time);
              return;
            case 'end': {
              // The whole-input judgements, in the order they came, after every boundary.
              const rest = buffer;
              buffer = [];
              for (const item of rest) if (item.type === 'observation') observe(item.observation, undefined);
              return;
            }
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
