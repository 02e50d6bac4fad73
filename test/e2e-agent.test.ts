/**
 * The agent kinds end to end, with real parts: the OpenTelemetry JS SDK exports spans over
 * OTLP/HTTP to a running Sidelight on an ephemeral loopback port, pain points land in a real JSONL
 * file. A stuck agent's loop is reported while its run's root span is still open in the client
 * (not yet ended, so never sent); cut-off answers, tool results that say they failed and spend over
 * a budget priced from the config come out of the same sidecar. The service runs on a virtual
 * clock that is never advanced: only the data's own time moves the watermark.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import type { Span } from '@opentelemetry/api';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import { isProblemChange, type PainPointChange } from '../src/model/events.js';
import { createOtelClient, type OtelClient } from './support/otel-client.js';
import type { SpanTree } from './support/readable-to-record.js';
import { agentRun, healthySteps, loopSteps } from './support/agent-loop-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
/** Longest a test waits for the sidecar to report what it was sent (a guard, not a timing). */
const WAIT_MS = 20_000;

let service: Service | undefined;
let client: OtelClient | undefined;

afterEach(async () => {
  await client?.shutdown();
  await service?.shutdown();
  client = service = undefined;
});

async function startSidecar(extra: { processors?: Record<string, unknown>; service?: Record<string, unknown> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-e2e-agent-'));
  const out = join(dir, 'painpoints.jsonl');
  const config = parseConfigObject(
    {
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
      ...(extra.processors ? { processors: extra.processors } : {}),
      exporters: { jsonl: { path: out } },
      service: { data_dir: join(dir, 'data'), ...extra.service },
    },
    components,
    DEFAULT_CONFIG,
  );
  const changes: PainPointChange[] = [];
  const waiters: { test: (c: PainPointChange) => boolean; resolve: (c: PainPointChange) => void }[] = [];
  service = await startService(config, {
    scheduler: new VirtualTimeScheduler(),
    logger: silentLogger,
    onChange: (c) => {
      if (isProblemChange(c)) return;
      changes.push(c);
      for (const w of waiters.splice(0).filter((w) => (w.test(c) ? (w.resolve(c), false) : true))) waiters.push(w);
    },
  });
  /** The first change (already seen or to come) that passes `test`. */
  const changeWhere = (test: (c: PainPointChange) => boolean): Promise<PainPointChange> => {
    const seen = changes.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such change within ${WAIT_MS} ms; changes: ${changes.map((c) => `${c.painpoint.state} ${c.painpoint.kind}`).join(', ')}`)), WAIT_MS);
      waiters.push({ test, resolve: (c) => (clearTimeout(timer), resolve(c)) });
    });
  };
  const http = service.endpoints.find((e) => e.startsWith('http://'))!;
  return { http, out, changes, changeWhere };
}

const readRecords = (path: string): PainPointRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PainPointRecord);

const isLoop = (state: string) => (c: PainPointChange) => c.painpoint.kind === 'agent_loop' && c.painpoint.state === state;

/**
 * Spans as an instrumented process makes them: every span of the trees is started up front, and
 * ended (so exported) when event time reaches its end, across all trees in end order.
 */
class LiveSpans {
  private readonly open: { span: Span; end: number }[] = [];

  constructor(private readonly client: OtelClient) {}

  /** Starts a tree's spans; with `keepOpen` its root is not ended by `endUpTo` (the caller ends it). */
  start(tree: SpanTree, keepOpen = false, parent?: Span): Span {
    const span = this.client.span({ ...tree, open: true }, parent);
    if (!keepOpen) this.open.push({ span, end: tree.end });
    for (const child of tree.children ?? []) this.start(child, false, span);
    return span;
  }

  /** Ends, in end order, every span ending at or before `t`. */
  endUpTo(t: number): void {
    this.open.sort((a, b) => a.end - b.end);
    let n = 0;
    while (n < this.open.length && (this.open[n] as { end: number }).end <= t) n++;
    for (const { span, end } of this.open.splice(0, n)) span.end(end);
  }
}

describe('the agent kinds on a running sidecar', () => {
  it('reports a loop while the stuck run is still going (its root span not ended), and resolves it after the run ends', async () => {
    const { http, out, changeWhere } = await startSidecar();
    client = createOtelClient(http, 'http/protobuf');
    const live = new LiveSpans(client);
    // 120 healthy runs, one every 3 s, read files, edit one and read it again
    for (let i = 0; i < 120; i++) live.start(agentRun({ runId: `run-${i}`, start: T0 + i * 3_000, stepMs: 1_500, steps: healthySteps(i) }));
    // the stuck run: its calls end (and are sent) one by one, under a root span the test ends last
    const stuck = agentRun({ runId: 'run-stuck', start: T0 + 60_000, stepMs: 6_000, steps: loopSteps(8) });
    const root = live.start(stuck, true);
    // the third identical read: the one after the first (a different file) and two more of src/payment.ts
    const third = (stuck.children ?? []).filter((s) => s.name === 'execute_tool read_file')[3] as SpanTree;

    // traffic up to 30 s past the third repeat: the watermark (max end − 10 s) passes the boundary after it
    const upTo = third.end + 30_000;
    live.endUpTo(upTo);
    await client.flush();
    const open = await changeWhere(isLoop('open'));

    // the run is still going: its root span is open in the client and the sidecar never got it
    expect(root.isRecording()).toBe(true);
    expect(client.records().some((s) => s.runId === 'run-stuck' && s.parentSpanId === undefined)).toBe(false);
    expect(open.painpoint.run_ids).toEqual(['run-stuck']);
    expect(open.painpoint.subject).toEqual({ service: 'kc-orchestrator', operation: 'execute_tool read_file', tool: 'read_file' });
    expect(open.painpoint.evidence.metrics).toMatchObject({ rule: 'calls', pattern: 'repeat', repeated_tool: 'read_file', run_id: 'run-stuck' });
    // opened at the boundary after the third identical read ended
    expect(Date.parse(open.painpoint.first_seen)).toBe(Math.floor(third.end / 10_000) * 10_000 + 10_000);
    // the arguments were hashed, never kept: the record names the call by its hash only
    expect(JSON.stringify(open.painpoint)).not.toContain('src/payment.ts');
    expect(open.painpoint.evidence.metrics['repeated_args_hash']).toMatch(/^[0-9a-f]{16}$/);

    // the loop goes on to the end of the run; the run ends; traffic moves on past resolve_after
    for (let i = 0; i < 60; i++) live.start(agentRun({ runId: `late-${i}`, start: stuck.end + 10_000 + i * 5_000, stepMs: 1_000, steps: healthySteps(i) }));
    live.endUpTo(stuck.end);
    root.end(stuck.end);
    live.endUpTo(Number.POSITIVE_INFINITY);
    await client.flush();
    const resolved = await changeWhere(isLoop('resolved'));
    expect(resolved.painpoint.id).toBe(open.painpoint.id);
    expect(resolved.painpoint.evidence.metrics['repeats']).toBe(8);
    const late = await service!.metrics.getSingleMetric('sidelight_late_spans_dropped_total')?.get();
    expect(late?.values[0]?.value ?? 0).toBe(0);
    await service!.shutdown();

    // the file holds the same story, and no other loop: the healthy re-reads after an edit are none
    const loops = readRecords(out).filter((r) => r.kind === 'agent_loop');
    expect(new Set(loops.map((r) => r.id))).toEqual(new Set([open.painpoint.id]));
    expect(loops[0]?.state).toBe('open');
    expect(loops[loops.length - 1]?.state).toBe('resolved');
  }, 120_000);

  it('prices cut-off answers and spend over a budget from the config, and finds a tool whose results say it failed', async () => {
    const pricing = { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 } };
    const processors = {
      failure_rate: {},
      silent_failure: {},
      budget: { budgets: [{ per: 'agent', max_cost_usd: 0.05, window: '5m' }] },
      categorize: {},
      recommend: {},
    };
    const { http, out } = await startSidecar({ processors, service: { pricing } });
    client = createOtelClient(http, 'http/protobuf');
    // a triage agent every 2 s for 10 minutes: one chat (2 in 5 cut off), one create_ticket (3 in 10 say they failed)
    const trees: SpanTree[] = Array.from({ length: 300 }, (_, i) => {
      const start = T0 + i * 2_000;
      const cutOff = i % 5 < 2;
      return {
        name: 'invoke_agent triage',
        start,
        end: start + 1_000,
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage', 'kc.run.id': `run-${i % 10}` },
        children: [
          {
            name: 'chat gpt-4o-mini',
            start: start + 10,
            end: start + 400,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.request.model': 'gpt-4o-mini-2024-07-18',
              'gen_ai.usage.input_tokens': 3_000,
              'gen_ai.usage.output_tokens': cutOff ? 1_024 : 300,
              'gen_ai.response.finish_reasons': [cutOff ? 'length' : 'stop'],
            },
          },
          {
            name: 'execute_tool create_ticket',
            start: start + 450,
            end: start + 600,
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': 'create_ticket',
              'gen_ai.tool.call.arguments': JSON.stringify({ title: `secret-title-${i}` }),
              'gen_ai.tool.call.result': i % 10 < 3 ? '{"ok": false, "reason": "project archived"}' : '{"ok": true}',
            },
          },
        ],
      };
    });
    client.sendTrees(trees);
    await client.flush();
    await service!.shutdown();

    const records = readRecords(out);
    const silent = records.filter((r) => r.kind === 'silent_failure' && r.state === 'open');
    expect(silent.map((r) => r.subject).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { service: 'kc-orchestrator', operation: 'chat gpt-4o-mini', model: 'gpt-4o-mini-2024-07-18' },
      { service: 'kc-orchestrator', operation: 'execute_tool create_ticket', tool: 'create_ticket' },
    ]);
    const cutOff = silent.find((r) => r.subject.model !== undefined) as PainPointRecord;
    // priced by the longest matching key (gpt-4o-mini): 3000 × 0.15 + 1024 × 0.6 per million per cut-off answer
    const perCall = (3_000 * 0.15 + 1_024 * 0.6) / 1e6;
    expect(cutOff.evidence.metrics['wasted_cost_usd']).toBeCloseTo((cutOff.evidence.metrics['silent_failures'] as number) * perCall, 6);
    expect(cutOff.impact?.wasted_cost_usd).toBeGreaterThan(0);
    // the triage agent spends 150 chats × (3000 × 0.15 + ~586 × 0.6) / 1e6 per 5 min ≈ $0.12, over its $0.05
    const budget = records.filter((r) => r.kind === 'budget_exceeded');
    expect(new Set(budget.map((r) => JSON.stringify(r.subject)))).toEqual(new Set([JSON.stringify({ service: 'kc-orchestrator', operation: 'spend per agent', agent: 'triage' })]));
    const last = budget[budget.length - 1] as PainPointRecord;
    expect(last.severity).toBe('high');
    expect(last.evidence.metrics['spend_usd']).toBeGreaterThan(0.1);
    // nothing failed by status, and the tool-call arguments never left the sidecar
    expect(records.filter((r) => r.kind === 'failure_rate')).toEqual([]);
    expect(readFileSync(out, 'utf8')).not.toContain('secret-title');
  }, 120_000);
});
