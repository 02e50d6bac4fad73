/**
 * kc-orchestrator run events → span records (docs/input.md; the full rule set is in docs/kc-runs.md).
 *
 *   run            → root span `kc.run`           (run_start … run_completion, never failed)
 *   task_execution → task span `kc.task`          (ends at the event, lasts executionTime)
 *                    + attempt spans `kc.task.attempt` (retryCount + 1, synthetic, children of the task)
 *   provider_fallback → span event `provider_fallback` on its task span, and a provider switch between attempts
 *
 * Ids are hashes of the run id, so the same run always maps to the same spans.
 */
import { hash } from 'node:crypto';
import { DEFAULT_ATTRIBUTE_MAPPING, deriveSpan, taskTypeFromTitle, type AttributeMapping } from '../model/derive.js';
import { classifyErrorMessage } from '../model/error-class.js';
import { ERROR_UNRECORDED_ATTRIBUTE, RECORDED_RUN_SCOPE, SpanKind, StatusCode, SYNTHETIC_ATTRIBUTE, type AttrValue, type Attributes, type RawSpan, type SpanEvent, type SpanRecord } from '../model/span.js';
import {
  isProviderFallback,
  isRunCompletion,
  isRunStart,
  isTaskExecution,
  isTaskSelection,
  type KcEvent,
  type KcProviderFallbackEvent,
  type KcTaskExecutionEvent,
  type KcTaskSelectionEvent,
} from './events.js';

export const KC_SERVICE_NAME = 'kc-orchestrator';
export const KC_SCOPE_NAME = RECORDED_RUN_SCOPE;
export const KC_RUN_SPAN = 'kc.run';
export const KC_TASK_SPAN = 'kc.task';
export const KC_ATTEMPT_SPAN = 'kc.task.attempt';
/** status message of an earlier attempt whose error kc did not record (a retry without a fallback reason) */
export const UNRECORDED_ATTEMPT_ERROR = 'attempt failed; kc retried the task (error not recorded)';
/** status message of a failed task whose `error` kc left empty */
const TASK_ERROR_NOT_RECORDED = 'task failed (no error message recorded)';

export interface KcMappingOptions {
  readonly mapping?: AttributeMapping;
  /** resource service.name of every span (default `kc-orchestrator`) */
  readonly serviceName?: string;
  /** run id for events that carry none (the run folder name, runData.runId) */
  readonly runId?: string;
}

/** trace id = first 32 hex of sha256(runId). */
export function kcTraceId(runId: string): string {
  // the one-shot hash: a Hash object per id was ~2/3 of the ids' cost (profiled warm history call)
  return hash('sha256', runId, 'hex').slice(0, 32);
}

/** span id = first 16 hex of sha256 of the parts joined with NUL (so `a`+`bc` and `ab`+`c` differ). */
export function kcSpanId(...parts: readonly (string | number)[]): string {
  return hash('sha256', parts.join('\u0000'), 'hex').slice(0, 16);
}

function attributes(entries: Record<string, AttrValue | undefined>): Attributes {
  const out: Record<string, AttrValue> = Object.create(null) as Record<string, AttrValue>;
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

interface AttemptPlan {
  readonly provider: string | undefined;
  readonly startMs: number;
  readonly endMs: number;
  readonly failed: boolean;
  readonly error: string | null;
  /** false when kc recorded no error for this failed attempt: `error` is Sidelight's placeholder */
  readonly errorRecorded: boolean;
}

/**
 * Maps kc events to span records. Events of several runs are split by `runId` (each run is its
 * own trace); events are taken in time order, file order breaking ties.
 */
export function kcRunToSpans(events: readonly KcEvent[], options: KcMappingOptions = {}): SpanRecord[] {
  const byRun = new Map<string, KcEvent[]>();
  for (const e of events) {
    const runId = e.runId ?? options.runId ?? 'unknown-run';
    let list = byRun.get(runId);
    if (list === undefined) byRun.set(runId, (list = []));
    list.push(e);
  }
  const out: SpanRecord[] = [];
  for (const [runId, runEvents] of byRun) out.push(...mapOneRun(runId, runEvents, options));
  return out;
}

function mapOneRun(runId: string, unordered: readonly KcEvent[], options: KcMappingOptions): SpanRecord[] {
  const mapping = options.mapping ?? DEFAULT_ATTRIBUTE_MAPPING;
  const service = options.serviceName ?? KC_SERVICE_NAME;
  const resource = attributes({ 'service.name': service });
  const traceId = kcTraceId(runId);
  const rootSpanId = kcSpanId(runId, 'run');
  // Array.prototype.sort is stable: equal timestamps keep file order.
  const events = [...unordered].sort((a, b) => a.timestamp - b.timestamp);

  const raw: RawSpan[] = [];
  // every field named (a spread per span was the larger part of this function's own time)
  const rawSpan = (s: Omit<RawSpan, 'traceId' | 'kind' | 'links' | 'resource' | 'scopeName' | 'durationMs'>): RawSpan => {
    const span: { -readonly [K in keyof RawSpan]: RawSpan[K] } = {
      traceId,
      kind: SpanKind.INTERNAL,
      links: [],
      resource,
      scopeName: KC_SCOPE_NAME,
      durationMs: s.endMs - s.startMs,
      spanId: s.spanId,
      name: s.name,
      startMs: s.startMs,
      endMs: s.endMs,
      statusCode: s.statusCode,
      statusMessage: s.statusMessage,
      attributes: s.attributes,
      events: s.events,
    };
    if (s.parentSpanId !== undefined) span.parentSpanId = s.parentSpanId;
    if (s.scopeVersion !== undefined) span.scopeVersion = s.scopeVersion;
    return span;
  };

  const fallbacks = events.filter(isProviderFallback);
  const claimed = new Set<KcProviderFallbackEvent>();
  const occurrences = new Map<string, number>();
  const lastSelection = new Map<string, KcTaskSelectionEvent>();
  let taskMinStart = Infinity;
  let taskMaxEnd = -Infinity;

  for (const e of events) {
    if (isTaskSelection(e)) {
      lastSelection.set(e.taskId, e);
      continue;
    }
    if (!isTaskExecution(e)) continue;
    const occurrence = occurrences.get(e.taskId) ?? 0;
    occurrences.set(e.taskId, occurrence + 1);
    const selection = lastSelection.get(e.taskId);
    lastSelection.delete(e.taskId);

    const endMs = e.timestamp;
    const startMs = endMs - e.executionTime;
    taskMinStart = Math.min(taskMinStart, startMs);
    taskMaxEnd = Math.max(taskMaxEnd, endMs);
    const taskFallbacks = matchFallbacks(e, selection, fallbacks, claimed);
    const taskSpanId = kcSpanId(runId, 'task', e.taskId, occurrence);
    const taskType = taskTypeFromTitle(e.taskTitle);
    const common = {
      'kc.run.id': runId,
      'kc.task.id': e.taskId,
      'kc.task.title': e.taskTitle,
      'kc.task.type': taskType,
    };
    const errorText = e.success ? null : e.error ?? TASK_ERROR_NOT_RECORDED;

    raw.push(
      rawSpan({
        spanId: taskSpanId,
        parentSpanId: rootSpanId,
        name: KC_TASK_SPAN,
        startMs,
        endMs,
        statusCode: e.success ? StatusCode.OK : StatusCode.ERROR,
        statusMessage: errorText ?? '',
        attributes: attributes({
          ...common,
          'gen_ai.provider.name': e.provider ?? selection?.provider,
          'kc.task.success': e.success,
          'kc.task.retry_count': e.retryCount,
          'kc.task.fallback_count': e.fallbackCount,
          'kc.task.execution_time_ms': e.executionTime,
          'error.type': errorText === null ? undefined : classifyErrorMessage(errorText),
          [ERROR_UNRECORDED_ATTRIBUTE]: !e.success && e.error == null ? true : undefined,
        }),
        events: taskFallbacks.map(
          (f): SpanEvent => ({
            name: 'provider_fallback',
            timeMs: f.timestamp,
            attributes: attributes({ from: f.fromProvider, to: f.toProvider, reason: f.reason ?? undefined }),
          }),
        ),
      }),
    );

    planAttempts(e, selection, taskFallbacks).forEach((a, i) => {
      const n = i + 1;
      raw.push(
        rawSpan({
          spanId: kcSpanId(runId, 'attempt', e.taskId, occurrence, n),
          parentSpanId: taskSpanId,
          name: KC_ATTEMPT_SPAN,
          startMs: a.startMs,
          endMs: a.endMs,
          statusCode: a.failed ? StatusCode.ERROR : StatusCode.OK,
          statusMessage: a.error ?? '',
          attributes: attributes({
            ...common,
            'kc.task.attempt': n,
            'gen_ai.provider.name': a.provider,
            'error.type': a.failed ? classifyErrorMessage(a.error) : undefined,
            [ERROR_UNRECORDED_ATTRIBUTE]: a.failed && !a.errorRecorded ? true : undefined,
            [SYNTHETIC_ATTRIBUTE]: true,
          }),
          events: [],
        }),
      );
    });
  }

  // The root span covers the run; it is never a failure (only task_execution events are outcomes).
  const start = events.find(isRunStart);
  const completion = [...events].reverse().find(isRunCompletion);
  const firstTime = events[0]?.timestamp ?? 0;
  const lastTime = events[events.length - 1]?.timestamp ?? firstTime;
  let rootEnd = completion?.timestamp ?? lastTime;
  let rootStart = start?.timestamp ?? (completion?.duration !== undefined ? rootEnd - completion.duration : firstTime);
  rootStart = Math.min(rootStart, taskMinStart);
  rootEnd = Math.max(rootEnd, taskMaxEnd, rootStart);
  const unclaimed = fallbacks.filter((f) => !claimed.has(f));
  raw.unshift(
    rawSpan({
      spanId: rootSpanId,
      name: KC_RUN_SPAN,
      startMs: rootStart,
      endMs: rootEnd,
      statusCode: StatusCode.UNSET,
      statusMessage: '',
      attributes: attributes({
        'kc.run.id': runId,
        'kc.project': start?.project,
        'kc.command': start?.command,
        'process.runtime.version': start?.nodeVersion,
        'os.type': start?.platform,
        'host.arch': start?.arch,
        'kc.run.duration_ms': completion?.duration,
        'kc.run.tasks_completed': completion?.tasksCompleted,
        'kc.run.tasks_failed': completion?.tasksFailed,
        'kc.run.total_retries': completion?.totalRetries,
        'kc.run.total_fallbacks': completion?.totalFallbacks,
        'kc.run.providers_used': completion?.providersUsed,
      }),
      // A fallback that no task window holds still happened: keep it on the run.
      events: unclaimed.map((f) => ({
        name: 'provider_fallback',
        timeMs: f.timestamp,
        attributes: attributes({ from: f.fromProvider, to: f.toProvider, reason: f.reason ?? undefined }),
      })),
    }),
  );
  return raw.map((r) => deriveSpan(r, mapping));
}

/**
 * The fallbacks of one task, in time order: those naming the task by `taskId`, else unclaimed
 * ones inside the task's window — from its task_selection (or its start when kc logged no
 * selection) to its task_execution.
 */
function matchFallbacks(
  task: KcTaskExecutionEvent,
  selection: KcTaskSelectionEvent | undefined,
  fallbacks: readonly KcProviderFallbackEvent[],
  claimed: Set<KcProviderFallbackEvent>,
): KcProviderFallbackEvent[] {
  const from = Math.min(selection?.timestamp ?? Infinity, task.timestamp - task.executionTime);
  const out: KcProviderFallbackEvent[] = [];
  for (const f of fallbacks) {
    if (claimed.has(f)) continue;
    const named = f.taskId !== undefined;
    if (named ? f.taskId === task.taskId : f.timestamp >= from && f.timestamp <= task.timestamp) {
      claimed.add(f);
      out.push(f);
    }
  }
  return out;
}

/**
 * The attempts of one task (docs/kc-runs.md "Attempts"):
 * - count = max(retryCount, fallbackCount, matched fallbacks) + 1 (a fallback is itself a new attempt);
 * - providers: kc first retries on the same provider, then falls back, so with k fallbacks the
 *   last k attempts each start on the fallback's `toProvider` and the earlier ones use the first
 *   fallback's `fromProvider` (without fallbacks every attempt uses the task's provider);
 * - errors: the attempt ended by a fallback failed with its `reason`; an earlier plain retry failed
 *   with the error that ended its provider's turn (next fallback's reason, or the task's error);
 *   the last attempt carries the task's outcome and error;
 * - times: a fallback inside the task's interval ends its attempt at the fallback's timestamp; the
 *   attempts between two known boundaries split that stretch evenly. Attempts are contiguous.
 */
function planAttempts(
  task: KcTaskExecutionEvent,
  selection: KcTaskSelectionEvent | undefined,
  fallbacks: readonly KcProviderFallbackEvent[],
): AttemptPlan[] {
  const k = fallbacks.length;
  const n = Math.max(task.retryCount, task.fallbackCount, k) + 1;
  const endMs = task.timestamp;
  const startMs = endMs - task.executionTime;
  const finalProvider = task.provider ?? fallbacks[k - 1]?.toProvider ?? selection?.provider;
  const firstProvider = fallbacks[0]?.fromProvider ?? selection?.provider ?? finalProvider;
  const taskError = task.success ? null : task.error ?? TASK_ERROR_NOT_RECORDED;

  // Attempt index (0-based) ended by fallback j: the last k transitions are the fallbacks.
  const endedByFallback = new Map<number, KcProviderFallbackEvent>();
  fallbacks.forEach((f, j) => endedByFallback.set(n - 1 - k + j, f));

  const providers: (string | undefined)[] = [];
  const errors: (string | null)[] = [];
  const recorded: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const j = i - (n - 1 - k); // index of the fallback this attempt started after (≥ 1 means after fallback j-1)
    providers.push(j <= 0 ? firstProvider : fallbacks[j - 1]?.toProvider);
  }
  for (let i = 0; i < n; i++) {
    if (i === n - 1) {
      errors.push(taskError);
      recorded.push(task.success || task.error != null);
      continue;
    }
    const own = endedByFallback.get(i);
    if (own !== undefined) {
      errors.push(own.reason ?? `fell back from ${own.fromProvider} to ${own.toProvider}`);
      recorded.push(own.reason != null);
      continue;
    }
    // A plain retry: the error that ends this provider's turn explains it best.
    let explained: string | null = null;
    let explainedRecorded = false;
    for (let later = i + 1; later < n; later++) {
      const f = endedByFallback.get(later);
      if (f !== undefined) {
        explained = f.reason ?? null;
        explainedRecorded = f.reason != null;
        break;
      }
      if (later === n - 1) {
        explained = taskError;
        explainedRecorded = task.error != null;
      }
    }
    errors.push(explained ?? UNRECORDED_ATTEMPT_ERROR);
    recorded.push(explained !== null && explainedRecorded);
  }

  // Known boundaries: attempt i ends at its fallback's timestamp when that lies inside the task, in order.
  const ends: (number | undefined)[] = new Array<number | undefined>(n).fill(undefined);
  ends[n - 1] = endMs;
  let floor = startMs;
  for (const [i, f] of [...endedByFallback].sort((a, b) => a[0] - b[0])) {
    if (f.timestamp >= floor && f.timestamp <= endMs) {
      ends[i] = f.timestamp;
      floor = f.timestamp;
    }
  }
  const bounds: number[] = [];
  let segStart = startMs;
  let segFirst = 0;
  for (let i = 0; i < n; i++) {
    const known = ends[i];
    if (known === undefined) continue;
    const count = i - segFirst + 1;
    for (let m = 1; m <= count; m++) bounds.push(m === count ? known : segStart + ((known - segStart) * m) / count);
    segStart = known;
    segFirst = i + 1;
  }

  return providers.map((provider, i) => ({
    provider,
    startMs: i === 0 ? startMs : (bounds[i - 1] as number),
    endMs: bounds[i] as number,
    failed: i < n - 1 || !task.success,
    error: errors[i] ?? null,
    errorRecorded: recorded[i] ?? true,
  }));
}
