/**
 * A map that forgets its least recently set key first, in O(1) per operation however long it runs.
 *
 * The obvious way (a Map re-inserted on every set, evicting `map.keys().next()`) slows down as it
 * lives: V8 leaves a deleted Map entry as a hole until the next rehash, and the front of a Map
 * evicted oldest-first becomes a run of holes that every `keys().next()` walks again (measured:
 * ~37 µs per eviction at 50 000 keys instead of well under 1 µs). Here the order lives in a queue
 * of (key, stamp) beside the Map: setting a key stamps it anew and queues it, and eviction pops the
 * queue, skipping entries whose key was deleted or set again since (their stamp is stale). The queue
 * is rebuilt from the live keys when stale entries outnumber them, so it stays within about twice
 * the map's size and each rebuild is paid for by as many sets as it copies.
 */
interface Slot<V> {
  value: V;
  stamp: number;
}

/** stale entries tolerated before the queue is rebuilt, beyond one per live key */
const SLACK = 64;

export class RecencyMap<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private keys: string[] = [];
  private stamps: number[] = [];
  private head = 0;
  private clock = 0;

  get size(): number {
    return this.slots.size;
  }

  /** entries in the order queue, stale ones included (bounded by about twice the size) */
  get queued(): number {
    return this.keys.length - this.head;
  }

  get(key: string): V | undefined {
    return this.slots.get(key)?.value;
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** Sets `key` to `value` and makes it the most recent key. */
  set(key: string, value: V): void {
    const stamp = ++this.clock;
    const slot = this.slots.get(key);
    if (slot === undefined) this.slots.set(key, { value, stamp });
    else {
      slot.value = value;
      slot.stamp = stamp;
    }
    this.enqueue(key, stamp);
  }

  delete(key: string): boolean {
    return this.slots.delete(key);
  }

  /** the values, in no particular order */
  *values(): IterableIterator<V> {
    for (const slot of this.slots.values()) yield slot.value;
  }

  /** The value of the least recently set key; undefined when empty. */
  oldest(): V | undefined {
    const key = this.oldestKey();
    return key === undefined ? undefined : this.slots.get(key)?.value;
  }

  /** Forgets the least recently set key and returns it; undefined when empty. */
  evictOldest(): string | undefined {
    const key = this.oldestKey();
    if (key === undefined) return undefined;
    this.slots.delete(key);
    this.head++;
    this.dropConsumed();
    return key;
  }

  /** The least recently set key, left at the head of the queue once the stale entries before it are gone. */
  private oldestKey(): string | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head] as string;
      if (this.slots.get(key)?.stamp === this.stamps[this.head]) return key;
      this.head++;
    }
    return undefined;
  }

  private enqueue(key: string, stamp: number): void {
    this.keys.push(key);
    this.stamps.push(stamp);
    if (this.keys.length - this.head > 2 * this.slots.size + SLACK) this.rebuild();
  }

  /** Frees the consumed front of the queue once it is half of it (each entry is copied at most once per halving). */
  private dropConsumed(): void {
    if (this.head < SLACK || this.head * 2 < this.keys.length) return;
    this.keys = this.keys.slice(this.head);
    this.stamps = this.stamps.slice(this.head);
    this.head = 0;
  }

  /** The queue of the live keys only, oldest first. */
  private rebuild(): void {
    const live = [...this.slots].sort((a, b) => a[1].stamp - b[1].stamp);
    this.keys = live.map(([key]) => key);
    this.stamps = live.map(([, slot]) => slot.stamp);
    this.head = 0;
  }
}
