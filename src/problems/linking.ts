/**
 * Groups the active pain points by cause (docs/painpoints.md, Problems). A pain point is a symptom of another when
 * the other explains at least `share` (default 0.8) of its excess:
 * - *another view of the same spans*: its excess (failures above its baseline rate, time above its
 *   baseline mean, tokens above theirs) comes from the other's spans; when each explains the other
 *   the one where the excess is most concentrated (highest failure rate, largest slowdown) is the
 *   root;
 * - *caller and callee*: its added failures (above its baseline rate) have failed descendants in
 *   the other's spans, or its added time lies on its critical path through the other's spans: the
 *   deeper one is the root;
 * - one provider failing on several of its models (operations) with the same error is one outage;
 * - *tokens*: a model's added tokens that lie below an agent's spans are the agent's (another view),
 *   and the added latency of calls whose tokens grew at least as much is the token group's;
 * - *consequence*: retry storms, exhaustion, fallbacks, error clusters, slow tails and anomalies
 *   are symptoms of the failure or latency group that covers their spans or sits below their failed
 *   spans (or, with no spans of their own in the index, that names their subject); a call-rate
 *   anomaly is the failure group's whose failed calls its added calls were made in place of (the
 *   fallback traffic of an outage); an error cluster no group covers is a cause of its own and
 *   adopts the failures it explains, or holds with the view's own background beside;
 * - behaviours are roots of their own, take the consequences they cause on their own spans as
 *   symptoms, and are *contributing* members of the problems whose spans they touch; N+1 calls
 *   seen as a sequential fan-out are the N+1's.
 * Excess and shares are read from the attribution index over the correlation interval, against
 * the interval before it as the baseline.
 */
import { SEVERITY_RANK, type PainPointRecord } from '../model/painpoint.js';
import { subjectKey } from '../model/series.js';
import { metricsOf } from '../model/evidence/index.js';
import { parseDuration } from '../config/duration.js';
import { pairFirst, pairKey, pairSecond, type AttributionIndex, type IntervalFigures, type TupleFigures } from './attribution-index.js';
import { KIND_ROLES, measureOf, type Measure, type Role } from './roles.js';
import { binomialUpperTail, fisherUpperTail } from '../stats/binomial.js';

export type Relation = 'view' | 'callee' | 'consequence' | 'behaviour';

export interface Symptom {
  readonly point: PainPointRecord;
  /** how it is linked to the pain point that explains it (not necessarily the root) */
  readonly relation: Relation;
  /** the share of its excess the link explains */
  readonly share: number;
}

export interface Group {
  readonly root: PainPointRecord;
  readonly symptoms: readonly Symptom[];
  readonly contributing: readonly PainPointRecord[];
}

export interface LinkInput {
  readonly points: readonly PainPointRecord[];
  readonly index: AttributionIndex;
  /** the index's figures over an interval (cached by the caller: many pain points share one) */
  readonly interval: (from: number, to: number) => IntervalFigures;
  /** the watermark */
  readonly now: number;
  /** the longest stretch before now that excess is measured over */
  readonly maxInterval: number;
  /** how long before a pain point's first sighting its excess is counted from (its detection delay) */
  readonly lead: number;
  /** the stretch before that which the excess is measured against */
  readonly baseline: number;
  /** share of a pain point's excess another must explain to make it a symptom */
  readonly share: number;
  /** share of a behaviour's calls that must lie in a problem's spans to list it as contributing */
  readonly contributingShare: number;
  /**
   * the root each pain point had at the previous grouping: a link to the same cause holds while
   * its share stays above `share` − `band`, so a share hovering at the line does not move a pain
   * point between problems at every watermark
   */
  readonly previousRoots?: ReadonlyMap<string, string>;
  readonly band?: number;
}

interface Node {
  readonly p: PainPointRecord;
  readonly role: Role;
  readonly measure: Measure;
  readonly tuples: readonly number[];
  /** each of its tuples' figures over `current`, in the order of `tuples` */
  readonly figures: readonly TupleFigures[];
  readonly tupleSet: ReadonlySet<number>;
  /** its interval (from shortly before it was first seen, at most the correlation window) and the baseline before it */
  readonly current: IntervalFigures;
  readonly base: IntervalFigures;
  /** excess per tuple (current interval, against the baseline) */
  readonly excess: ReadonlyMap<number, number>;
  readonly total: number;
  /** how concentrated the excess is: failure rate, or slowdown / token growth over the baseline */
  readonly concentration: number;
  /** its tuples' figures summed over `current` and over `base` */
  readonly curSums: TupleFigures;
  readonly baseSums: TupleFigures;
  /** the rest of its operation's tuples over `current` (Background), made when first asked for */
  rest: { readonly ids: readonly number[]; readonly figures: readonly TupleFigures[] } | undefined;
  parent: Node | undefined;
  relation: Relation | undefined;
  linkShare: number;
}

/** Baselines thinner than this are not trusted: the excess is then measured against none. */
const MIN_BASELINE = 20;
/** Callers are fewer than calls (an agent invocation holds many): a thinner baseline of them is used. */
const MIN_CALLER_BASELINE = 5;
/** What is left of a failure view outside another's spans is noise when at least this likely at the background rate. */
const NOISE_P = 0.01;
/** Concentrations within this factor are a tie, decided by the subject's kind of value. */
const TIE = 0.02;

export function groupPainPoints(input: LinkInput): Group[] {
  const prev = input.previousRoots;
  const band = input.band ?? 0;
  /** the share a links needs: lower when it keeps a pain point with the cause it had */
  const need = (a: Node, b: Node) => (prev !== undefined && band > 0 && prev.get(a.p.id) !== undefined && (prev.get(a.p.id) === b.p.id || prev.get(a.p.id) === prev.get(b.p.id)) ? input.share - band : input.share);
  const nodes = input.points.map((p) => makeNode(p, input));
  const byRole = (role: Role) => nodes.filter((n) => n.role === role);
  const primaries = byRole('primary');
  const consequences = byRole('consequence');
  const behaviours = byRole('behaviour');

  // 1. primaries among themselves: views and callers; one provider failing on several of its
  //    models at once is one provider
  const background = backgroundOf(input);
  linkAmong(primaries, input, true, need, background);
  linkProviderAcrossOperations(primaries, input.index);
  // 2. consequences to the failure or latency group covering their spans, to a failure root
  //    outside whose spans their failures are noise, or naming its subject
  const primaryGroups = groupsOf(primaries);
  // the groups do not change while consequences link to them: each union is made once
  const unions = new Map<Node, Set<number>>();
  for (const [root, members] of primaryGroups) unions.set(root, unionOf(members));
  for (const c of consequences) {
    let best: { root: Node; share: number } | undefined;
    for (const [root, members] of primaryGroups) {
      const union = unions.get(root) as Set<number>;
      const s = Math.max(shareInSet(c, union), calleeShare(c, union), inOrAboveShare(c, union), nestedShare(c, members), root.measure === 'failures' ? replacementShare(c, union, input) : 0);
      if ((s >= need(c, root) || (root.measure === 'failures' && noiseOutside(c, root.tupleSet, background))) && (best === undefined || s > best.share)) best = { root, share: s };
    }
    best ??= groupNamingSubject(c, primaryGroups);
    if (best) link(c, best.root, 'consequence', best.share);
  }
  // 3. the rest of the consequences: views among themselves; an error cluster nothing covers adopts
  //    the failure groups it explains
  const free = consequences.filter((c) => c.parent === undefined);
  linkAmong(free, input, false, need, background);
  linkSameSeries(free);
  for (const e of free) {
    if (e.p.kind !== 'error_cluster' || e.parent !== undefined) continue;
    for (const r of primaryGroups.keys()) {
      if (r.parent !== undefined || r.measure !== 'failures') continue;
      // or some of its failures are the cluster's and the rest its own background (below)
      const s = shareIn(r, e);
      if (s >= need(r, e) || noiseOutside(r, e.tupleSet, background, true)) link(r, e, 'view', s);
    }
  }
  linkLatencyToTokens(primaries, consequences, need);
  // 4. behaviours: one behaviour seen in several views is one; the failures and consequences it
  //    causes on its own spans are its symptoms
  for (const kind of new Set(behaviours.map((b) => b.p.kind))) linkAmong(behaviours.filter((b) => b.p.kind === kind), input, false, need, background);
  linkFanoutToRepeatedCalls(behaviours, need);
  const freeBehaviours = behaviours.filter((b) => b.parent === undefined);
  for (const c of [...primaries, ...consequences]) {
    if (c.parent !== undefined || c.role === 'primary' && c.measure !== 'failures') continue;
    if (c.parent !== undefined) continue;
    let best: { b: Node; share: number } | undefined;
    for (const b of freeBehaviours) {
      if (!(KIND_ROLES[b.p.kind].absorbs ?? []).includes(c.p.kind)) continue;
      const s = shareIn(c, b);
      if (s >= need(c, b) && (best === undefined || s > best.share)) best = { b, share: s };
    }
    if (best) link(c, best.b, 'behaviour', best.share);
  }

  // roots and their trees
  const groups = groupsOf(nodes);
  const out: Group[] = [];
  for (const [root, members] of groups) {
    const symptoms: Symptom[] = members.filter((m) => m !== root).map((m) => ({ point: m.p, relation: m.relation as Relation, share: m.linkShare }));
    const contributing: PainPointRecord[] = [];
    if (root.role !== 'behaviour') {
      const union = unionOf(members);
      for (const b of behaviours) if (b.parent === undefined && overlapShare(b, union) >= input.contributingShare) contributing.push(b.p);
    }
    out.push({ root: root.p, symptoms, contributing });
  }
  return out;
}

/** What makeNode reads of a record that does not change with the figures, kept per record (records are not modified). */
interface RecordFacts {
  readonly measure: Measure;
  readonly role: Role;
  readonly firstSeen: number;
  readonly windowMs: number;
  /** the index's tuples its subject names, at a version of the index's table (versions name one index) */
  matched?: { readonly version: number; readonly ids: readonly number[] };
}

/** The index's tuples a record's subject names: kept with the record while the index's table stands (building the subject's key at every regrouping showed in the profile). */
function matchingOf(facts: RecordFacts, p: PainPointRecord, index: AttributionIndex): readonly number[] {
  const m = facts.matched;
  if (m !== undefined && m.version === index.tableVersion) return m.ids;
  const ids = index.matching(p.subject);
  facts.matched = { version: index.tableVersion, ids };
  return ids;
}

/** The start of a pain point's interval: `start` within the longest interval and at least a pane before now, on a grid of `step`. */
function startAt(start: number, input: LinkInput, pane: number, step: number): number {
  return Math.floor(Math.min(Math.max(start, input.now - input.maxInterval), input.now - pane) / step) * step;
}

/**
 * Per record: a pain point's record stays the same object across most regroupings (profiling the kc
 * history showed parsing its times and window at every regrouping among the stage's top self times).
 */
const recordFacts = new WeakMap<PainPointRecord, RecordFacts>();

function factsOf(p: PainPointRecord): RecordFacts {
  let facts = recordFacts.get(p);
  if (facts === undefined) {
    const windowMs = p.evidence.window === 'all' ? Number.POSITIVE_INFINITY : (parseDuration(p.evidence.window) ?? 0);
    facts = { measure: measureOf(p), role: KIND_ROLES[p.kind].role, firstSeen: Date.parse(p.first_seen), windowMs };
    recordFacts.set(p, facts);
  }
  return facts;
}

/** A tuple's amount in a measure (makeNode's excess is this above `rate` times its calls). */
function amountOf(measure: Measure, f: TupleFigures): number {
  switch (measure) {
    case 'failures':
      return f.failures;
    case 'latency':
      return f.okMs;
    case 'tokens':
      return f.tokens;
    default:
      return f.calls;
  }
}

/** The amount `rate` makes expected of a tuple's calls, by measure (calls expect none). */
function expectedOf(measure: Measure, f: TupleFigures, rate: number): number {
  switch (measure) {
    case 'failures':
      return f.calls * rate;
    case 'latency':
      return f.ok * rate;
    case 'tokens':
      return f.calls * rate;
    default:
      return 0;
  }
}

function makeNode(p: PainPointRecord, input: LinkInput): Node {
  const facts = factsOf(p);
  const { measure, role, firstSeen, windowMs } = facts;
  // excess is counted from shortly before the pain point was first seen, so a fault that began
  // minutes ago is compared with the healthy time before it; when that stretch holds too few of
  // its calls (sparse kc runs judged over hours), over its own window instead
  const pane = input.index.paneMs;
  const step = pane * 5; // starts on a grid of 5 panes: pain points first seen close together share an interval (cached)
  let from = startAt(Number.isFinite(firstSeen) ? firstSeen - input.lead : input.now - windowMs, input, pane, step);
  let current = input.interval(from, input.now);
  let tuples = present(matchingOf(facts, p, input.index), current);
  const wider = startAt(input.now - windowMs, input, pane, step);
  if (wider < from && tooThin(measure, tuples, current)) {
    from = wider;
    current = input.interval(from, input.now);
    tuples = present(matchingOf(facts, p, input.index), current);
  }
  const baseline = input.interval(from - input.baseline, from);
  // its tuples' figures over its interval, read once (every tuple kept is in it)
  const currentTuples = current.tuples;
  const figures = tuples.map((id) => currentTuples.get(id) as TupleFigures);
  const base = sumTuples(tuples, baseline);
  const cur = sumTuples(tuples, current);
  // per-tuple amount and expected amount, by measure
  let rate = 0;
  let concentration: number;
  switch (measure) {
    case 'failures':
      rate = base.calls >= MIN_BASELINE ? base.failures / base.calls : 0;
      concentration = cur.calls > 0 ? cur.failures / cur.calls : 0;
      break;
    case 'latency':
      rate = base.ok >= MIN_BASELINE ? base.okMs / base.ok : fastestMean(tuples, current, false);
      concentration = cur.ok > 0 ? cur.okMs / cur.ok / Math.max(rate, 1e-9) : 0;
      break;
    case 'tokens':
      rate = base.calls >= MIN_BASELINE ? base.tokens / base.calls : fastestMean(tuples, current, true);
      concentration = cur.calls > 0 ? cur.tokens / cur.calls / Math.max(rate, 1e-9) : 0;
      break;
    default:
      concentration = cur.calls;
  }
  const excess = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < tuples.length; i++) {
    const f = figures[i] as TupleFigures;
    const e = Math.max(0, amountOf(measure, f) - expectedOf(measure, f, rate));
    excess.set(tuples[i] as number, e);
    total += e;
  }
  if (total <= 0) {
    // no excess over the baseline (a standing finding): its spans' amount itself
    total = 0;
    for (let i = 0; i < tuples.length; i++) {
      const e = amountOf(measure, figures[i] as TupleFigures);
      excess.set(tuples[i] as number, e);
      total += e;
    }
  }
  return { p, role, measure, current, base: baseline, tuples, figures, tupleSet: new Set(tuples), excess, total, concentration, curSums: cur, baseSums: base, rest: undefined, parent: undefined, relation: undefined, linkShare: 0 };
}

/** The ids of `ids` that `f` counts, in their order. */
function present(ids: readonly number[], f: IntervalFigures): number[] {
  const counted = f.tuples;
  const out: number[] = [];
  for (const id of ids) if (counted.has(id)) out.push(id);
  return out;
}

/** Figures of `tuples` summed over an interval, in their order. */
function sumTuples(tuples: readonly number[], f: IntervalFigures): TupleFigures {
  const counted = f.tuples;
  const sum = { calls: 0, failures: 0, ok: 0, okMs: 0, tokens: 0 };
  for (const id of tuples) {
    const t = counted.get(id);
    if (t === undefined) continue;
    sum.calls += t.calls;
    sum.failures += t.failures;
    sum.ok += t.ok;
    sum.okMs += t.okMs;
    sum.tokens += t.tokens;
  }
  return sum;
}

/**
 * Whether the stretch since a pain point was first seen is too thin to measure it on: fewer than
 * MIN_BASELINE of its calls, or, for a failure finding, none of its failures (a retry exhaustion
 * judged over 24 h of sparse kc runs, first seen as the last quiet run ended).
 */
function tooThin(measure: Measure, tuples: readonly number[], current: IntervalFigures): boolean {
  const counted = current.tuples;
  let calls = 0;
  let failures = 0;
  for (const id of tuples) {
    const f = counted.get(id);
    if (f === undefined) continue;
    calls += f.calls;
    failures += f.failures;
  }
  return calls < MIN_BASELINE || (measure === 'failures' && failures === 0);
}

/** With no baseline: the mean of its fastest (leanest) part with enough calls, when it has parts (tokens per call, or ms per successful call). */
function fastestMean(tuples: readonly number[], current: IntervalFigures, tokens: boolean): number {
  const counted = current.tuples;
  let best = Number.POSITIVE_INFINITY;
  let parts = 0;
  for (const id of tuples) {
    const f = counted.get(id);
    if (f === undefined) continue;
    const sum = tokens ? f.tokens : f.okMs;
    const n = tokens ? f.calls : f.ok;
    if (n < 5) continue;
    parts++;
    best = Math.min(best, sum / n);
  }
  return parts >= 2 && Number.isFinite(best) ? best : 0;
}

/** Share of a's excess that lies in b's spans. */
function shareIn(a: Node, b: Node): number {
  return shareInSet(a, b.tupleSet);
}

function shareInSet(a: Node, set: ReadonlySet<number>): number {
  if (a.total <= 0) return 0;
  let s = 0;
  for (const [id, e] of a.excess) if (set.has(id)) s += e;
  return s / a.total;
}

/** Share of a's calls in a set of spans (a behaviour's reach into a problem). */
function overlapShare(a: Node, set: ReadonlySet<number>): number {
  let all = 0;
  let inside = 0;
  for (const id of a.tuples) {
    const n = a.excess.get(id) ?? 0;
    all += n;
    if (set.has(id)) inside += n;
  }
  return all > 0 ? inside / all : 0;
}

/**
 * Share of a nested retry storm's amplified chains whose inner retried calls are the operations of
 * `members` (read from its evidence, `nested_operations` by operation key). A storm of nested
 * retries is its amplified chains (docs/painpoints.md: ≥ 5 chains whose attempts multiply), and
 * each exists because its inner call kept failing: those chains are the inner operation's failures
 * retried at two layers. Measured on the caller's failures instead (calleeShare), the share also
 * counts the caller's own background failures — an agent out of turns, a file that stayed
 * missing — which its amplified chains do not hold, and which a caller with no failures in its
 * baseline cannot subtract.
 */
function nestedShare(c: Node, members: readonly Node[]): number {
  if (c.p.kind !== 'retry_storm') return 0;
  const m = metricsOf({ kind: 'retry_storm', evidence: c.p.evidence });
  const chains = m.amplified_chains ?? 0;
  if (chains <= 0 || m.nested_operations === undefined) return 0;
  const prefixes = new Set<string>();
  for (const n of members) if (n.measure === 'failures' && n.p.subject.operation !== undefined) prefixes.add(`${n.p.subject.service} ${n.p.subject.operation}`);
  let inside = 0;
  for (const [operationKey, n] of Object.entries(m.nested_operations)) {
    for (const prefix of prefixes) {
      if (operationKey === prefix || operationKey.startsWith(`${prefix} `)) {
        inside += n;
        break;
      }
    }
  }
  return Math.min(1, inside / chains);
}

/**
 * Share of a call-rate anomaly's excess calls (its evidence: the calls above its history's median in
 * the window it judged) that were made in place of failed calls in `failed` — their fallbacks to
 * another model or provider, or their retries, the next sibling under the same parent (attribution
 * index `replacedBy`) — above the share of such calls in its baseline. The fallback traffic of a
 * provider outage is the outage's consequence (docs/painpoints.md, consequence); a series whose
 * calls rose for reasons of its own holds few replacements and keeps its own problem. The share of
 * replacements among its calls is taken over whole assembled traces (`traced`), so traces still
 * running at the watermark do not dilute it; over the judged window, or over the anomaly's interval
 * when too few of the window's traces are assembled yet.
 */
function replacementShare(c: Node, failed: ReadonlySet<number>, input: LinkInput): number {
  if (c.p.kind !== 'anomaly' || c.measure !== 'calls' || failed.size === 0) return 0;
  const m = metricsOf({ kind: 'anomaly', evidence: c.p.evidence });
  const value = m.value ?? 0;
  const median = m.median ?? 0;
  const excess = m.excess_calls ?? Math.max(0, value - median);
  const windowMs = parseDuration(c.p.evidence.window) ?? 0;
  const end = Date.parse(c.p.last_seen);
  if (!(excess > 0) || !(windowMs > 0) || !Number.isFinite(end)) return 0;
  const replaced = (f: IntervalFigures) => {
    let calls = 0;
    let replacements = 0;
    for (const s of c.tuples) {
      calls += f.traced.get(s)?.calls ?? 0;
      for (const a of failed) replacements += f.replacedBy.get(pairKey(a, s)) ?? 0;
    }
    return { calls, replacements };
  };
  let now = replaced(input.interval(end - windowMs, end));
  if (now.calls < MIN_CALLER_BASELINE) now = replaced(c.current);
  if (now.calls === 0) return 0;
  const base = replaced(c.base);
  const baseShare = base.calls >= MIN_BASELINE ? base.replacements / base.calls : 0;
  const added = (now.replacements / now.calls) * value - baseShare * median;
  return Math.max(0, Math.min(1, added / excess));
}

/**
 * Share of a consequence's failures that lie in `set`'s spans or are failed spans with a failed
 * descendant there: an error cluster of timeouts spans the timed-out attempts and the tasks that
 * failed because their attempts did (the same failures one level up, caller and callee), so
 * neither part alone holds its excess, and calleeShare, which needs disjoint spans, holds none.
 * A failed span outside `set` counts for at most its excess and at most its failures with such a
 * descendant.
 */
function inOrAboveShare(c: Node, set: ReadonlySet<number>): number {
  if (c.measure !== 'failures' || c.total <= 0) return 0;
  let explained = 0;
  for (const [id, e] of c.excess) {
    if (e <= 0) continue;
    if (set.has(id)) {
      explained += e;
      continue;
    }
    explained += Math.min(e, mostFailedBelow(c.current, id, set));
  }
  return Math.min(1, explained / c.total);
}

/** Share of a caller's trouble that its descendants in `set` explain (0 when they share spans). */
function calleeShare(a: Node, set: ReadonlySet<number>): number {
  for (const id of a.tuples) if (set.has(id)) return 0;
  if (a.measure === 'failures' || a.measure === 'calls') return failedBelowShare(a, set);
  if (a.measure !== 'latency') return 0;
  // added time of the caller against the part of it spent on its critical path in `set`
  const sumOver = (f: IntervalFigures) => {
    let n = 0;
    let ms = 0;
    let inSet = 0;
    for (const p of a.tuples) {
      const par = f.parents.get(p);
      if (par === undefined) continue;
      n += par.n;
      ms += par.ms;
      for (const q of set) inSet += f.pathBelow.get(pairKey(p, q)) ?? 0;
    }
    return { n, ms, inSet };
  };
  const cur = sumOver(a.current);
  if (cur.n === 0 || cur.ms <= 0) return 0;
  const base = sumOver(a.base);
  if (base.n >= MIN_CALLER_BASELINE) {
    const added = cur.ms - cur.n * (base.ms / base.n);
    const addedBelow = cur.inSet - cur.n * (base.inSet / base.n);
    if (added > 0) return Math.max(0, Math.min(1, addedBelow / added));
  }
  return Math.min(1, cur.inSet / cur.ms);
}

/**
 * Share of a caller's added failures that have a failed descendant in `set`: its failures above
 * its baseline rate against its failures with such a descendant above their baseline rate, as
 * for added time (calleeShare). A caller also fails for reasons of its own now and then (an agent
 * out of turns, another tool's isolated timeout); those are in its baseline, not in its trouble.
 * With too thin a baseline, against all its failures.
 */
function failedBelowShare(a: Node, set: ReadonlySet<number>): number {
  // the calls and failures of its tuples are the node's sums (the same tuples in the same order)
  const cur = a.curSums;
  if (cur.failures === 0) return 0;
  const curBelow = failedBelowIn(a.tuples, a.current, set);
  const base = a.baseSums;
  if (base.calls >= MIN_CALLER_BASELINE) {
    const added = cur.failures - cur.calls * (base.failures / base.calls);
    const addedBelow = curBelow - cur.calls * (failedBelowIn(a.tuples, a.base, set) / base.calls);
    if (added > 0) return Math.max(0, Math.min(1, addedBelow / added));
  }
  return Math.min(1, curBelow / cur.failures);
}

/** Over `tuples`, the most failed spans of each with a failed descendant in one tuple of `set`, summed. */
function failedBelowIn(tuples: readonly number[], f: IntervalFigures, set: ReadonlySet<number>): number {
  let below = 0;
  for (const p of tuples) below += mostFailedBelow(f, p, set);
  return below;
}

/**
 * An interval's failedBelow by its first tuple: [descendant, count, …]. The shares ask for a
 * tuple's failed descendants in a set of tuples; looking up every pair of the two was the bulk of
 * the linking's lookups on the kc history (two million a call, nearly all absent).
 */
const failedBelowRows = new WeakMap<IntervalFigures, Map<number, number[]>>();

/** The most failed spans of tuple `p` with a failed descendant in one tuple of `set` (0 with none). */
function mostFailedBelow(f: IntervalFigures, p: number, set: ReadonlySet<number>): number {
  let rows = failedBelowRows.get(f);
  if (rows === undefined) {
    rows = new Map();
    for (const [key, n] of f.failedBelow) {
      const first = pairFirst(key);
      let row = rows.get(first);
      if (row === undefined) rows.set(first, (row = []));
      row.push(pairSecond(key), n);
    }
    failedBelowRows.set(f, rows);
  }
  const row = rows.get(p);
  let most = 0;
  if (row !== undefined) for (let i = 0; i < row.length; i += 2) if (set.has(row[i] as number)) most = Math.max(most, row[i + 1] as number);
  return most;
}

/** `invoke_agent reviewer reviewer`: a parent subject as the trace detectors label a parent span (its name and qualifier). */
function parentLabelOf(subject: PainPointRecord['subject']): string | undefined {
  const qualifier = subject.agent ?? subject.tool ?? subject.model ?? subject.task_type;
  if (subject.operation === undefined) return undefined;
  return qualifier === undefined ? subject.operation : `${subject.operation} ${qualifier}`;
}

/**
 * N+1 calls are also a sequence of tool calls with no model call between them: a sequential
 * fan-out whose calls are (≥ the link share) one tool's, under a parent that tool's repeated_calls
 * names, is the N+1 seen as a sequence — the same calls — and the N+1, the more specific cause,
 * is its root (batching the repeated call removes the sequence; running it in parallel would only
 * hide the N+1). Read from the two kinds' evidence: their calls are tool spans under a parent,
 * which the index keeps per span, not per sequence.
 */
function linkFanoutToRepeatedCalls(behaviours: readonly Node[], need: (a: Node, b: Node) => number): void {
  const repeated = behaviours.filter((b) => b.p.kind === 'repeated_calls' && b.parent === undefined && b.p.subject.tool !== undefined);
  if (repeated.length === 0) return;
  for (const f of behaviours) {
    if (f.p.kind !== 'sequential_fanout' || f.parent !== undefined) continue;
    const tools = metricsOf({ kind: 'sequential_fanout', evidence: f.p.evidence }).tools ?? {};
    const all = Object.values(tools).reduce((n, c) => n + c, 0);
    const parent = parentLabelOf(f.p.subject);
    if (all <= 0 || parent === undefined) continue;
    let best: { r: Node; share: number } | undefined;
    for (const r of repeated) {
      const m = metricsOf({ kind: 'repeated_calls', evidence: r.p.evidence });
      if (m.parent_operation !== parent && (m.parents ?? {})[parent] === undefined) continue;
      const share = (tools[r.p.subject.tool as string] ?? 0) / all;
      if (share >= need(f, r) && (best === undefined || share > best.share)) best = { r, share };
    }
    if (best) link(f, best.r, 'view', best.share);
  }
}

/** The subject's values other than its service and operation (the dimensions that name what it is about). */
function namedValues(subject: PainPointRecord['subject']): [string, string][] {
  return Object.entries(subject).filter(([k, v]) => k !== 'service' && k !== 'operation' && typeof v === 'string') as [string, string][];
}

/**
 * A consequence the index cannot place on spans of its own — a provider abandoned by an agent
 * (`invoke_agent coder`, provider=anthropic) names the provider its fallbacks left, while the
 * agent's spans carry none — is a symptom of the failure or latency group that names the same
 * values (docs/painpoints.md: a consequence on the subject of a failure pain point). The group
 * whose members name them with the most excess; none when no group does.
 */
function groupNamingSubject(c: Node, groups: ReadonlyMap<Node, readonly Node[]>): { root: Node; share: number } | undefined {
  if (c.total > 0) return undefined;
  const values = namedValues(c.p.subject);
  if (values.length === 0) return undefined;
  let best: { root: Node; weight: number } | undefined;
  for (const [root, members] of groups) {
    if (root.measure !== 'failures' && root.measure !== 'latency') continue;
    const naming = members.filter((m) => {
      const named = new Map(namedValues(m.p.subject));
      return values.every(([k, v]) => named.get(k) === v);
    });
    if (naming.length === 0) continue;
    const weight = Math.max(...naming.map((m) => m.total));
    if (best === undefined || weight > best.weight) best = { root, weight };
  }
  return best === undefined ? undefined : { root: best.root, share: 1 };
}

/** The error class holding most of a node's excess (undefined with none). */
function dominantErrorClass(n: Node, index: AttributionIndex): string | undefined {
  const byClass = new Map<string, number>();
  for (const [id, e] of n.excess) {
    const cls = index.tuple(id)?.error_class;
    if (cls !== undefined && e > 0) byClass.set(cls, (byClass.get(cls) ?? 0) + e);
  }
  let top: [string, number] | undefined;
  for (const entry of byClass) if (top === undefined || entry[1] > top[1]) top = entry;
  return top?.[0];
}

/**
 * One provider failing on several of its models (operations) at once, with the same error, is one
 * provider outage, not one problem per model: a provider series is kept per operation, so no
 * single series holds the whole outage for "another view" to find. The failure groups whose roots
 * are views of the same provider and fail with the same dominant error class are linked as views
 * to the one with the largest excess (docs/painpoints.md: a provider failing on every task type is
 * the root).
 */
function linkProviderAcrossOperations(primaries: readonly Node[], index: AttributionIndex): void {
  const byOutage = new Map<string, Node[]>();
  for (const n of primaries) {
    if (n.parent !== undefined || n.measure !== 'failures' || n.p.subject.provider === undefined) continue;
    const cls = dominantErrorClass(n, index);
    if (cls === undefined) continue;
    const key = `${n.p.subject.service}\u0000${n.p.subject.provider.toLowerCase()}\u0000${cls}`;
    const list = byOutage.get(key);
    if (list === undefined) byOutage.set(key, [n]);
    else list.push(n);
  }
  for (const roots of byOutage.values()) {
    if (roots.length < 2) continue;
    const main = roots.reduce((a, b) => (b.total > a.total || (b.total === a.total && b.p.id < a.p.id) ? b : a));
    for (const r of roots) if (r !== main) link(r, main, 'view', 1);
  }
}

/**
 * A node's spans' calls and tokens in whole assembled traces, and the tokens of them that lie below
 * `parents`' spans, over an interval. Both from whole traces: the calls of traces still running at
 * the watermark, or emitted as fragments without their agent's span (a coder task that now takes
 * minutes outlives the assembler's wait), are below no agent; counted in the whole, they made an
 * agent that sent 8 × the tokens explain only 71–78 % of its model's added tokens.
 */
function tokensUnder(a: Node, parents: readonly number[], f: IntervalFigures): { calls: number; tokens: number; below: number } {
  let calls = 0;
  let tokens = 0;
  let below = 0;
  for (const p of a.tuples) {
    const t = f.traced.get(p);
    calls += t?.calls ?? 0;
    tokens += t?.tokens ?? 0;
    for (const q of parents) below += f.tokensBelow.get(pairKey(q, p)) ?? 0;
  }
  return { calls, tokens, below };
}

/**
 * Share of a's added tokens (above its baseline per call) that lie below b's spans: a model's
 * calls made inside an agent's invocations are that agent's tokens seen per model (the same
 * spans, another view; the agent's invocation spans hold its calls' tokens). With too thin a
 * baseline, against all its tokens.
 */
function tokensBelowShare(a: Node, b: Node): number {
  if (b.measure !== 'tokens') return 0;
  const cur = tokensUnder(a, b.tuples, a.current);
  if (cur.tokens <= 0) return 0;
  const base = tokensUnder(a, b.tuples, a.base);
  if (base.calls >= MIN_BASELINE) {
    const added = cur.tokens - cur.calls * (base.tokens / base.calls);
    const addedBelow = cur.below - cur.calls * (base.below / base.calls);
    if (added > 0) return Math.max(0, Math.min(1, addedBelow / added));
  }
  return Math.min(1, cur.below / cur.tokens);
}

/**
 * A model's calls that carry more tokens take longer: a latency group rooted at calls whose
 * tokens per call rose at least as much as their time, with that added token load lying (≥ the
 * link share) below a token group's spans, is a symptom of that group (an agent sending 8 × the
 * input tokens makes its model's latency regress). A model that became slower with the same
 * tokens is a cause of its own.
 */
function linkLatencyToTokens(primaries: readonly Node[], consequences: readonly Node[], need: (a: Node, b: Node) => number): void {
  const tokenRoots = consequences.filter((c) => c.measure === 'tokens' && c.parent === undefined);
  if (tokenRoots.length === 0) return;
  for (const l of primaries) {
    if (l.parent !== undefined || l.measure !== 'latency' || !(l.concentration > 1)) continue;
    const cur = tokensUnder(l, [], l.current);
    const base = tokensUnder(l, [], l.base);
    if (base.calls < MIN_BASELINE || cur.calls === 0 || base.tokens <= 0) continue;
    const growth = cur.tokens / cur.calls / (base.tokens / base.calls);
    if (growth < l.concentration) continue;
    let best: { t: Node; share: number } | undefined;
    for (const t of tokenRoots) {
      const now = tokensUnder(l, t.tuples, l.current);
      const before = tokensUnder(l, t.tuples, l.base);
      const added = now.tokens - now.calls * (base.tokens / base.calls);
      const addedBelow = now.below - now.calls * (before.below / before.calls);
      const share = added > 0 ? Math.max(0, Math.min(1, addedBelow / added)) : 0;
      if (share >= need(l, t) && (best === undefined || share > best.share)) best = { t, share };
    }
    if (best) link(l, best.t, 'consequence', best.share);
  }
}

/**
 * Consequences of different kinds on one series that no cause took — a retry storm and the retry
 * exhaustion of fetch_url, whose failing calls were too few to be a failure finding of their own —
 * are the same spans seen two ways (their excess lies wholly in each other's spans, though one is
 * counted in calls and the other in failures): one problem, rooted as two findings on one series
 * are (wins: the more severe, then the older).
 */
function linkSameSeries(free: readonly Node[]): void {
  const bySeries = new Map<string, Node[]>();
  for (const c of free) {
    if (c.parent !== undefined || c.tuples.length === 0) continue;
    const key = subjectKey(c.p.subject);
    const list = bySeries.get(key);
    if (list === undefined) bySeries.set(key, [c]);
    else list.push(c);
  }
  for (const nodes of bySeries.values()) {
    if (nodes.length < 2) continue;
    const root = nodes.reduce((a, b) => (wins(b, a) ? b : a));
    for (const n of nodes) if (n !== root && n.measure !== root.measure) link(n, root, 'view', 1);
  }
}

/** Dimension preference on a tie (identical spans seen two ways), per measure. */
function tieRank(n: Node): number {
  const s = n.p.subject;
  const order: readonly (keyof typeof s)[] =
    n.measure === 'failures'
      ? ['error_class', 'provider', 'tool', 'task_type', 'model', 'agent']
      : n.measure === 'tokens'
        ? ['agent', 'model', 'tool', 'task_type', 'provider']
        : ['model', 'tool', 'task_type', 'provider', 'agent'];
  const i = order.findIndex((k) => s[k] !== undefined);
  return i < 0 ? order.length : i;
}

/** Whether b, not a, is the root when each explains the other. */
function wins(b: Node, a: Node): boolean {
  // two kinds on the same series: the more severe, then the older finding is the root (a
  // regression over a standing bottleneck; the root does not move while both hold)
  if (subjectKey(a.p.subject) === subjectKey(b.p.subject)) {
    if (a.p.severity !== b.p.severity) return SEVERITY_RANK[b.p.severity] > SEVERITY_RANK[a.p.severity];
    return b.p.first_seen < a.p.first_seen || (b.p.first_seen === a.p.first_seen && b.p.id < a.p.id);
  }
  const hi = Math.max(a.concentration, b.concentration);
  if (hi > 0 && Math.abs(a.concentration - b.concentration) > TIE * hi) return b.concentration > a.concentration;
  const ra = tieRank(a);
  const rb = tieRank(b);
  if (ra !== rb) return rb < ra;
  return b.p.id < a.p.id;
}

function linkAmong(nodes: readonly Node[], input: LinkInput, callers: boolean, need: (a: Node, b: Node) => number, background: Background): void {
  const explains = (x: Node, y: Node) => shareIn(x, y) >= need(x, y) || (y.measure === 'failures' && noiseOutside(x, y.tupleSet, background));
  for (const a of nodes) {
    let best: { b: Node; share: number; relation: Relation } | undefined;
    for (const b of nodes) {
      if (b === a || b.measure !== a.measure) continue;
      let share = shareIn(a, b);
      let relation: Relation = 'view';
      let linked = explains(a, b);
      if (linked) {
        if (explains(b, a) && !wins(b, a)) continue;
      } else if (callers) {
        share = calleeShare(a, b.tupleSet);
        relation = 'callee';
        linked = share >= need(a, b);
      } else if (a.measure === 'tokens') {
        share = tokensBelowShare(a, b);
        linked = share >= need(a, b);
      }
      if (linked && (best === undefined || share > best.share)) best = { b, share, relation };
    }
    if (best) link(a, best.b, best.relation, best.share);
  }
}

/**
 * How likely `failures` in `calls` of a pain point's spans are if they fail as the rest of the
 * operation's traffic (service + span name) does: its calls outside the pain point's spans and the
 * spans `b` it is compared with, over the pain point's interval (Fisher's exact test); when fewer
 * than MIN_BASELINE of them are left, at the pain point's own baseline rate (binomial); else unknown.
 */
interface Background {
  pValue(a: Node, b: ReadonlySet<number>, failures: number, calls: number): number | undefined;
  /** the same at the pain point's own baseline rate only (undefined when it has too thin a baseline) */
  ownPValue(a: Node, failures: number, calls: number): number | undefined;
}

function backgroundOf(input: LinkInput): Background {
  const operations = new Map<string, readonly number[]>();
  const tuplesOf = (a: Node): readonly number[] => {
    const { service, operation } = a.p.subject;
    const key = `${service}\u0000${operation ?? ''}`;
    let ids = operations.get(key);
    if (ids === undefined) operations.set(key, (ids = input.index.matching(operation === undefined ? { service } : { service, operation })));
    return ids;
  };
  return {
    pValue(a, b, failures, calls) {
      // its operation's tuples outside its own, once per node (asked for again for each b)
      let rest = a.rest;
      if (rest === undefined) {
        const counted = a.current.tuples;
        const ids: number[] = [];
        const figures: TupleFigures[] = [];
        for (const id of tuplesOf(a)) {
          const f = counted.get(id);
          if (f === undefined || a.tupleSet.has(id)) continue;
          ids.push(id);
          figures.push(f);
        }
        a.rest = rest = { ids, figures };
      }
      let restCalls = 0;
      let restFailures = 0;
      for (let i = 0; i < rest.ids.length; i++) {
        if (b.has(rest.ids[i] as number)) continue;
        const f = rest.figures[i] as TupleFigures;
        restCalls += f.calls;
        restFailures += f.failures;
      }
      if (restCalls >= MIN_BASELINE) return fisherUpperTail(failures, calls, restFailures, restCalls);
      return this.ownPValue(a, failures, calls);
    },
    ownPValue(a, failures, calls) {
      // its tuples' calls and failures over its baseline are the node's sums (the same tuples in the same order)
      const own = a.baseSums;
      return own.calls >= MIN_BASELINE ? binomialUpperTail(failures, calls, own.failures / own.calls) : undefined;
    },
  };
}

/**
 * Whether what is left of a failure view outside the spans `b` (another view's, or a group's) is
 * noise: it fails no more often than the rest of the traffic (at least NOISE_P likely, Background),
 * while b's spans hold some of its failures. Then b carries a's trouble whatever share of a's
 * failures it holds: without b's spans a would be no finding (a few isolated failures are never a
 * pain point, docs/painpoints.md).
 *
 * `ownOnly`: against a's own baseline rate alone. So an error cluster adopts a failure view
 * (open_pull_request: 12 of its failures EROFS, 4 the 422s it always answers now and then) only
 * when the rest is what a failed at before: another fault spread over the whole operation (a
 * provider's 401s on every task type) fails the rest of the traffic as often, which the test
 * against the rest would take for noise, but it is a cause, and the view keeps its own root.
 */
function noiseOutside(a: Node, b: ReadonlySet<number>, background: Background, ownOnly = false): boolean {
  if (a.measure !== 'failures') return false;
  let calls = 0;
  let failures = 0;
  let inside = 0;
  for (let i = 0; i < a.tuples.length; i++) {
    const f = a.figures[i] as TupleFigures;
    if (b.has(a.tuples[i] as number)) inside += f.failures;
    else {
      calls += f.calls;
      failures += f.failures;
    }
  }
  if (inside === 0) return false;
  if (failures === 0) return true;
  const p = ownOnly ? background.ownPValue(a, failures, calls) : background.pValue(a, b, failures, calls);
  return p !== undefined && p >= NOISE_P;
}

function link(a: Node, b: Node, relation: Relation, share: number): void {
  a.parent = b;
  a.relation = relation;
  a.linkShare = share;
}

/** The root of a node: its parents followed up; in a cycle, the most concentrated node of it. */
function rootOf(n: Node): Node {
  const seen: Node[] = [];
  let cur = n;
  while (cur.parent !== undefined) {
    if (seen.includes(cur)) {
      const cycle = seen.slice(seen.indexOf(cur));
      const root = cycle.reduce((best, c) => (wins(c, best) ? c : best));
      root.parent = undefined;
      root.relation = undefined;
      return root;
    }
    seen.push(cur);
    cur = cur.parent;
  }
  return cur;
}

function groupsOf(nodes: readonly Node[]): Map<Node, Node[]> {
  const groups = new Map<Node, Node[]>();
  for (const n of nodes) {
    const root = rootOf(n);
    let g = groups.get(root);
    if (g === undefined) groups.set(root, (g = []));
    g.push(n);
  }
  // the root first in each group
  for (const [root, members] of groups) {
    members.splice(members.indexOf(root), 1);
    members.unshift(root);
  }
  return groups;
}

function unionOf(members: readonly Node[]): Set<number> {
  const set = new Set<number>();
  for (const m of members) for (const id of m.tuples) set.add(id);
  return set;
}
