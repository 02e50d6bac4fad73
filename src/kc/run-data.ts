/**
 * The `runData` kc-orchestrator hands to Agent Lightning (README.md, Use from kc-orchestrator): `[{runId, summary, events}]`,
 * events as in its events.jsonl. Also the content of the `runs.json` the old external path wrote.
 */
import { z } from 'zod';
import { kcEventSchema } from './events.js';

export const kcRunSchema = z.looseObject({
  runId: z.union([z.string().min(1), z.number()]).transform((v) => String(v)),
  /** kc's summary.json content (free form) */
  summary: z.unknown().optional(),
  events: z.array(kcEventSchema),
});
export type KcRun = z.output<typeof kcRunSchema>;

export const kcRunDataSchema = z.array(kcRunSchema);
export type KcRunData = z.output<typeof kcRunDataSchema>;
