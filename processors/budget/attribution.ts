/**
 * Who a model call spends for, when the call itself does not say. Agent and user names are often
 * set only on the agent's (or the request's) span, which ends after the calls under it: a call a
 * per-agent or per-user budget needs waits here, under its parent, until an ancestor naming them
 * arrives, and is then counted at its own end time (a window it fell in is judged again). A wait
 * outlives no budget window: past the longest window, or past `max_pending` calls waiting, the
 * oldest wait is given up (counted), as is one whose trace root arrived without the names.
 *
 * The ancestor can also come first: spans naming their run pass the run resolution at once, while
 * a call naming none is held to its boundary (src/pipeline/run-resolution.ts). So the names and
 * parent of recent spans are remembered (as many as `max_pending`, oldest forgotten first) and a
 * call looks up its ancestors there before it waits.
 */
import type { SpanRecord } from '../../src/model/span.js';
import type { SpendItem } from './spend.js';

/** The names a budget may need from an ancestor. */
export type Needed = 'agent' | 'user';

interface Waiting {
  readonly item: SpendItem;
  /** the budgets (indexes) still to count it, each with the names it needs */
  readonly budgets: readonly number[];
}

interface Group {
  readonly items: Waiting[];
  /** end time of the newest item */
  newestMs: number;
}

export interface AttributionHooks {
  /** calls given up: their ancestor never named them in time, or the wait queue was full */
  onGivenUp?(n: number, reason: 'cap' | 'expired' | 'unnamed'): void;
}

/** What a call needs to know of a span that already arrived. */
interface Seen {
  readonly agent?: string;
  readonly user?: string;
  readonly parentSpanId?: string;
}

export class Attribution {
  /** groups by the span they wait for (trace id / span id), oldest first */
  private readonly groups = new Map<string, Group>();
  private waiting = 0;
  /** recent spans (trace id / span id), oldest first, capped at maxPending */
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly maxPending: number,
    private readonly hooks: AttributionHooks = {},
  ) {}

  get size(): number {
    return this.waiting;
  }

  /**
   * `item` takes the names of the ancestors that already arrived, from `parent` up, and is counted
   * where `settle` can; the rest waits under the first ancestor not seen yet.
   */
  resolve(parent: string, item: SpendItem, budgets: readonly number[], settle: (item: SpendItem, budget: number) => boolean): void {
    let at: string | undefined = parent;
    let named = item;
    let rest = budgets;
    for (let seen = this.seen.get(`${item.traceId}/${at}`); seen !== undefined; seen = at === undefined ? undefined : this.seen.get(`${item.traceId}/${at}`)) {
      named = { ...named, agent: named.agent ?? seen.agent, user: named.user ?? seen.user };
      rest = rest.filter((b) => !settle(named, b));
      if (rest.length === 0) return;
      at = seen.parentSpanId;
    }
    if (at === undefined) this.hooks.onGivenUp?.(1, 'unnamed');
    else this.wait(at, named, rest);
  }

  /** `item` waits under its parent for the names `budgets` need. */
  wait(parent: string, item: SpendItem, budgets: readonly number[]): void {
    const key = `${item.traceId}/${parent}`;
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { items: [], newestMs: item.endMs }));
    g.items.push({ item, budgets });
    g.newestMs = Math.max(g.newestMs, item.endMs);
    this.waiting++;
    let dropped = 0;
    while (this.waiting > this.maxPending) {
      // the oldest call of the oldest wait goes first
      const [oldestKey, oldest] = this.groups.entries().next().value as [string, Group];
      oldest.items.shift();
      if (oldest.items.length === 0) this.groups.delete(oldestKey);
      this.waiting--;
      dropped++;
    }
    if (dropped > 0) this.hooks.onGivenUp?.(dropped, 'cap');
  }

  /**
   * A span arrived: the calls waiting for it take its names (keeping their own). `settle` is asked,
   * per call and budget, whether the call can be counted now; the rest wait on for the span's
   * parent, or are given up at the root.
   */
  arrived(span: SpanRecord, settle: (item: SpendItem, budget: number) => boolean): void {
    const key = `${span.traceId}/${span.spanId}`;
    this.remember(key, span);
    const g = this.groups.get(key);
    if (g === undefined) return;
    this.groups.delete(key);
    this.waiting -= g.items.length;
    let unnamed = 0;
    for (const w of g.items) {
      const item: SpendItem = { ...w.item, agent: w.item.agent ?? span.agent, user: w.item.user ?? span.user };
      const rest = w.budgets.filter((b) => !settle(item, b));
      if (rest.length === 0) continue;
      if (span.parentSpanId === undefined) unnamed++;
      else this.wait(span.parentSpanId, item, rest);
    }
    if (unnamed > 0) this.hooks.onGivenUp?.(unnamed, 'unnamed');
  }

  private remember(key: string, span: SpanRecord): void {
    this.seen.set(key, { agent: span.agent, user: span.user, parentSpanId: span.parentSpanId });
    if (this.seen.size > this.maxPending) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** Gives up the waits whose newest call ended before `beforeMs` (no budget window reaches back that far). */
  expire(beforeMs: number): void {
    // groups come in arrival order, close to time order: stop at the first one still in reach
    for (const [key, g] of this.groups) {
      if (g.newestMs >= beforeMs) break;
      this.groups.delete(key);
      this.waiting -= g.items.length;
      this.hooks.onGivenUp?.(g.items.length, 'expired');
    }
  }
}
