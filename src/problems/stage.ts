/**
 * The problems stage (docs/painpoints.md, Problems), after the pain-point lifecycle and recommend: passes every
 * pain-point change through and, at each boundary (the engine sends one after each boundary the
 * lifecycle replayed, then the watermark) where pain points changed, advances the index there,
 * groups the active ones by cause (linking.ts) and emits the problem changes (problem-tracker.ts).
 * Grouping is recomputed only when a pain point changed: nothing else can change a problem.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { Counter, type Registry } from '../telemetry/prom.js';
import type { OutputChange, PainPointChange } from '../model/events.js';
import type { PainPointRecord } from '../model/painpoint.js';
import type { Recommendation } from '../model/recommendation.js';
import type { ProblemSettings } from '../config/service-schema.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import type { AttributionIndex } from './attribution-index.js';
import { groupPainPoints } from './linking.js';
import { ProblemTracker } from './problem-tracker.js';
import { operationKeyOf } from './problem-record.js';
import { perRegistry } from '../telemetry/per-registry.js';

export type ProblemsInput = PainPointChange | { readonly type: 'watermark'; readonly time: number } | { readonly type: 'end' };

interface Metrics {
  readonly dropped: Counter;
  readonly tuplesDropped: Counter;
  readonly failures: Counter;
}

/** distinct failure messages logged per stage; later new ones are only counted */
const MAX_LOGGED_FAILURE_KINDS = 16;

const metricsOf = perRegistry((registry): Metrics => ({
  dropped: new Counter({ name: 'sidelight_problems_dropped_total', help: 'New problems left out because max_open problems were open', registers: [registry] }),
  tuplesDropped: new Counter({ name: 'sidelight_attribution_spans_dropped_total', help: 'Spans left out of the problems stage attribution index (max_tuples reached)', registers: [registry] }),
  failures: new Counter({ name: 'sidelight_problems_failures_total', help: 'Groupings of the problems stage stopped by an internal error (pain-point changes still pass)', registers: [registry] }),
}));

export function problemsStage(settings: ProblemSettings, index: AttributionIndex, registry: Registry, logger: Logger = silentLogger): OperatorFunction<ProblemsInput, OutputChange> {
  return (source) =>
    new Observable<OutputChange>((subscriber) => {
      const metrics = metricsOf(registry);
      const tracker = new ProblemTracker(settings.max_open, { onDropped: () => metrics.dropped.inc() });
      const active = new Map<string, PainPointRecord>();
      const records = new Map<string, PainPointRecord>();
      const recommendations = new Map<string, readonly Recommendation[]>();
      const changed = new Set<string>();
      /** each pain point's root at the last grouping (links hold within a band, linking.ts) */
      let previousRoots = new Map<string, string>();
      /** operation → event time a latency_bottleneck was last active on it */
      const bottlenecks = new Map<string, number>();
      let droppedSeen = 0;
      const loggedFailures = new Set<string>();

      const regroup = (time: number) => {
        if (changed.size === 0) return;
        // by start, then end (numbers: a string key per call cost more than the lookup saved)
        const cache = new Map<number, Map<number, ReturnType<AttributionIndex['interval']>>>();
        const interval = (from: number, to: number) => {
          let byEnd = cache.get(from);
          if (byEnd === undefined) cache.set(from, (byEnd = new Map()));
          let f = byEnd.get(to);
          if (f === undefined) byEnd.set(to, (f = index.interval(from, to)));
          return f;
        };
        for (const p of active.values()) if (p.kind === 'latency_bottleneck') bottlenecks.set(operationKeyOf(p.subject), time);
        for (const [op, seen] of bottlenecks) if (seen < time - settings.correlation_window) bottlenecks.delete(op);
        const critical = settings.exhaustion_on_critical_path ? new Set(bottlenecks.keys()) : new Set<string>();
        const groups = groupPainPoints({ points: [...active.values()], index, interval, now: time, maxInterval: settings.max_interval, lead: settings.onset_lead, baseline: settings.baseline, share: settings.explain_share, contributingShare: settings.contributing_share, previousRoots, band: settings.link_band });
        previousRoots = new Map();
        for (const g of groups) {
          previousRoots.set(g.root.id, g.root.id);
          for (const m of g.symptoms) previousRoots.set(m.point.id, g.root.id);
        }
        for (const c of tracker.reconcile(groups, changed, records, recommendations, critical)) subscriber.next(c);
        changed.clear();
        for (const id of [...records.keys()]) if (!active.has(id)) records.delete(id);
        for (const id of [...recommendations.keys()]) if (!active.has(id)) recommendations.delete(id);
        if (index.droppedSpans > droppedSeen) {
          metrics.tuplesDropped.inc(index.droppedSpans - droppedSeen);
          droppedSeen = index.droppedSpans;
        }
      };

      /**
       * A grouping that throws is a bug, not bad input (the index's read-after-change check, or
       * any other): count it, log each kind of failure once, and keep the pain-point changes
       * flowing, as the engine guards a detector. What changed stays marked, so the next boundary
       * groups it again; the records of pain points no longer active go as after a grouping, so a
       * failure that persists holds no more than the active ones.
       */
      const guarded = (step: () => void) => {
        try {
          step();
        } catch (err) {
          metrics.failures.inc();
          const kind = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          if (!loggedFailures.has(kind) && loggedFailures.size < MAX_LOGGED_FAILURE_KINDS) {
            loggedFailures.add(kind);
            logger.error(`problems stage: grouping failed (logged once per kind, counted in sidelight_problems_failures_total): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          }
          for (const id of changed) if (!active.has(id)) changed.delete(id);
          for (const id of [...records.keys()]) if (!active.has(id)) records.delete(id);
          for (const id of [...recommendations.keys()]) if (!active.has(id)) recommendations.delete(id);
        }
      };

      let lastTime = Number.NEGATIVE_INFINITY;
      return source.subscribe({
        next(input) {
          if ('painpoint' in input) {
            subscriber.next(input);
            const pp = input.painpoint;
            records.set(pp.id, pp);
            if (pp.state === 'resolved') active.delete(pp.id);
            else active.set(pp.id, pp);
            if (input.recommendations.length > 0) recommendations.set(pp.id, input.recommendations);
            changed.add(pp.id);
            return;
          }
          if (input.type === 'watermark') {
            const time = input.time;
            lastTime = time;
            guarded(() => {
              index.advance(time);
              regroup(time);
            });
          } else guarded(() => regroup(lastTime));
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
