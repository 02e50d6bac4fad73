/**
 * agent_loop on spans made with the OpenTelemetry SDK and fed one by one, as they end: a loop on
 * one run among 200 healthy ones is reported while that run's root span is still open; healthy
 * re-reads after an edit, retries and retried model requests are not loops.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createPipeline } from '../../src/library/create-pipeline.js';
import { analyzeSpans } from '../../src/library/analyze-spans.js';
import { buildRecommendations } from '../../src/recommendations/build.js';
import type { PainPointChange } from '../../src/model/events.js';
import type { SpanRecord } from '../../src/model/span.js';
import { recordTraces } from '../../test/support/readable-to-record.js';
import { agentRun, call, chat, healthySteps, loopSteps, pingPongSteps, type Step } from '../../test/support/agent-loop-workload.js';
import { runOnSpans, testContext, testSettings } from '../../test/support/detector-harness.js';
import { agentLoop } from './index.js';
import { agentLoopConfigSchema } from './config.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

const byEnd = (spans: SpanRecord[]): SpanRecord[] => [...spans].sort((a, b) => a.endMs - b.endMs || (a.spanId < b.spanId ? -1 : 1));

/** 200 healthy runs, one every 3 s, and one stuck run starting at minute 5. */
function busyWorkload(): SpanRecord[] {
  const runs = Array.from({ length: 200 }, (_, i) => agentRun({ runId: `run-${i}`, start: T0 + i * 3_000, stepMs: 1_500, steps: healthySteps(i) }));
  // calls 12 s apart: each repeat is judged at a boundary of its own
  runs.push(agentRun({ runId: 'run-stuck', start: T0 + 300_000, stepMs: 6_000, steps: loopSteps(12) }));
  return byEnd(recordTraces(runs));
}

const loopChanges = (changes: readonly PainPointChange[]) => changes.filter((c) => c.painpoint.kind === 'agent_loop');

describe('agent_loop', () => {
  it('reports a loop on one run among 200 healthy ones while the run is still going', async () => {
    const spans = busyWorkload();
    const root = spans.findIndex((s) => s.runId === 'run-stuck' && s.parentSpanId === undefined);
    const pipeline = createPipeline({}, { mode: 'offline' });
    const seen: { change: PainPointChange; pushed: number }[] = [];
    let pushed = 0;
    pipeline.changes$.subscribe((change) => seen.push({ change, pushed }));
    for (const span of spans) {
      pipeline.push([span]);
      pushed++;
    }
    await pipeline.close();

    const loops = seen.filter((s) => s.change.painpoint.kind === 'agent_loop');
    expect(new Set(loops.map((s) => s.change.painpoint.id)).size).toBe(1);
    const open = loops[0] as { change: PainPointChange; pushed: number };
    expect(open.change.painpoint.state).toBe('open');
    // emitted before the run's root span (its end) was pushed
    expect(open.pushed).toBeLessThanOrEqual(root);
    expect(open.change.painpoint.run_ids).toEqual(['run-stuck']);
    expect(open.change.painpoint.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool read_file', tool: 'read_file' });
    const m = open.change.painpoint.evidence.metrics;
    expect(m).toMatchObject({ rule: 'calls', pattern: 'repeat', repeats: 3, threshold: 3, repeated_tool: 'read_file', distinct_calls: 1, growing: false, run_id: 'run-stuck' });
    // opened at the third identical call: the boundary after it ended
    const third = spans.filter((s) => s.runId === 'run-stuck' && s.tool === 'read_file')[3] as SpanRecord;
    expect(Date.parse(open.change.painpoint.first_seen)).toBe(Math.floor(third.endMs / 10_000) * 10_000 + 10_000);
    // the calls do not name their agent (only the invocation span does, and it ends last)
    expect(open.change.painpoint.title).toBe('An agent is stuck calling read_file with the same arguments (3 times) in run run-stuck');
    // it grows (high, updated) while the run goes on, and resolves after the run ended
    const states = loops.map((s) => `${s.change.painpoint.state} ${s.change.painpoint.severity}`);
    expect(states[1]).toBe('updated high');
    expect(states[states.length - 1]).toMatch(/^resolved/);
    const last = loops[loops.length - 1]?.change.painpoint;
    expect(last?.evidence.metrics['repeats']).toBeGreaterThanOrEqual(10);
    expect(loops.find((s) => s.change.painpoint.state === 'resolved')?.pushed).toBeGreaterThan(root);
    // nothing else looped: the re-reads after an edit are not loops
    expect(seen.filter((s) => s.change.painpoint.kind === 'agent_loop' && s.change.painpoint.run_ids.some((r) => r !== 'run-stuck'))).toEqual([]);
  }, 60_000);

  it('gives the same changes judged at every boundary as standing observations (the reference mode)', async () => {
    const spans = busyWorkload();
    const ping = recordTraces([agentRun({ runId: 'r-pp', start: T0 + 400_000, stepMs: 3_000, steps: pingPongSteps(6) })]);
    // a loop that opens and moves on within one pane is still seen at that boundary
    const quick = recordTraces([agentRun({ runId: 'r-quick', start: T0 + 450_000, stepMs: 300, steps: [...loopSteps(3), call('write_file', { path: 'x' }), chat()] })]);
    const all = byEnd([...spans, ...ping, ...quick]);
    const every = await analyzeSpans(all, { judging: 'every' });
    const changed = await analyzeSpans(all, { judging: 'changed' });
    // r-quick loops on read_file while run-stuck does: one pain point names both
    expect(new Set(loopChanges(every.changes).flatMap((c) => c.painpoint.run_ids))).toEqual(new Set(['run-stuck', 'r-pp', 'r-quick']));
    expect(changed.changes).toEqual(every.changes);
  }, 120_000);

  it('is not fooled by re-reads after an edit, nor by a tool call without recorded arguments between repeats', async () => {
    const steps: Step[] = [];
    for (let k = 0; k < 6; k++) steps.push(call('read_file', { path: 'a.ts' }), chat(), call('edit_file', { path: 'a.ts', patch: `p${k}` }), chat());
    // unknown arguments cannot be compared: each such call counts as new
    for (let k = 0; k < 6; k++) steps.push(call('read_file', { path: 'b.ts' }), call('run_shell', undefined));
    const result = await analyzeSpans(recordTraces([agentRun({ runId: 'r', start: T0, stepMs: 1_000, steps })]));
    expect(loopChanges(result.changes)).toEqual([]);
  });

  it('finds an A→B→A→B ping-pong of 3 cycles with the same arguments', async () => {
    // a later run moves event time on, so the loop resolves after its run ended
    const later = agentRun({ runId: 'r-later', start: T0 + 600_000, stepMs: 1_000, steps: healthySteps(1) });
    const result = await analyzeSpans(recordTraces([agentRun({ runId: 'r-pp', start: T0, stepMs: 6_000, steps: pingPongSteps(5) }), later]));
    const loops = loopChanges(result.changes);
    const open = loops[0]?.painpoint;
    expect(open?.state).toBe('open');
    expect(open?.evidence.metrics).toMatchObject({ pattern: 'ping_pong', tools: 'read_file, write_file', repeats: 3, distinct_calls: 2 });
    // completed by the third write_file, the call that finished the third cycle
    expect(open?.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool write_file', tool: 'write_file' });
    expect(open?.title).toBe('An agent is stuck ping-ponging between read_file and write_file with the same arguments (3 cycles) in run r-pp');
    expect(loops.map((c) => c.painpoint.state)).toEqual(['open', 'updated', 'resolved']);
    expect(buildRecommendations(open ? [open] : [])[0]?.title).toBe(
      'Add a loop breaker to the agent: it ping-pongs between read_file and write_file with the same arguments',
    );
  });

  it('does not take retries for repeats: a call right after a failed identical call, an attempt number, a retried model request', async () => {
    const steps: Step[] = [chat()];
    for (let k = 0; k < 5; k++) {
      // a retry storm: four failed attempts, then success, of the same call
      for (let a = 0; a < 4; a++) steps.push(call('fetch_url', { url: `https://example.com/${k}` }, { fail: true }));
      steps.push(call('fetch_url', { url: `https://example.com/${k}` }, { attempt: 5 }));
      // one model request tried three times is one turn
      steps.push(chat({ fail: true }), chat({ fail: true }), chat());
    }
    const spans = recordTraces([agentRun({ runId: 'r-retry', start: T0, stepMs: 500, steps })]);
    // 6 turns (16 model calls): at the limit, not over it
    const result = await analyzeSpans(spans, { config: { processors: { agent_loop: { max_turns: 6 }, retry_patterns: {}, categorize: {} } } });
    expect(loopChanges(result.changes)).toEqual([]);
    // the retries are there, for the retry detectors
    expect(spans.filter((s) => s.failed).length).toBe(30);
  });

  it('finds more than max_turns model turns in one invocation', async () => {
    const steps: Step[] = Array.from({ length: 30 }, (_, k) => [chat(), call('grep', { pattern: `p${k}` })]).flat();
    const result = await analyzeSpans(recordTraces([agentRun({ runId: 'r-turns', start: T0, stepMs: 6_000, steps })]));
    const open = loopChanges(result.changes)[0]?.painpoint;
    expect(open?.evidence.metrics).toMatchObject({ rule: 'turns', pattern: 'max_turns', repeats: 26, threshold: 26 });
    expect(open?.subject).toEqual({ service: 'kc-orchestrator', operation: 'chat gpt-4o', model: 'gpt-4o' });
    expect(open?.title).toBe('An agent took 26 model turns in one invocation (max 25) in run r-turns');
  });

  it('clears a loop whose invocation never ends after idle_timeout without a call', async () => {
    // the stuck run's spans without its root (lost), then other runs moving event time on
    const stuck = recordTraces([agentRun({ runId: 'r-lost', start: T0, stepMs: 3_000, steps: loopSteps(5) })]).filter((s) => s.parentSpanId !== undefined);
    const later = recordTraces(Array.from({ length: 8 }, (_, i) => agentRun({ runId: `later-${i}`, start: T0 + 120_000 + i * 30_000, stepMs: 1_000, steps: healthySteps(i) })));
    const spans = byEnd([...stuck, ...later]);
    const lastCall = Math.max(...stuck.map((s) => s.endMs));
    const settings = testSettings();
    const ctx = { ...testContext('offline', settings), metrics: new Registry() };
    const observations = await runOnSpans(spans, agentLoop(agentLoopConfigSchema.parse({ idle_timeout: '1m' }), ctx), settings);
    const seenAt = observations.filter((o) => o.runIds[0] === 'r-lost').map((o) => o.time);
    // seen up to the boundary before the time-out, not after
    const timeout = Math.floor((lastCall + 60_000) / 10_000) * 10_000 + 10_000;
    expect(Math.max(...seenAt)).toBe(timeout - 10_000);
    const dropped = await ctx.metrics.getSingleMetric('sidelight_agent_loop_invocations_dropped_total')?.get();
    expect(dropped?.values.find((v) => v.labels['reason'] === 'idle')?.value).toBe(1);
  });

  it('keeps its state bounded: invocations past max_invocations and calls past max_calls_per_invocation are forgotten and counted', async () => {
    const settings = testSettings();
    const ctx = { ...testContext('offline', settings), metrics: new Registry() };
    const config = agentLoopConfigSchema.parse({ max_invocations: 2, max_calls_per_invocation: 4 });
    // a run that made one call and waits, then two stuck runs: the waiting one is forgotten when the third invocation comes
    const runs = [agentRun({ runId: 'a', start: T0, stepMs: 1_000, steps: [call('ls', { dir: '.' })], tailMs: 200_000 })];
    runs.push(...['b', 'c'].map((id, i) => agentRun({ runId: id, start: T0 + 5_000 + i * 100, stepMs: 6_000, steps: loopSteps(4) })));
    // and one that makes more distinct calls than it may remember
    runs.push(agentRun({ runId: 'd', start: T0 + 300_000, stepMs: 300, steps: Array.from({ length: 9 }, (_, k) => call('read_file', { path: `f${k}` })) }));
    const observations = await runOnSpans(byEnd(recordTraces(runs)), agentLoop(config, ctx), settings);
    const dropped = await ctx.metrics.getSingleMetric('sidelight_agent_loop_invocations_dropped_total')?.get();
    const byReason = Object.fromEntries((dropped?.values ?? []).map((v) => [v.labels['reason'], v.value]));
    expect(byReason['cap']).toBeGreaterThanOrEqual(1);
    expect(byReason['finished']).toBeGreaterThanOrEqual(1);
    const forgotten = await ctx.metrics.getSingleMetric('sidelight_agent_loop_forgotten_total')?.get();
    expect(forgotten?.values.find((v) => v.labels['what'] === 'calls')?.value).toBe(5);
    // the runs still followed report their loops
    expect(new Set(observations.map((o) => o.runIds[0]))).toEqual(new Set(['b', 'c']));
  });
});
