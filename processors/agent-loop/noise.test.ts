/**
 * agent_loop on noisy traffic it was not tuned to, made with the OpenTelemetry SDK: healthy runs
 * that read the same file twice, call one tool with many arguments, run tool calls in parallel,
 * retry failed calls (by span status, by a result that says it failed, under one tool-call id,
 * with attempt numbers or resend counts), retry model requests, and spans an exporter delivered
 * twice. None of it is a loop; a stuck run in the same traffic still is.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/library/analyze-spans.js';
import type { PainPointChange } from '../../src/model/events.js';
import type { SpanRecord } from '../../src/model/span.js';
import { recordTraces } from '../../test/support/readable-to-record.js';
import { agentRun, call, chat, loopSteps, parallel, type Step } from '../../test/support/agent-loop-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

const loops = (changes: readonly PainPointChange[]) => changes.filter((c) => c.painpoint.kind === 'agent_loop');

/** A healthy run with the noise real agents make; which noise depends on `i`. */
function noisySteps(i: number): Step[] {
  const file = (n: number) => ({ path: `src/module-${(i + n) % 23}.ts` });
  const steps: Step[] = [chat()];
  // reads one file twice in a row, to be sure
  steps.push(call('read_file', file(0)), call('read_file', file(0)), chat());
  // one tool, many arguments
  for (let k = 0; k < 5; k++) steps.push(call('grep', { pattern: `TODO-${k}`, path: 'src' }));
  steps.push(chat());
  // three reads the model asked for in one turn, run at once; one of them read before
  if (i % 4 === 0) steps.push(parallel(call('read_file', file(0), { ms: 900 }), call('read_file', file(1), { ms: 300 }), call('read_file', file(2), { ms: 600 })), chat());
  // a tool whose result says it failed (status OK), retried with the same arguments until it works
  if (i % 6 === 0) {
    const args = { url: `https://api.example.com/issues/${i}` };
    steps.push(
      call('http_get', args, { result: '{"ok": false, "error": "rate limited"}' }),
      call('http_get', args, { result: '{"ok": false, "error": "rate limited"}' }),
      call('http_get', args, { result: '{"ok": true, "error": null, "body": "…"}' }),
      chat(),
    );
  }
  // a client that re-sends one tool call under its call id after a transport time-out
  if (i % 7 === 0) {
    const args = { query: `owner:me is:open #${i}` };
    for (let a = 0; a < 3; a++) steps.push(call('search_issues', args, { callId: `call_${i}_q`, result: '{"items": []}' }));
    steps.push(chat());
  }
  // failed tool calls retried by span status, then by attempt number
  if (i % 5 === 0) {
    const args = { cmd: 'npm test', cwd: `pkg-${i % 3}` };
    steps.push(call('run_shell', args, { fail: true }), call('run_shell', args, { fail: true }), call('run_shell', args, { attempt: 3 }), chat());
  }
  // a model request re-sent twice (resend count 1, 2) after failures: one turn
  if (i % 8 === 0) steps.push(chat({ fail: true, resendCount: 0 }), chat({ fail: true, resendCount: 1 }), chat({ resendCount: 2 }));
  // results that carry an empty error field are no failures
  steps.push(call('write_file', { ...file(0), content: `v${i}` }, { result: '{"ok": true, "error": ""}' }), chat(), call('run_tests', { filter: `module-${i % 23}` }), chat());
  return steps;
}

/** Every ninth span delivered twice, a few spans later, as an exporter's retry does. */
function withDuplicates(spans: readonly SpanRecord[]): SpanRecord[] {
  const out: SpanRecord[] = [];
  const pending: { span: SpanRecord; at: number }[] = [];
  spans.forEach((span, n) => {
    out.push(span);
    if (n % 9 === 4) pending.push({ span, at: n + 3 });
    while (pending.length > 0 && (pending[0] as { at: number }).at <= n) out.push((pending.shift() as { span: SpanRecord }).span);
  });
  for (const p of pending) out.push(p.span);
  return out;
}

const byEnd = (spans: SpanRecord[]): SpanRecord[] => [...spans].sort((a, b) => a.endMs - b.endMs || (a.spanId < b.spanId ? -1 : 1));

describe('agent_loop on noisy traffic', () => {
  it('finds no loop in 200 healthy runs full of re-reads, parallel calls, retries and twice-delivered spans', async () => {
    const runs = Array.from({ length: 200 }, (_, i) => agentRun({ runId: `run-${i}`, start: T0 + i * 2_500, stepMs: 700, steps: noisySteps(i) }));
    const spans = withDuplicates(byEnd(recordTraces(runs)));
    // the noise is there: duplicates, failed retries, results that say they failed
    expect(spans.length - new Set(spans.map((s) => s.spanId)).size).toBeGreaterThan(300);
    expect(spans.filter((s) => s.toolResultError === true).length).toBeGreaterThan(60);
    // 29 runs (every seventh) re-send one call three times under its id
    expect(new Set(spans.filter((s) => s.toolCallId !== undefined).map((s) => s.spanId)).size).toBe(29 * 3);
    const result = await analyzeSpans(spans);
    expect(loops(result.changes)).toEqual([]);
  }, 120_000);

  it('still finds the one stuck run in the same noise, and names only it', async () => {
    const runs = Array.from({ length: 200 }, (_, i) => agentRun({ runId: `run-${i}`, start: T0 + i * 2_500, stepMs: 700, steps: noisySteps(i) }));
    runs.push(agentRun({ runId: 'run-stuck', start: T0 + 200_000, stepMs: 4_000, steps: loopSteps(6) }));
    const spans = withDuplicates(byEnd(recordTraces(runs)));
    const result = await analyzeSpans(spans);
    const found = loops(result.changes);
    expect(new Set(found.map((c) => c.painpoint.id)).size).toBe(1);
    expect(new Set(found.flatMap((c) => c.painpoint.run_ids))).toEqual(new Set(['run-stuck']));
    // each read counted once, though some were delivered twice
    const last = found[found.length - 1]?.painpoint;
    expect(last?.state).toBe('resolved');
    expect(last?.evidence.metrics['repeats']).toBe(6);
  }, 120_000);

  it('counts a span delivered twice once: two reads and a duplicate are not three', async () => {
    const spans = byEnd(recordTraces([agentRun({ runId: 'r', start: T0, stepMs: 1_000, steps: [chat(), call('read_file', { path: 'a.ts' }), chat(), call('read_file', { path: 'a.ts' }), chat()] })]));
    const read = spans.find((s) => s.tool === 'read_file') as SpanRecord;
    const twice = [...spans.slice(0, spans.indexOf(read) + 1), read, ...spans.slice(spans.indexOf(read) + 1)];
    expect(loops((await analyzeSpans(twice)).changes)).toEqual([]);
    // and a third real read is a loop
    const three = byEnd(recordTraces([agentRun({ runId: 'r', start: T0, stepMs: 1_000, steps: [chat(), ...[0, 1, 2].flatMap(() => [call('read_file', { path: 'a.ts' }), chat()])] })]));
    expect(loops((await analyzeSpans(three)).changes).map((c) => c.painpoint.state)).toEqual(['open']);
  });

  it('reports two runs looping on the same call as one pain point naming both, open until the last loop ends', async () => {
    const a = agentRun({ runId: 'run-a', start: T0, stepMs: 5_000, steps: loopSteps(8) });
    const b = agentRun({ runId: 'run-b', start: T0 + 30_000, stepMs: 5_000, steps: loopSteps(4) });
    const later = agentRun({ runId: 'run-later', start: T0 + 600_000, stepMs: 1_000, steps: [chat()] });
    const result = await analyzeSpans(byEnd(recordTraces([a, b, later])));
    const found = loops(result.changes).map((c) => c.painpoint);
    expect(new Set(found.map((p) => p.id)).size).toBe(1);
    const both = found.find((p) => p.run_ids.length === 2);
    expect(both?.run_ids).toEqual(['run-a', 'run-b']);
    expect(both?.evidence.metrics['looping_runs']).toBe(2);
    expect(both?.title).toMatch(/in run run-a \(and 1 other run\)$/);
    // resolved once run-a's loop (the longer one) ended, not when run-b's did
    const resolved = found.find((p) => p.state === 'resolved');
    const aEnd = Math.max(...recordTraces([a]).map((s) => s.endMs));
    expect(Date.parse(resolved?.last_seen ?? '')).toBeGreaterThanOrEqual(Math.floor(aEnd / 10_000) * 10_000 - 10_000);
  });
});
