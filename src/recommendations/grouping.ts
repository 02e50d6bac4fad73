/**
 * Groups pain points that share a root, so one recommendation covers them (docs/outputs.md, Recommendations):
 * - the same subject ignoring error_class (several problems of one operation / series), or
 * - the same error_class (one error cluster across operations), or
 * - near-identical recommendation titles (lowercase, numbers stripped, whitespace folded).
 * The relations are joined transitively (union-find), and groups come out in a stable order.
 */
import type { PainPointRecord, Subject } from '../model/painpoint.js';
import { SEVERITY_RANK } from '../model/painpoint.js';
import { subjectKey } from '../model/series.js';
import { compareText } from './format.js';
import { computeImpact } from './impact.js';

/** The subject without its error class: the series the problem lives on. */
export function rootSubject(subject: Subject): Subject {
  if (subject.error_class === undefined) return subject;
  const { error_class: _ignored, ...rest } = subject;
  return rest;
}

/** "Add backoff to web_search retries (3 × 42 s)" and "… (4 × 40 s)" are the same advice. */
export function normalizeTitle(title: string): string {
  return title
    .toLowerCase()
    .replace(/\d+(?:[.,]\d+)*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Impact score of a record: the categorize processor's, else computed from the evidence. */
export function painPointScore(pp: PainPointRecord): number {
  return pp.impact?.score ?? computeImpact(pp.evidence, pp.run_ids).score;
}

/** Lead order inside a group and between groups: severity, then impact score, then id. */
export function comparePainPoints(a: PainPointRecord, b: PainPointRecord): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || painPointScore(b) - painPointScore(a) || compareText(a.id, b.id);
}

class UnionFind {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, i) => i);
  }
  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root] as number;
    // Path compression keeps repeated finds near-constant on big inputs.
    while (this.parent[i] !== root) {
      const next = this.parent[i] as number;
      this.parent[i] = root;
      i = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index becomes the root, so the result does not depend on union order.
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * Partitions pain points into root groups. `titleOf` gives each pain point's recommendation title
 * for the near-identical-title relation. Each group is sorted lead first; groups by their lead.
 */
export function groupPainPoints(
  painpoints: readonly PainPointRecord[],
  titleOf: (pp: PainPointRecord) => string,
): PainPointRecord[][] {
  const sorted = [...painpoints].sort(comparePainPoints);
  const uf = new UnionFind(sorted.length);
  const firstByKey = new Map<string, number>();
  const link = (key: string, i: number): void => {
    const first = firstByKey.get(key);
    if (first === undefined) firstByKey.set(key, i);
    else uf.union(first, i);
  };
  sorted.forEach((pp, i) => {
    link(`subject:${subjectKey(rootSubject(pp.subject))}`, i);
    if (pp.subject.error_class !== undefined) link(`error_class:${pp.subject.error_class}`, i);
    link(`title:${normalizeTitle(titleOf(pp))}`, i);
  });
  const groups = new Map<number, PainPointRecord[]>();
  sorted.forEach((pp, i) => {
    const root = uf.find(i);
    const group = groups.get(root);
    if (group) group.push(pp);
    else groups.set(root, [pp]);
  });
  // Roots are the smallest index of their group, i.e. the lead: Map order is lead order.
  return [...groups.values()];
}
