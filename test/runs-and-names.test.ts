/**
 * Runs and names (docs/input.md): spans of a second service that name no run belong to their
 * trace's run, so a report counts the runs there are; and one provider spelt two ways by kc
 * (`claude`, `Claude`) is one provider.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '@opentelemetry/api';
import type { SpanRecord } from '../src/model/span.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { createPipeline } from '../src/library/create-pipeline.js';
import { NativeAgentLightning } from '../src/library/native-agent-lightning.js';
import { runAnalyze } from '../src/analyze/command.js';
import { RecordingTracer } from './support/readable-to-record.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const RUNS = 4;
const TRACES = 120;

/**
 * An orchestrator (`kc-orchestrator`, the run id on its root span only) calling a search service
 * (`search-api`, no run id at all) for every task; the search service fails 40 % of its requests.
 * Two SDK tracer providers, one per service, the server span created under the client span as
 * context propagation would.
 */
function twoServiceSpans(): SpanRecord[] {
  const orchestrator = new RecordingTracer('kc-orchestrator');
  const search = new RecordingTracer('search-api');
  for (let i = 0; i < TRACES; i++) {
    const start = T0 + i * 2_000;
    const root = orchestrator.span({ name: 'invoke_agent coder', start, end: start + 900, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `run-${i % RUNS}` } });
    const chat = orchestrator.span({ name: 'chat gpt-4o', start: start + 10, end: start + 200, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } }, root);
    orchestrator.end(chat, start + 200);
    const tool = orchestrator.span({ name: 'execute_tool web_search', start: start + 210, end: start + 800, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' } }, root);
    const failing = i % 5 < 2;
    const server: Span = search.span(
      { name: 'GET /v2/search', start: start + 220, end: start + 780, attributes: { 'http.request.method': 'GET', ...(failing ? { 'http.response.status_code': 503 } : {}) }, ...(failing ? { error: 'upstream 503' } : {}) },
      tool,
    );
    search.end(server, start + 780);
    orchestrator.end(tool, start + 800);
    orchestrator.end(root, start + 900);
  }
  return [...orchestrator.records(), ...search.records()];
}

const runNames = new Set(Array.from({ length: RUNS }, (_, i) => `run-${i}`));

describe('runs across services', () => {
  const spans = twoServiceSpans();

  it('the spans really are two services in one trace, the second naming no run', () => {
    const server = spans.find((s) => s.service === 'search-api');
    expect(server).toBeDefined();
    expect(server?.runId).toBe(server?.traceId);
    expect(spans.filter((s) => s.traceId === server?.traceId).map((s) => s.service).sort()).toEqual(['kc-orchestrator', 'kc-orchestrator', 'kc-orchestrator', 'search-api']);
  });

  it('offline: the summary counts the runs, and every pain point lists runs, not traces', async () => {
    const result = await analyzeSpans(spans);
    expect(result.statistics.traces).toBe(TRACES);
    expect(result.statistics.runs).toBe(RUNS);
    const onSearch = result.painpoints.filter((p) => p.subject.service === 'search-api');
    expect(onSearch.map((p) => p.kind)).toContain('failure_rate');
    for (const p of result.painpoints) {
      expect(p.run_ids.length).toBeGreaterThan(0);
      for (const id of p.run_ids) expect(runNames.has(id), `${p.kind} ${JSON.stringify(p.subject)} lists ${id}`).toBe(true);
      const runs = p.evidence.metrics['affected_runs'];
      if (typeof runs === 'number') expect(runs).toBeLessThanOrEqual(RUNS);
    }
  });

  it('live: spans pushed in the order they end still give pain points listing runs', async () => {
    const pipeline = createPipeline({}, { mode: 'offline' });
    pipeline.push([...spans].sort((a, b) => a.endMs - b.endMs));
    const changes = await pipeline.close();
    const failing = changes.filter((c) => c.painpoint.subject.service === 'search-api' && c.painpoint.kind === 'failure_rate');
    expect(failing.length).toBeGreaterThan(0);
    for (const c of changes) for (const id of c.painpoint.run_ids) expect(runNames.has(id), `${c.painpoint.kind} lists ${id}`).toBe(true);
  });
});

/** kc runs whose provider is spelt `claude` in some runs and `Claude` in others, failing often on it. */
function kcRuns(): { runId: string; events: Record<string, unknown>[] }[] {
  const out: { runId: string; events: Record<string, unknown>[] }[] = [];
  let t = T0;
  const iso = () => new Date(t).toISOString();
  for (let r = 0; r < 6; r++) {
    const runId = `run-${r}`;
    const provider = r % 2 === 0 ? 'claude' : 'Claude';
    const events: Record<string, unknown>[] = [{ eventType: 'run_start', timestamp: iso(), runId, project: 'shop', command: 'run', options: {}, nodeVersion: 'v20.11.0', platform: 'linux', arch: 'x64' }];
    for (let k = 0; k < 10; k++) {
      const taskId = `${runId}-T${k}`;
      t += 1_000;
      events.push({ eventType: 'task_selection', timestamp: iso(), runId, taskId, taskTitle: 'Refactor payment service', provider });
      t += 20_000;
      const success = k % 2 === 0;
      events.push({
        eventType: 'task_execution',
        timestamp: iso(),
        runId,
        taskId,
        taskTitle: 'Refactor payment service',
        provider,
        success,
        executionTime: 20_000,
        retryCount: 0,
        fallbackCount: 0,
        error: success ? null : 'Authentication failed: invalid API key',
      });
    }
    t += 60_000;
    events.push({ eventType: 'run_completion', timestamp: iso(), runId, duration: 300_000, tasksCompleted: 5, tasksFailed: 5, totalRetries: 0, totalFallbacks: 0, providersUsed: [provider] });
    out.push({ runId, events });
  }
  return out;
}

describe('provider names in kc run files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidelight-names-'));
    for (const run of kcRuns()) {
      await mkdir(join(dir, 'runs', run.runId), { recursive: true });
      await writeFile(join(dir, 'runs', run.runId, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('claude and Claude are one provider in the pain points, shown as the first spelling', async () => {
    let stdout = '';
    const code = await runAnalyze(['runs'], { format: 'json' }, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => undefined }, isTTY: false, cwd: dir });
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { painpoints: { kind: string; subject: Record<string, string> }[] };
    const providers = new Set(doc.painpoints.map((p) => p.subject['provider']).filter((p) => p !== undefined));
    expect([...providers]).toEqual(['claude']);
    expect(stdout).not.toContain('"Claude"');
  });

  it('NativeAgentLightning reports one provider used', async () => {
    const r = await new NativeAgentLightning().invokeAgentLightning('# s', kcRuns());
    if (!r.success) throw new Error(r.error);
    expect(r.statistics['providersUsed']).toEqual(['claude']);
    const subjects = r.painPoints.map((p) => (p as { subject?: Record<string, string> }).subject?.['provider']).filter((p) => p !== undefined);
    expect(new Set(subjects).size).toBeLessThanOrEqual(1);
  });
});
