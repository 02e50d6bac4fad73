/**
 * Problem state (docs/painpoints.md, Problems): matches each new grouping of the active pain points to the open
 * problems and emits every state change once.
 * - A group continues the open problem whose root it contains (as root or symptom); when a later
 *   pain point turns out to be the root, the problem keeps its id and its root changes (`updated`).
 * - When one group contains the roots of several open problems, the oldest continues and each
 *   younger one is emitted once as `merged` into it.
 * - A problem no group continues is `resolved` when its pain points have resolved, and `merged`
 *   into the problem that now holds them otherwise.
 * Open problems are capped: a new group beyond `maxOpen` is left out and counted.
 */
import type { PainPointChange, OutputChange } from '../model/events.js';
import type { PainPointRecord } from '../model/painpoint.js';
import type { ProblemChange, ProblemRecord } from '../model/problem.js';
import type { Recommendation } from '../model/recommendation.js';
import type { Group } from './linking.js';
import { problemId, problemRecord } from './problem-record.js';
import { buildProblemRecommendation } from '../recommendations/problem.js';
import { recommendationId } from '../recommendations/ids.js';

/** roots whose recommendation id is kept (recommendationIdOf) */
const MAX_CACHED_RECOMMENDATION_IDS = 1_024;

interface OpenProblem {
  readonly id: string;
  /** creation order: the older of two merged problems continues */
  readonly seq: number;
  readonly firstSeen: string;
  record: ProblemRecord;
  /** ids of root and symptoms at the last emitted change */
  members: Set<string>;
  /** what the last emitted change said, to emit `updated` only when it changed */
  signature: string;
}

export interface TrackerHooks {
  onDropped?(): void;
}

export class ProblemTracker {
  private readonly open = new Map<string, OpenProblem>();
  private seq = 0;
  private criticalPath: ReadonlySet<string> = new Set();
  private readonly recommendationIds = new Map<string, string>();

  constructor(
    private readonly maxOpen: number,
    private readonly hooks: TrackerHooks = {},
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  /**
   * The changes a new grouping makes. `changed`: pain points that emitted a change in this batch
   * (a root's own update is the problem's); `records`: the latest record of every pain point seen,
   * resolved ones included; `recommendations`: the latest recommendations per pain point.
   */
  reconcile(
    groups: readonly Group[],
    changed: ReadonlySet<string>,
    records: ReadonlyMap<string, PainPointRecord>,
    recommendations: ReadonlyMap<string, readonly Recommendation[]>,
    criticalPath: ReadonlySet<string> = new Set(),
  ): ProblemChange[] {
    this.criticalPath = criticalPath;
    const out: ProblemChange[] = [];
    const claimed = new Map<OpenProblem, Group>();
    const unmatched: Group[] = [];
    const opened = new Set<OpenProblem>();
    // the open problems each group contains the root of, oldest first
    const sorted = [...groups].sort((a, b) => (a.root.first_seen < b.root.first_seen ? -1 : a.root.first_seen > b.root.first_seen ? 1 : a.root.id < b.root.id ? -1 : 1));
    // open problems by their root's id, in the open map's order (a group looks its members up
    // instead of testing every open problem)
    const byRoot = new Map<string, OpenProblem[]>();
    for (const p of this.open.values()) {
      const list = byRoot.get(p.record.root.id);
      if (list === undefined) byRoot.set(p.record.root.id, [p]);
      else list.push(p);
    }
    for (const g of sorted) {
      const holders: OpenProblem[] = [];
      for (const id of new Set([g.root.id, ...g.symptoms.map((s) => s.point.id)])) for (const p of byRoot.get(id) ?? []) if (this.open.has(p.id) && !claimed.has(p)) holders.push(p);
      holders.sort((a, b) => a.seq - b.seq);
      if (holders.length === 0) {
        unmatched.push(g);
        continue;
      }
      const [keeper, ...younger] = holders as [OpenProblem, ...OpenProblem[]];
      claimed.set(keeper, g);
      for (const y of younger) {
        this.open.delete(y.id);
        out.push(this.change({ ...y.record, state: 'merged', merged_into: keeper.id }, records, recommendations));
      }
    }
    // a group whose root is new may continue a problem that lost its root but keeps members
    for (const g of unmatched) {
      const ids = new Set([g.root.id, ...g.symptoms.map((s) => s.point.id)]);
      const holder = [...this.open.values()].filter((p) => !claimed.has(p) && [...p.members].some((m) => ids.has(m))).sort((a, b) => a.seq - b.seq)[0];
      if (holder !== undefined) claimed.set(holder, g);
      else {
        const p = this.openNew(g, recommendations);
        if (p !== undefined) {
          opened.add(p);
          out.push(this.change(p.record, records, recommendations));
        }
      }
    }
    for (const [p, g] of claimed) {
      // nothing of it changed (no member's record, not the membership): nothing to rebuild
      const ids = [g.root.id, ...g.symptoms.map((s) => s.point.id), ...g.contributing.map((c) => c.id)];
      if (ids.every((id) => !changed.has(id)) && g.root.id === p.record.root.id && g.symptoms.length + 1 === p.members.size && g.symptoms.every((s) => p.members.has(s.point.id)) && sameIds(g.contributing, p.record.contributing)) continue;
      const record = problemRecord({ id: p.id, state: 'updated', group: g, firstSeen: p.firstSeen, recommendationIds: recommendationIds(g, recommendations), criticalPath: this.criticalPath });
      const signature = signatureOf(record);
      p.members = new Set([g.root.id, ...g.symptoms.map((s) => s.point.id)]);
      if (signature !== p.signature || changed.has(g.root.id)) {
        p.record = record;
        p.signature = signature;
        out.push(this.change(record, records, recommendations));
      } else p.record = record;
    }
    // problems no group continues
    for (const p of [...this.open.values()]) {
      if (claimed.has(p) || opened.has(p)) continue;
      this.open.delete(p.id);
      const into = [...claimed.keys()].find((q) => [...p.members].some((m) => q.members.has(m)));
      const last = [...p.members].map((m) => records.get(m)?.last_seen ?? '').reduce((a, b) => (a > b ? a : b), p.record.last_seen);
      const record: ProblemRecord = into !== undefined ? { ...p.record, state: 'merged', merged_into: into.id } : { ...p.record, state: 'resolved', last_seen: last };
      out.push(this.change(record, records, recommendations));
    }
    return out;
  }

  private openNew(g: Group, recommendations: ReadonlyMap<string, readonly Recommendation[]>): OpenProblem | undefined {
    if (this.open.size >= this.maxOpen) {
      this.hooks.onDropped?.();
      return undefined;
    }
    const id = problemId(g.root.kind, g.root.subject);
    const firstSeen = [g.root, ...g.symptoms.map((s) => s.point)].reduce((t, p) => (p.first_seen < t ? p.first_seen : t), g.root.first_seen);
    const record = problemRecord({ id, state: 'open', group: g, firstSeen, recommendationIds: recommendationIds(g, recommendations), criticalPath: this.criticalPath });
    const p: OpenProblem = { id, seq: this.seq++, firstSeen, record, members: new Set([g.root.id, ...g.symptoms.map((s) => s.point.id)]), signature: signatureOf(record) };
    this.open.set(id, p);
    return p;
  }

  private change(record: ProblemRecord, records: ReadonlyMap<string, PainPointRecord>, recommendations: ReadonlyMap<string, readonly Recommendation[]>): ProblemChange {
    void recommendations;
    const ids = [record.root.id, ...record.symptoms.map((m) => m.id), ...record.contributing.map((m) => m.id)];
    const members = ids.map((id) => records.get(id)).filter((r): r is PainPointRecord => r !== undefined);
    if (record.state === 'resolved' || record.state === 'merged' || !records.has(record.root.id)) return { problem: record, members, recommendations: [] };
    // one recommendation per problem: the root's fix first, then what its symptoms add. Its id is
    // the root's alone; the text is written when first read, since most changes are superseded
    // before anyone reads them (offline analysis reads none, analyze-spans.ts writes its own).
    return lazyRecommendations({ problem: { ...record, recommendation_ids: [this.recommendationIdOf(record.root.id)] }, members }, () => [buildProblemRecommendation(record, members)]);
  }

  /**
   * The recommendation id of a root (a hash of its id), kept: a problem's changes name the same
   * root again and again, and hashing it each time was among the stage's top self times (profiled
   * on the kc history). Capped; beyond the cap the cache starts again.
   */
  private recommendationIdOf(rootId: string): string {
    let id = this.recommendationIds.get(rootId);
    if (id === undefined) {
      if (this.recommendationIds.size >= MAX_CACHED_RECOMMENDATION_IDS) this.recommendationIds.clear();
      this.recommendationIds.set(rootId, (id = recommendationId([rootId])));
    }
    return id;
  }
}

/**
 * `change` with `recommendations` made by `make` when first read, then kept: an own enumerable
 * property, so spreading, JSON and deep equality see it as if it had been made at once.
 */
function lazyRecommendations(change: Omit<ProblemChange, 'recommendations'>, make: () => readonly Recommendation[]): ProblemChange {
  let made: readonly Recommendation[] | undefined;
  return Object.defineProperty(change, 'recommendations', { enumerable: true, get: () => (made ??= make()) }) as ProblemChange;
}

/** The recommendation of a problem: its root's (the recommend stage groups by root). */
function recommendationIds(g: Group, recommendations: ReadonlyMap<string, readonly Recommendation[]>): string[] {
  const recs = recommendations.get(g.root.id) ?? [];
  return recs.slice(0, 1).map((r) => r.id);
}

function sameIds(a: readonly { id: string }[], b: readonly { id: string }[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i]?.id);
}

function signatureOf(r: ProblemRecord): string {
  return `${r.root.id}|${r.severity}|${r.symptoms.map((m) => m.id).join(',')}|${r.contributing.map((m) => m.id).join(',')}`;
}

/** Whether a change is a pain point's (the stage passes those through). */
export function isPainPointChange(c: OutputChange): c is PainPointChange {
  return 'painpoint' in c;
}
