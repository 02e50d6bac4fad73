/**
 * The pain-point lifecycle (docs/painpoints.md), shared by every detector: observations become pain points
 * that are `open`ed once, `updated` when severity changes or the key metric moves by more than
 * `update_delta` (at most once per slide), and `resolved` when no observation has come for
 * `resolve_after` of event time. Each state change is emitted exactly once.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SEVERITY_RANK, type Observation, type PainPointKind, type PainPointRecord, type PainPointState, type Severity, type Subject } from '../model/painpoint.js';
import type { PainPointChange } from '../model/events.js';
import type { PainPointSettings } from '../config/service-schema.js';
import { painPointId } from './ids.js';
import { MAX_RUN_IDS } from '../model/evidence-format.js';

export type LifecycleInput =
  | { readonly type: 'observation'; readonly observation: Observation }
  | { readonly type: 'watermark'; readonly time: number }
  | { readonly type: 'end' };

interface Active {
  /** the record as last built; observations since are in `pending` */
  record: PainPointRecord;
  /** current severity (the record's once `pending` is applied) */
  severity: Severity;
  /**
   * The latest observation not yet applied to `record`, and the latest impact among those. A
   * firing series is observed at every boundary, and profiling an 80 h kc replay showed the
   * record copy (and its ISO time) per observation as the lifecycle's main cost, while only
   * emitted records are ever seen: applying the latest one when a record is emitted gives the
   * same record (same fields, same key order) as applying each in turn.
   */
  pending: Observation | undefined;
  pendingImpact: Observation['impact'];
  /** event time of the latest observation */
  lastObserved: number;
  /** event time of the latest emitted change, so an update is emitted at most once per boundary */
  lastEmitted: number;
  /** key metric at the latest emitted change */
  emittedKey: number;
  runIds: Set<string>;
  /** consecutive observations below the current severity (hysteresis on the way down) */
  lowerStreak: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function relativeMove(from: number, to: number): number {
  if (from === to) return 0;
  const base = Math.max(Math.abs(from), 1e-9);
  return Math.abs(to - from) / base;
}

export interface LifecycleMetrics {
  readonly changes: Counter<'state' | 'kind'>;
  readonly active: Gauge<'severity'>;
  readonly dropped: Counter;
}

const metricsCache = new WeakMap<Registry, LifecycleMetrics>();
export function lifecycleMetrics(registry: Registry): LifecycleMetrics {
  let m = metricsCache.get(registry);
  if (!m) {
    m = {
      changes: new Counter({ name: 'sidelight_painpoint_changes_total', help: 'Pain-point state changes emitted', labelNames: ['state', 'kind'], registers: [registry] }),
      active: new Gauge({ name: 'sidelight_painpoints_open', help: 'Open pain points by severity', labelNames: ['severity'], registers: [registry] }),
      dropped: new Counter({ name: 'sidelight_painpoints_dropped_total', help: 'New pain points dropped because max_active was reached', registers: [registry] }),
    };
    metricsCache.set(registry, m);
  }
  return m;
}

export function painPointLifecycle(settings: PainPointSettings, registry?: Registry): OperatorFunction<LifecycleInput, PainPointChange> {
  const metrics = registry ? lifecycleMetrics(registry) : undefined;
  return (source) =>
    new Observable<PainPointChange>((subscriber) => {
      const active = new Map<string, Active>();
      // Detectors observe a firing series at every boundary, with the series' own subject object:
      // profiling an 80 h kc replay showed the id hash (sha256 per observation) as a top cost, so
      // ids are remembered per subject object and kind.
      const ids = new WeakMap<Subject, Map<PainPointKind, string>>();
      const idOf = (kind: PainPointKind, subject: Subject): string => {
        let byKind = ids.get(subject);
        if (byKind === undefined) ids.set(subject, (byKind = new Map()));
        let id = byKind.get(kind);
        if (id === undefined) byKind.set(kind, (id = painPointId(kind, subject)));
        return id;
      };

      /** Applies the pending observation to the record, as each observation's copy used to. */
      const apply = (a: Active) => {
        const o = a.pending;
        if (o === undefined) return;
        a.record = {
          ...a.record,
          severity: a.severity,
          category: o.category,
          title: o.title,
          description: o.description,
          evidence: o.evidence,
          ...(a.pendingImpact ? { impact: a.pendingImpact } : {}),
          last_seen: iso(a.lastObserved),
        };
        a.pending = undefined;
        a.pendingImpact = undefined;
      };

      const emit = (a: Active, state: PainPointState, time: number) => {
        apply(a);
        a.record = { ...a.record, state, run_ids: [...a.runIds].sort() };
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

      const observe = (o: Observation) => {
        const id = idOf(o.kind, o.subject);
        const existing = active.get(id);
        if (!existing) {
          if (active.size >= settings.max_active) {
            metrics?.dropped.inc();
            return;
          }
          const a: Active = {
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
          };
          active.set(id, a);
          emit(a, 'open', o.time);
          refreshGauge();
          return;
        }
        for (const r of o.runIds) if (existing.runIds.size < MAX_RUN_IDS) existing.runIds.add(r);
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
        if (o.impact) existing.pendingImpact = o.impact;
        if ((severityChanged || moved) && o.time > existing.lastEmitted) {
          existing.emittedKey = o.keyMetric;
          emit(existing, 'updated', o.time);
          if (severityChanged) refreshGauge();
        }
      };

      const resolveQuiet = (time: number) => {
        let resolved = false;
        // Map iteration order is insertion order: resolutions come out in the order pain points opened.
        for (const [id, a] of active) {
          if (time - a.lastObserved >= settings.resolve_after) {
            active.delete(id);
            emit(a, 'resolved', time);
            resolved = true;
          }
        }
        if (resolved) refreshGauge();
      };

      return source.subscribe({
        next(input) {
          if (input.type === 'observation') observe(input.observation);
          else if (input.type === 'watermark') resolveQuiet(input.time);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
