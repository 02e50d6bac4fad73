import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kcRunToSpans, kcTraceId, KC_ATTEMPT_SPAN, KC_RUN_SPAN, KC_TASK_SPAN, UNRECORDED_ATTEMPT_ERROR } from '../src/kc/run-to-spans.js';
import { parseKcEventsText, readKcEventsFile, KcEventLineError, findKcRuns } from '../src/kc/run-files.js';
import { kcEventSchema, type KcEvent } from '../src/kc/events.js';
import { StatusCode, type SpanRecord } from '../src/model/span.js';

const RUNS = fileURLToPath(new URL('./fixtures/kc/runs/', import.meta.url));
const t = (iso: string) => Date.parse(iso);

async function runSpans(runId: string): Promise<SpanRecord[]> {
  return kcRunToSpans(await readKcEventsFile(`${RUNS}${runId}/events.jsonl`), { runId });
}
const tasks = (spans: SpanRecord[], taskId: string) => spans.filter((s) => s.name === KC_TASK_SPAN && s.taskId === taskId);
const attempts = (spans: SpanRecord[], taskId: string) =>
  spans.filter((s) => s.name === KC_ATTEMPT_SPAN && s.taskId === taskId).sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0));

describe('kc run mapping', () => {
  it('maps a run to one root span, one span per task_execution and one attempt span per attempt', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    expect(spans.filter((s) => s.name === KC_RUN_SPAN)).toHaveLength(1);
    expect(spans.filter((s) => s.name === KC_TASK_SPAN)).toHaveLength(3);
    // T-1: 0 retries, T-2: 2 retries, T-3: 2 retries
    expect(spans.filter((s) => s.name === KC_ATTEMPT_SPAN)).toHaveLength(1 + 3 + 3);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([createHash('sha256').update('run-2026-01-10-a').digest('hex').slice(0, 32)]));
    expect(spans.every((s) => s.service === 'kc-orchestrator' && s.runId === 'run-2026-01-10-a')).toBe(true);
  });

  it('never counts run_start, task_selection or run_completion as failures', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    const root = spans.find((s) => s.name === KC_RUN_SPAN) as SpanRecord;
    expect(root.failed).toBe(false);
    expect(root.statusCode).toBe(StatusCode.UNSET);
    expect(root.parentSpanId).toBeUndefined();
    // the run had a failed task: T-3 and its 3 attempts, plus the 2 failed attempts of T-2, and nothing else
    expect(spans.filter((s) => s.failed).map((s) => s.name).sort()).toEqual([
      KC_TASK_SPAN,
      ...Array<string>(5).fill(KC_ATTEMPT_SPAN),
    ].sort());
    expect(root.startMs).toBe(t('2026-01-10T10:00:00.000Z'));
    expect(root.endMs).toBe(t('2026-01-10T10:32:35.000Z'));
    expect(root.attributes['kc.run.tasks_failed']).toBe(1);
  });

  it('keeps run_start, task_selection and run_completion out of failures even when they carry error-like fields', () => {
    const text = [
      { eventType: 'run_start', timestamp: '2026-01-10T10:00:00Z', runId: 'r', success: false, error: 'previous run crashed' },
      { eventType: 'task_selection', timestamp: '2026-01-10T10:00:01Z', runId: 'r', taskId: 't', taskTitle: 'Fix it', provider: 'codex', success: false, error: 'ETIMEDOUT' },
      { eventType: 'run_completion', timestamp: '2026-01-10T10:00:02Z', runId: 'r', tasksCompleted: 0, tasksFailed: 3, error: 'run failed' },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const spans = kcRunToSpans(parseKcEventsText(text));
    expect(spans.map((s) => [s.name, s.failed, s.statusCode])).toEqual([[KC_RUN_SPAN, false, StatusCode.UNSET]]);
    expect(spans[0]?.attributes['error.type']).toBeUndefined();
  });

  it('ends a task span at its event with executionTime as duration and the kc attributes', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    const [t1] = tasks(spans, 'T-1');
    expect(t1).toMatchObject({
      startMs: t('2026-01-10T10:00:01.000Z'),
      endMs: t('2026-01-10T10:01:01.000Z'),
      durationMs: 60_000,
      provider: 'codex',
      taskType: 'Refactor',
      failed: false,
      statusCode: StatusCode.OK,
      operationKey: 'kc-orchestrator kc.task Refactor',
    });
    expect(t1?.attributes['kc.task.title']).toBe('Refactor payment service');
    expect(t1?.attributes['kc.task.retry_count']).toBe(0);
    expect(t1?.attributes['kc.task.fallback_count']).toBe(0);
    expect(t1?.attributes['sidelight.synthetic']).toBeUndefined();
    expect(t1?.parentSpanId).toBe(spans.find((s) => s.name === KC_RUN_SPAN)?.spanId);
  });

  it('marks a failed task ERROR with its error as message and a classified error.type', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    const [t3] = tasks(spans, 'T-3');
    expect(t3).toMatchObject({ failed: true, statusCode: StatusCode.ERROR, statusMessage: 'Request timed out after 600000ms', errorClass: 'timeout', taskType: 'Fix', durationMs: 1_800_000 });
    expect(t3?.attributes['error.type']).toBe('timeout');
  });

  it('splits a long failed task into equal failed attempts on the same provider', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    const a = attempts(spans, 'T-3');
    expect(a.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(a.map((s) => s.durationMs)).toEqual([600_000, 600_000, 600_000]);
    expect(a.map((s) => s.provider)).toEqual(['codex', 'codex', 'codex']);
    expect(a.every((s) => s.failed && s.errorClass === 'timeout' && s.attributes['sidelight.synthetic'] === true)).toBe(true);
    expect(a[0]?.startMs).toBe(t('2026-01-10T10:02:33.000Z'));
    expect(a[2]?.endMs).toBe(t('2026-01-10T10:32:33.000Z'));
  });

  it('switches the attempt provider at the fallback, which ends the failed attempt at its timestamp', async () => {
    const spans = await runSpans('run-2026-01-10-a');
    const a = attempts(spans, 'T-2');
    expect(a.map((s) => s.provider)).toEqual(['codex', 'codex', 'claude']);
    expect(a.map((s) => s.failed)).toEqual([true, true, false]);
    expect(a.map((s) => s.attributes['error.type'])).toEqual(['rate_limit', 'rate_limit', undefined]);
    expect(a[1]?.statusMessage).toBe('Rate limit exceeded: 429 Too Many Requests');
    // task 10:01:02–10:02:32; the fallback at 10:01:32 ends attempt 2; attempts 1–2 split the first 30 s
    expect(a.map((s) => [s.startMs, s.endMs])).toEqual([
      [t('2026-01-10T10:01:02.000Z'), t('2026-01-10T10:01:17.000Z')],
      [t('2026-01-10T10:01:17.000Z'), t('2026-01-10T10:01:32.000Z')],
      [t('2026-01-10T10:01:32.000Z'), t('2026-01-10T10:02:32.000Z')],
    ]);
    const [task] = tasks(spans, 'T-2');
    expect(a.every((s) => s.parentSpanId === task?.spanId)).toBe(true);
    expect(task?.events).toEqual([
      { name: 'provider_fallback', timeMs: t('2026-01-10T10:01:32.000Z'), attributes: { from: 'codex', to: 'claude', reason: 'Rate limit exceeded: 429 Too Many Requests' } },
    ]);
  });

  it('follows a chain of fallbacks and gives the last attempt the task outcome', async () => {
    const spans = await runSpans('run-2026-01-10-b');
    const a = attempts(spans, 'T-9');
    expect(a.map((s) => s.provider)).toEqual(['gemini', 'codex', 'claude']);
    expect(a.map((s) => s.errorClass)).toEqual(['authentication', 'network', 'quota']);
    expect(a[2]?.statusMessage).toBe('You exceeded your current quota, please check your plan and billing details');
    expect(a.map((s) => s.durationMs)).toEqual([20_000, 20_000, 20_000]);
    expect(tasks(spans, 'T-9')[0]?.events.map((e) => e.attributes['to'])).toEqual(['codex', 'claude']);
  });

  it('maps the same run to the same spans every time', async () => {
    expect(await runSpans('run-2026-01-10-a')).toEqual(await runSpans('run-2026-01-10-a'));
    const ids = (await runSpans('run-2026-01-10-a')).map((s) => s.spanId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
  });

  it('gives earlier plain retries of a successful task an unrecorded-error message', () => {
    const events = parseKcEventsText(
      JSON.stringify({ eventType: 'task_execution', timestamp: '2026-01-10T10:00:10Z', runId: 'r', taskId: 7, taskTitle: 'Write docs', provider: 'claude', success: true, executionTime: 10_000, retryCount: 1, fallbackCount: 0, error: null }),
    );
    const spans = kcRunToSpans(events);
    const a = attempts(spans, '7');
    expect(a.map((s) => [s.failed, s.statusMessage])).toEqual([
      [true, UNRECORDED_ATTEMPT_ERROR],
      [false, ''],
    ]);
    // the placeholder is no error anything saw: marked so that it is never taken for a shared error
    expect(a.map((s) => s.attributes['sidelight.error_unrecorded'])).toEqual([true, undefined]);
    // no run_start / run_completion: the root covers the tasks
    const root = spans.find((s) => s.name === KC_RUN_SPAN);
    expect([root?.startMs, root?.endMs]).toEqual([t('2026-01-10T10:00:00Z'), t('2026-01-10T10:00:10Z')]);
  });

  it('marks only the errors kc did not record: a failed task without error, a fallback without reason, their plain retries', () => {
    const line = (e: Record<string, unknown>) => JSON.stringify({ timestamp: '2026-01-10T10:00:10Z', runId: 'r', ...e });
    const events = parseKcEventsText(
      [
        // a failed task whose error kc left empty, retried once before
        line({ eventType: 'task_execution', taskId: 1, taskTitle: 'Fix login', provider: 'codex', success: false, executionTime: 10_000, retryCount: 1, fallbackCount: 0, error: null }),
        // a fallback without reason, then a recorded failure
        line({ eventType: 'task_selection', timestamp: '2026-01-10T10:00:11Z', taskId: 2, taskTitle: 'Add tests', provider: 'claude' }),
        line({ eventType: 'provider_fallback', timestamp: '2026-01-10T10:00:15Z', fromProvider: 'claude', toProvider: 'gemini', reason: null }),
        line({ eventType: 'task_execution', timestamp: '2026-01-10T10:00:30Z', taskId: 2, taskTitle: 'Add tests', provider: 'gemini', success: false, executionTime: 18_000, retryCount: 0, fallbackCount: 1, error: 'Request timed out after 600000ms' }),
        // a recorded 401 that ended the claude turn, then a fallback that succeeded
        line({ eventType: 'task_selection', timestamp: '2026-01-10T10:00:31Z', taskId: 3, taskTitle: 'Update deps', provider: 'claude' }),
        line({ eventType: 'provider_fallback', timestamp: '2026-01-10T10:00:35Z', fromProvider: 'claude', toProvider: 'codex', reason: '401 Unauthorized' }),
        line({ eventType: 'task_execution', timestamp: '2026-01-10T10:00:50Z', taskId: 3, taskTitle: 'Update deps', provider: 'codex', success: true, executionTime: 18_000, retryCount: 1, fallbackCount: 1, error: null }),
      ].join('\n'),
    );
    const spans = kcRunToSpans(events);
    const unrecorded = (taskId: string) => [...tasks(spans, taskId), ...attempts(spans, taskId)].map((s) => [s.name, s.failed, s.attributes['sidelight.error_unrecorded'] ?? false]);
    expect(unrecorded('1')).toEqual([
      [KC_TASK_SPAN, true, true],
      [KC_ATTEMPT_SPAN, true, true],
      [KC_ATTEMPT_SPAN, true, true],
    ]);
    expect(unrecorded('2')).toEqual([
      [KC_TASK_SPAN, true, false],
      [KC_ATTEMPT_SPAN, true, true],
      [KC_ATTEMPT_SPAN, true, false],
    ]);
    expect(unrecorded('3')).toEqual([
      [KC_TASK_SPAN, false, false],
      [KC_ATTEMPT_SPAN, true, false],
      [KC_ATTEMPT_SPAN, false, false],
    ]);
  });

  it('maps events of several runs to one trace per run and uses the configured service name', () => {
    const ev = (runId: string, taskId: string): unknown => ({ eventType: 'task_execution', timestamp: '2026-01-10T10:00:10Z', runId, taskId, taskTitle: 'Do it', provider: 'p', success: true, executionTime: 5, retryCount: 0, fallbackCount: 0 });
    const events = [ev('r1', 'a'), ev('r2', 'a')].map((e) => kcEventSchema.parse(e));
    const spans = kcRunToSpans(events, { serviceName: 'kc-staging' });
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([kcTraceId('r1'), kcTraceId('r2')]));
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['kc-staging']));
  });
});

describe('kc events files', () => {
  it('keeps unknown event types but maps them to nothing', async () => {
    const events = await readKcEventsFile(`${RUNS}run-2026-01-10-a/events.jsonl`);
    expect(events.map((e: KcEvent) => e.eventType)).toContain('some_future_event');
  });

  it('names the line and the field of a bad event', () => {
    const good = '{"eventType":"run_start","timestamp":"2026-01-10T10:00:00Z","runId":"r"}';
    const bad = '{"eventType":"task_execution","timestamp":"2026-01-10T10:00:00Z","runId":"r","taskId":"x","success":true,"executionTime":"slow"}';
    expect(() => parseKcEventsText(`${good}\n\n${bad}\n`)).toThrow(KcEventLineError);
    expect(() => parseKcEventsText(`${good}\n\n${bad}\n`)).toThrow(/^line 3: invalid kc event: executionTime: /);
    expect(() => parseKcEventsText(`${good}\n{"eventType":`)).toThrow(/^line 2: invalid JSON \(/);
    expect(() => parseKcEventsText('{"eventType":"run_start","timestamp":"yesterday"}')).toThrow(/timestamp: expected an ISO-8601 timestamp/);
  });

  it('finds the runs of a runs folder, a run folder and a project folder', async () => {
    expect((await findKcRuns(RUNS)).map((r) => r.runId)).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
    expect((await findKcRuns(`${RUNS}run-2026-01-10-b`)).map((r) => r.runId)).toEqual(['run-2026-01-10-b']);
    expect((await findKcRuns(fileURLToPath(new URL('./fixtures/kc/', import.meta.url)))).map((r) => r.runId)).toEqual(['run-2026-01-10-a', 'run-2026-01-10-b']);
  });
});
