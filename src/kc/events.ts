/**
 * kc-orchestrator run events (docs/input.md): the lines of `.kc-orchestrator/runs/<runId>/events.jsonl`.
 * Schemas are loose (kc may add fields) but the fields Sidelight reads are checked, so a bad
 * event fails with a precise path instead of mapping to a wrong span.
 */
import { z } from 'zod';

/** ISO-8601 text (or epoch ms) parsed to epoch milliseconds. */
export const kcTimestamp = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `expected an ISO-8601 timestamp (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return ms;
});

/** kc ids are strings; a numeric id is accepted and kept as its decimal text. */
const kcId = z.union([z.string().min(1), z.number()]).transform((v) => String(v));
const count = z.number().int().nonnegative();

const base = {
  timestamp: kcTimestamp,
  /** every kc event carries it; optional here because the run folder / runData already names the run */
  runId: kcId.optional(),
};

export const runStartEventSchema = z.looseObject({
  ...base,
  eventType: z.literal('run_start'),
  project: z.string().optional(),
  command: z.string().optional(),
  options: z.unknown().optional(),
  nodeVersion: z.string().optional(),
  platform: z.string().optional(),
  arch: z.string().optional(),
});

export const taskSelectionEventSchema = z.looseObject({
  ...base,
  eventType: z.literal('task_selection'),
  taskId: kcId,
  taskTitle: z.string().optional(),
  provider: z.string().optional(),
});

export const taskExecutionEventSchema = z.looseObject({
  ...base,
  eventType: z.literal('task_execution'),
  taskId: kcId,
  taskTitle: z.string().default(''),
  provider: z.string().min(1).optional(),
  success: z.boolean(),
  /** milliseconds the task took, ending at `timestamp` */
  executionTime: z.number().nonnegative(),
  retryCount: count.default(0),
  fallbackCount: count.default(0),
  error: z.string().nullable().optional(),
});

export const providerFallbackEventSchema = z.looseObject({
  ...base,
  eventType: z.literal('provider_fallback'),
  fromProvider: z.string(),
  toProvider: z.string(),
  reason: z.string().nullable().optional(),
  /** not in kc's documented fields, but used when present to match the fallback to its task */
  taskId: kcId.optional(),
});

export const runCompletionEventSchema = z.looseObject({
  ...base,
  eventType: z.literal('run_completion'),
  duration: z.number().nonnegative().optional(),
  tasksCompleted: count.optional(),
  tasksFailed: count.optional(),
  totalRetries: count.optional(),
  totalFallbacks: count.optional(),
  providersUsed: z.array(z.string()).optional(),
});

export type KcRunStartEvent = z.output<typeof runStartEventSchema>;
export type KcTaskSelectionEvent = z.output<typeof taskSelectionEventSchema>;
export type KcTaskExecutionEvent = z.output<typeof taskExecutionEventSchema>;
export type KcProviderFallbackEvent = z.output<typeof providerFallbackEventSchema>;
export type KcRunCompletionEvent = z.output<typeof runCompletionEventSchema>;
/** An event type Sidelight does not know: kept (so nothing is silently rewritten) but never mapped. */
export interface KcUnknownEvent {
  readonly eventType: string;
  readonly timestamp: number;
  readonly runId?: string;
  readonly [field: string]: unknown;
}

export type KcEvent =
  | KcRunStartEvent
  | KcTaskSelectionEvent
  | KcTaskExecutionEvent
  | KcProviderFallbackEvent
  | KcRunCompletionEvent
  | KcUnknownEvent;

const KNOWN_EVENT_SCHEMAS: Readonly<Record<string, z.ZodType<KcEvent>>> = {
  run_start: runStartEventSchema,
  task_selection: taskSelectionEventSchema,
  task_execution: taskExecutionEventSchema,
  provider_fallback: providerFallbackEventSchema,
  run_completion: runCompletionEventSchema,
};

/**
 * One kc event of any type. The schema is chosen by `eventType`, so an error names the field of
 * that event type (`executionTime: expected number`) rather than a union mismatch.
 */
export const kcEventSchema: z.ZodType<KcEvent> = z
  .looseObject({ eventType: z.string().min(1), timestamp: kcTimestamp, runId: kcId.optional() })
  .transform((value, ctx): KcEvent => {
    const schema = Object.hasOwn(KNOWN_EVENT_SCHEMAS, value.eventType) ? KNOWN_EVENT_SCHEMAS[value.eventType] : undefined;
    if (schema === undefined) return value as KcUnknownEvent;
    // The base fields were already transformed (timestamp is a number now): parse the original-shaped copy.
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });

export function isTaskExecution(e: KcEvent): e is KcTaskExecutionEvent {
  return e.eventType === 'task_execution';
}
export function isTaskSelection(e: KcEvent): e is KcTaskSelectionEvent {
  return e.eventType === 'task_selection';
}
export function isProviderFallback(e: KcEvent): e is KcProviderFallbackEvent {
  return e.eventType === 'provider_fallback';
}
export function isRunStart(e: KcEvent): e is KcRunStartEvent {
  return e.eventType === 'run_start';
}
export function isRunCompletion(e: KcEvent): e is KcRunCompletionEvent {
  return e.eventType === 'run_completion';
}

/** `path: message` lines of a zod error, with the path written as `a.b[2].c`. */
export function formatZodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  return error.issues.map((i) => `${formatPath([...prefix, ...i.path])}: ${i.message}`).join('; ');
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}
