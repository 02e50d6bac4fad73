import { createHash } from 'node:crypto';
import { compareText } from './format.js';

/** First 12 hex of sha256 over the sorted, de-duplicated pain-point ids: the same group always hashes the same. */
export function groupHash(painPointIds: readonly string[]): string {
  const ids = [...new Set(painPointIds)].sort(compareText);
  return createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 12);
}

/** docs/outputs.md, Recommendations: `REC-` + first 12 hex of sha256(sorted pain-point ids). */
export function recommendationId(painPointIds: readonly string[]): string {
  return `REC-${groupHash(painPointIds)}`;
}

/** The kc task of a recommendation shares its hash: `FIX-` + the same 12 hex. */
export function taskId(painPointIds: readonly string[]): string {
  return `FIX-${groupHash(painPointIds)}`;
}
