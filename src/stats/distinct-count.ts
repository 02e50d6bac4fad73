/**
 * A mergeable distinct counter of bounded size (k minimum values): keeps the k smallest hashes of
 * the values seen. Exact below k distinct values; above, estimates (k − 1) / (k-th smallest hash)
 * with about 1/√(k − 2) relative error. Window panes merge without keeping every id they saw.
 */

const TWO_POW_53 = 2 ** 53;

/** cyrb53 (public domain, bryc): a fast 53-bit string hash, scaled to [0, 1). */
export function hashUnit(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)) / TWO_POW_53;
}

export class DistinctCount {
  /** the smallest hashes seen, ascending, at most k */
  private readonly hashes: number[] = [];

  constructor(readonly k = 64) {}

  add(value: string): void {
    this.insert(hashUnit(value));
  }

  /** adds every value `other` holds (other is not modified) */
  merge(other: DistinctCount): void {
    for (const h of other.hashes) this.insert(h);
  }

  estimate(): number {
    if (this.hashes.length < this.k) return this.hashes.length;
    const kth = this.hashes[this.k - 1] as number;
    return Math.round((this.k - 1) / kth);
  }

  private insert(h: number): void {
    const hs = this.hashes;
    if (hs.length >= this.k && h >= (hs[hs.length - 1] as number)) return;
    // binary search for the insertion point; equal hash = value already counted
    let lo = 0;
    let hi = hs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((hs[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    if (hs[lo] === h) return;
    hs.splice(lo, 0, h);
    if (hs.length > this.k) hs.pop();
  }
}
