/**
 * What the live page shows, kept in memory and bounded by `service.ui`: the open alert items,
 * the resolved ones of the last `resolved_window` (memory, plus the SQLite store when one is
 * configured), the per-operation chart history and the latest critical-path shares.
 *
 * Items come in as AlertItems (applyItem), so the state does not care what they were made from;
 * applyPainPointChange is the pain-point feed, which also remembers recommendations: the recommend
 * processor attaches a recommendation once per content (docs/outputs.md), to one change of one member of
 * its group, while the page shows it on every open member until the content changes.
 */
import type { PainPointChange } from '../model/events.js';
import type { PainPointRecord, Severity } from '../model/painpoint.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import type { Recommendation } from '../model/recommendation.js';
import type { UiSettings } from '../config/ui-schema.js';
import type { CriticalPathShare } from './critical-path-shares.js';
import { alertItemFromPainPoint, compareAlertItems, type AlertItem } from '../report/alert-item.js';
import { OperationHistory } from './operation-history.js';

/** Resolved items from a store that outlives the process (the sqlite exporter's database). */
export interface ResolvedHistory {
  /** items resolved at or after `sinceMs` (wall clock), newest first, at most `limit` */
  resolvedSince(sinceMs: number, limit: number): AlertItem[];
}

export interface LiveStateOptions {
  readonly settings: UiSettings;
  /** names of the fine windows the charts show, shortest first */
  readonly windows?: readonly string[];
  /** wall clock (epoch ms): when an item resolved, and what "the last 24 h" means */
  readonly now: () => number;
  readonly store?: ResolvedHistory;
  readonly onDropped?: (what: 'open' | 'operation') => void;
}

interface Resolved {
  readonly item: AlertItem;
  readonly at: number;
}

export class LiveState {
  readonly history: OperationHistory;
  criticalPath: { readonly window: string; readonly rows: readonly CriticalPathShare[] } = { window: '', rows: [] };
  private readonly open = new Map<string, AlertItem>();
  /** newest last; capped at max_resolved */
  private readonly resolved: Resolved[] = [];
  /** open pain points, to rebuild their item when a recommendation arrives for them */
  private readonly records = new Map<string, PainPointRecord>();
  private readonly recommendations = new Map<string, Recommendation>();

  constructor(private readonly options: LiveStateOptions) {
    this.history = new OperationHistory({
      ...(options.windows ? { windows: options.windows } : {}),
      maxOperations: options.settings.max_operations,
      points: options.settings.history_points,
      onDropped: () => options.onDropped?.('operation'),
    });
  }

  /**
   * Applies one item change; returns false when the item is not shown (a new open item over
   * max_open, counted). A resolved or merged item leaves the open list for the resolved one.
   */
  applyItem(item: AlertItem): boolean {
    if (item.state === 'resolved' || item.state === 'merged') {
      this.open.delete(item.id);
      const i = this.resolved.findIndex((r) => r.item.id === item.id);
      if (i >= 0) this.resolved.splice(i, 1);
      this.resolved.push({ item, at: this.options.now() });
      if (this.resolved.length > this.options.settings.max_resolved) this.resolved.shift();
      return true;
    }
    if (!this.open.has(item.id) && this.open.size >= this.options.settings.max_open) {
      this.options.onDropped?.('open');
      return false;
    }
    this.open.set(item.id, item);
    return true;
  }

  /** The pain-point feed: returns the items whose view changed, the changed pain point's first. */
  applyPainPointChange(change: PainPointChange): AlertItem[] {
    const pp = change.painpoint;
    const changed: AlertItem[] = [];
    const resolved = pp.state === 'resolved';
    if (resolved) {
      this.records.delete(pp.id);
      this.recommendations.delete(pp.id);
      const item = alertItemFromPainPoint(pp);
      if (this.applyItem(item)) changed.push(item);
    } else {
      for (const rec of change.recommendations) if (rec.pain_point_ids.includes(pp.id)) this.recommendations.set(pp.id, rec);
      const item = alertItemFromPainPoint(pp, this.recommendations.get(pp.id));
      if (!this.applyItem(item)) {
        this.recommendations.delete(pp.id);
        return [];
      }
      this.records.set(pp.id, pp);
      changed.push(item);
    }
    // the same recommendation now also belongs to the group's other open members
    for (const rec of change.recommendations) {
      for (const id of rec.pain_point_ids) {
        const record = this.records.get(id);
        if (id === pp.id || record === undefined || this.recommendations.get(id)?.task.contentHash === rec.task.contentHash) continue;
        this.recommendations.set(id, rec);
        const item = alertItemFromPainPoint(record, rec);
        this.open.set(id, item);
        changed.push(item);
      }
    }
    return changed;
  }

  /** Open items, most severe first (compareAlertItems). */
  openItems(): AlertItem[] {
    return [...this.open.values()].sort(compareAlertItems);
  }

  /** Resolved items of the window, newest first: memory and the store, one entry per id (the newest). */
  resolvedItems(): AlertItem[] {
    const since = this.options.now() - this.options.settings.resolved_window;
    const limit = this.options.settings.max_resolved;
    const out = new Map<string, AlertItem>();
    for (let i = this.resolved.length - 1; i >= 0; i--) {
      const r = this.resolved[i] as Resolved;
      if (r.at >= since && !out.has(r.item.id) && !this.open.has(r.item.id)) out.set(r.item.id, r.item);
    }
    if (this.options.store && out.size < limit) {
      for (const item of this.options.store.resolvedSince(since, limit)) {
        if (out.size >= limit) break;
        if (!out.has(item.id) && !this.open.has(item.id)) out.set(item.id, item);
      }
    }
    return [...out.values()];
  }

  counts(): Record<Severity, number> {
    const counts = { high: 0, medium: 0, low: 0 };
    for (const item of this.open.values()) counts[item.severity]++;
    return counts;
  }

  /** The worst open severity on an operation's chart (its root is that operation). */
  troubleOf(key: string): Severity | undefined {
    let worst: Severity | undefined;
    for (const item of this.open.values()) {
      if (item.operationKey !== key) continue;
      if (worst === undefined || SEVERITY_RANK[item.severity] > SEVERITY_RANK[worst]) worst = item.severity;
    }
    return worst;
  }

  /**
   * Charted operations, most troubled first: an open item on it (by severity), then the current
   * failure rate, retries per minute, p95 and calls on its shortest window with calls, then key.
   */
  operationOrder(): string[] {
    const rank = (key: string): number[] => {
      const t = this.troubleOf(key);
      const f = this.history.latest(key);
      return [t ? SEVERITY_RANK[t] : 0, f?.failureRate ?? -1, f?.retriesPerMinute ?? -1, f?.p95Ms ?? -1, f?.calls ?? 0];
    };
    const ranks = new Map(this.history.keys().map((k) => [k, rank(k)]));
    return [...ranks.keys()].sort((a, b) => {
      const ra = ranks.get(a) as number[];
      const rb = ranks.get(b) as number[];
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (rb[i] as number) - (ra[i] as number);
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }
}
