import { createHash } from 'node:crypto';
import type { PainPointKind, Subject } from '../model/painpoint.js';
import { subjectKey } from '../model/series.js';

/** docs/painpoints.md: id = "pp-" + first 16 hex of sha256(kind + subject), so the same problem keeps its id. */
export function painPointId(kind: PainPointKind, subject: Subject): string {
  return 'pp-' + createHash('sha256').update(kind + subjectKey(subject)).digest('hex').slice(0, 16);
}
