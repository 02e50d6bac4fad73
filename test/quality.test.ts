/**
 * The fault-injection workload suite (docs/quality.md). Three parts:
 * - the workloads contain what they claim (the fault is in the spans, the background has its
 *   variety and noise);
 * - the evaluator scores alerts as documented;
 * - the target on problems: one medium or high problem per fault, its root naming the
 *   fault, two for two independent faults, none on healthy workloads. Skipped only while the
 *   analysis output has no `problems` field; it runs by itself once the problems stage lands.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans, type AnalyzeOutput } from '../src/library/analyze-spans.js';
import { problemRecordSchema, type ProblemRecord } from '../src/model/problem.js';
import { SpanKind, type SpanRecord } from '../src/model/span.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { AnalysisResult } from '../src/model/analysis.js';
import { alertLabel, evaluate, painPointAlerts, problemAlerts, scoreView, type Alert } from './quality/evaluate.js';
import {
  FAULT,
  KC_CREDENTIALS,
  KC_MIGRATE,
  namesRoot,
  OTLP_DURATION,
  OTLP_START,
  OUTAGE_END,
  patternLabel,
  SECOND_FAULT,
  workload,
  WORKLOADS,
  type Fault,
  type Workload,
} from './quality/workloads.js';
import { SEARCH_SERVICE } from './quality/agent-traffic.js';

const SLOW = 120_000;

// --- helpers over span records ------------------------------------------------------------------

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

const share = (spans: readonly SpanRecord[], test: (s: SpanRecord) => boolean) => spans.filter(test).length / spans.length;
const before = (t: number) => (s: SpanRecord) => s.startMs < t;
const from = (t: number) => (s: SpanRecord) => s.startMs >= t;
const callId = (s: SpanRecord) => s.attributes['gen_ai.tool.call.id'] as string | undefined;

/** Children of each span, in start order. */
function childrenOf(spans: readonly SpanRecord[]): Map<string, SpanRecord[]> {
  const out = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    if (s.parentSpanId === undefined) continue;
    let list = out.get(s.parentSpanId);
    if (list === undefined) out.set(s.parentSpanId, (list = []));
    list.push(s);
  }
  for (const list of out.values()) list.sort((a, b) => a.startMs - b.startMs);
  return out;
}

/** The attempts of each tool call (spans sharing a gen_ai.tool.call.id), in start order. */
function toolCalls(spans: readonly SpanRecord[], tool: string): SpanRecord[][] {
  const calls = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const id = callId(s);
    if (s.tool !== tool || id === undefined) continue;
    let list = calls.get(id);
    if (list === undefined) calls.set(id, (list = []));
    list.push(s);
  }
  return [...calls.values()].map((l) => l.sort((a, b) => a.startMs - b.startMs));
}

const gaps = (attempts: readonly SpanRecord[]) => attempts.slice(1).map((s, i) => s.startMs - (attempts[i] as SpanRecord).endMs);

/** Which agent's invocation a span runs under. */
function agentOf(spans: readonly SpanRecord[]): (s: SpanRecord) => string | undefined {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return (s) => {
    for (let p: SpanRecord | undefined = s; p !== undefined; p = p.parentSpanId === undefined ? undefined : byId.get(p.parentSpanId)) {
      if (p.agent !== undefined) return p.agent;
    }
    return undefined;
  };
}

const spansOf = (name: string) => workload(name).spans();

// --- the workloads ------------------------------------------------------------------------------

describe('the workload suite', () => {
  it('has at least 10 single-fault, 2 two-fault and 2 healthy workloads, each fault with the root it must have', () => {
    const count = (k: Workload['kind']) => WORKLOADS.filter((w) => w.kind === k).length;
    expect(count('single')).toBeGreaterThanOrEqual(10);
    expect(count('double')).toBeGreaterThanOrEqual(2);
    expect(count('healthy')).toBeGreaterThanOrEqual(2);
    for (const w of WORKLOADS) {
      expect(w.faults).toHaveLength({ single: 1, double: 2, healthy: 0 }[w.kind]);
      for (const f of w.faults) expect(f.roots.length).toBeGreaterThan(0);
    }
    expect(new Set(WORKLOADS.map((w) => w.name)).size).toBe(WORKLOADS.length);
    expect(WORKLOADS.filter((w) => w.source === 'kc').map((w) => w.kind)).toEqual(expect.arrayContaining(['single', 'double', 'healthy']));
  });

  it.each(WORKLOADS.filter((w) => w.source === 'otlp').map((w) => [w.name]))(
    '%s: tasks arrive over the whole 16 minutes in event-time order, children inside their parents',
    async (name) => {
      const spans = await spansOf(name);
      const roots = spans.filter((s) => s.parentSpanId === undefined).sort((a, b) => a.startMs - b.startMs);
      expect(roots.length).toBeGreaterThan(300);
      expect((roots[0] as SpanRecord).startMs - OTLP_START).toBeLessThan(10_000);
      expect(OTLP_START + OTLP_DURATION - (roots[roots.length - 1] as SpanRecord).startMs).toBeLessThan(30_000);
      const starts = roots.map((r) => r.startMs);
      expect(Math.max(...starts.slice(1).map((t, i) => t - (starts[i] as number)))).toBeLessThan(30_000);
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const misplaced = spans.filter((s) => {
        if (s.endMs < s.startMs) return true;
        if (s.parentSpanId === undefined) return false;
        const parent = byId.get(s.parentSpanId);
        return parent === undefined || parent.traceId !== s.traceId || s.startMs < parent.startMs || s.endMs > parent.endMs;
      });
      expect(misplaced.map((s) => s.name)).toEqual([]);
    },
    SLOW,
  );

  it('background traffic has several agents, task types, tools, models, providers and two services', async () => {
    const spans = await spansOf('healthy');
    const values = (f: (s: SpanRecord) => string | undefined) => new Set(spans.map(f).filter((v) => v !== undefined));
    expect(values((s) => s.agent)).toEqual(new Set(['planner', 'coder', 'researcher', 'reviewer']));
    expect(values((s) => s.taskType)).toEqual(new Set(['Plan', 'Refactor', 'Fix', 'Research', 'Review']));
    expect(values((s) => s.tool).size).toBeGreaterThanOrEqual(8);
    expect(values((s) => s.model)).toEqual(new Set(['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4']));
    expect(values((s) => s.provider)).toEqual(new Set(['openai', 'anthropic']));
    expect(values((s) => s.service)).toEqual(new Set(['kc-orchestrator', SEARCH_SERVICE]));
    expect(values((s) => s.runId).size).toBeGreaterThan(20);
  }, SLOW);

  it('durations are realistic and spread log-normally', async () => {
    const spans = await spansOf('healthy');
    const ok = (name: string) => spans.filter((s) => s.name === name && !s.failed).map((s) => s.durationMs);
    expect(median(ok('chat claude-sonnet-4'))).toBeGreaterThan(1_500);
    expect(median(ok('chat claude-sonnet-4'))).toBeLessThan(4_000);
    expect(median(ok('execute_tool run_tests'))).toBeGreaterThan(2_500);
    expect(median(ok('execute_tool run_tests'))).toBeLessThan(6_000);
    const readFile = ok('execute_tool read_file');
    expect(median(readFile)).toBeGreaterThan(5);
    expect(median(readFile)).toBeLessThan(40);
    // a wide spread: p99 several times the median, as real latencies are
    expect(quantile(readFile, 0.99) / median(readFile)).toBeGreaterThan(5);
  }, SLOW);

  it.each([['healthy'], ['healthy-2']])(
    '%s has the noise real traffic has and nothing more',
    async (name) => {
      const spans = await spansOf(name);
      const tools = spans.filter((s) => s.tool !== undefined);
      // isolated timeouts: a few, never several in one trace
      const timeouts = tools.filter((s) => s.errorClass === 'timeout');
      expect(timeouts.length).toBeGreaterThan(0);
      expect(timeouts.length / tools.length).toBeLessThan(0.01);
      const perTrace = new Map<string, number>();
      for (const s of timeouts) perTrace.set(s.traceId, (perTrace.get(s.traceId) ?? 0) + 1);
      expect(Math.max(...perTrace.values())).toBeLessThanOrEqual(2);
      // an occasional ENOENT on read_file, retried once (never a third time)
      const readCalls = toolCalls(spans, 'read_file');
      const enoent = readCalls.filter((c) => c[0]?.errorClass === 'ENOENT');
      expect(enoent.length).toBeGreaterThan(0);
      expect(enoent.length / readCalls.length).toBeLessThan(0.03);
      expect(enoent.every((c) => c.length === 2)).toBe(true);
      // a few turns whose tools run one after the other
      const kids = childrenOf(spans);
      let sequential = 0;
      for (const list of kids.values()) {
        const t = list.filter((s) => s.tool !== undefined);
        for (let i = 1; i < t.length; i++) {
          const a = t[i - 1] as SpanRecord;
          const b = t[i] as SpanRecord;
          if (a.tool !== b.tool && b.startMs >= a.endMs && b.startMs - a.endMs < 10) sequential++;
        }
      }
      expect(sequential).toBeGreaterThan(5);
      // nothing more: few failures, no fault's error
      expect(share(tools, (s) => s.failed)).toBeLessThan(0.04);
      expect(share(spans.filter((s) => s.model !== undefined), (s) => s.failed)).toBeLessThan(0.01);
      expect(spans.some((s) => s.errorClass === 'EROFS' || s.errorClass === 'ToolExecutionError')).toBe(false);
      expect([...kids.values()].some((list) => list.filter((c) => c.tool === 'get_comment').length > 3)).toBe(false);
    },
    SLOW,
  );

  it('failing-tool: run_tests fails 40 % of calls once the fault starts, almost never before', async () => {
    const calls = (await spansOf('failing-tool')).filter((s) => s.tool === 'run_tests');
    const after = calls.filter(from(FAULT));
    expect(share(calls.filter(before(FAULT)), (s) => s.failed)).toBeLessThan(0.03);
    expect(share(after, (s) => s.failed)).toBeGreaterThan(0.3);
    expect(share(after, (s) => s.failed)).toBeLessThan(0.5);
    expect(after.filter((s) => s.failed).every((s) => s.errorClass === 'ToolExecutionError' || s.errorClass === 'timeout')).toBe(true);
  }, SLOW);

  it('upstream-rate-limit: 429s on both services in the same traces, the server span a child of the client span across services', async () => {
    const spans = await spansOf('upstream-rate-limit');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const servers = spans.filter((s) => s.name === 'GET /v2/search');
    expect(servers.length).toBeGreaterThan(100);
    for (const server of servers) {
      expect(server.service).toBe(SEARCH_SERVICE);
      expect(server.kind).toBe(SpanKind.SERVER);
      const client = byId.get(server.parentSpanId ?? '') as SpanRecord;
      expect(client.name).toBe('execute_tool web_search');
      expect(client.service).toBe('kc-orchestrator');
      expect(client.kind).toBe(SpanKind.CLIENT);
      expect(client.traceId).toBe(server.traceId);
      expect(server.httpStatus === 429).toBe(client.httpStatus === 429);
    }
    const limited = servers.filter((s) => s.httpStatus === 429);
    expect(share(servers.filter(from(FAULT)), (s) => s.httpStatus === 429)).toBeGreaterThan(0.35);
    expect(share(servers.filter(before(FAULT)), (s) => s.httpStatus === 429)).toBeLessThan(0.02);
    expect(limited.every((s) => s.failed && (byId.get(s.parentSpanId ?? '') as SpanRecord).failed)).toBe(true);
    expect(new Set(limited.map((s) => s.traceId)).size).toBeGreaterThan(20);
  }, SLOW);

  it('slow-model: gpt-4o takes 6× as long once the fault starts; the other models do not change', async () => {
    const spans = (await spansOf('slow-model')).filter((s) => s.model !== undefined && !s.failed);
    const ratio = (model: string) => {
      const m = spans.filter((s) => s.model === model);
      return median(m.filter(from(FAULT)).map((s) => s.durationMs)) / median(m.filter(before(FAULT)).map((s) => s.durationMs));
    };
    expect(ratio('gpt-4o')).toBeGreaterThan(4.5);
    expect(ratio('gpt-4o')).toBeLessThan(8);
    for (const other of ['gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4']) {
      expect(ratio(other)).toBeGreaterThan(0.75);
      expect(ratio(other)).toBeLessThan(1.35);
    }
  }, SLOW);

  it('provider-outage: every anthropic call fails with 529 during the outage; the coder and reviewer fall back to gpt-4o', async () => {
    const spans = await spansOf('provider-outage');
    const kids = childrenOf(spans);
    const agent = agentOf(spans);
    const anthropic = spans.filter((s) => s.provider === 'anthropic');
    const during = anthropic.filter((s) => s.startMs >= FAULT && s.startMs < OUTAGE_END);
    expect(during.length).toBeGreaterThan(100);
    expect(during.every((s) => s.failed && s.httpStatus === 529)).toBe(true);
    expect(share(anthropic.filter((s) => s.startMs >= OUTAGE_END), (s) => s.failed)).toBeLessThan(0.03);
    // the agents whose own model is anthropic's (an openai call that fell back to anthropic has no second fallback)
    const primary = during.filter((s) => agent(s) === 'coder' || agent(s) === 'reviewer');
    const unanswered = primary.filter((failed) => {
      const siblings = kids.get(failed.parentSpanId ?? '') as SpanRecord[];
      const next = siblings[siblings.indexOf(failed) + 1];
      return next?.model !== 'gpt-4o' || next.startMs - failed.endMs > 100;
    });
    expect(unanswered).toEqual([]);
    // each on its agent's span, a provider_fallback event at the end of the failed call
    const fallbacks = new Map(spans.flatMap((s) => s.events.filter((e) => e.name === 'provider_fallback').map((e) => [Math.round(e.timeMs), e.attributes] as const)));
    expect(primary.filter((s) => fallbacks.get(Math.round(s.endMs))?.['from'] !== 'anthropic')).toEqual([]);
    expect(primary.every((s) => fallbacks.get(Math.round(s.endMs))?.['to'] === 'openai')).toBe(true);
  }, SLOW);

  it('retries-without-backoff: fetch_url is retried within milliseconds once the fault starts, with backoff before', async () => {
    const calls = toolCalls(await spansOf('retries-without-backoff'), 'fetch_url').filter((c) => c.length > 1);
    const after = calls.filter((c) => (c[0] as SpanRecord).startMs >= FAULT);
    const earlier = calls.filter((c) => (c[0] as SpanRecord).startMs < FAULT);
    expect(after.filter((c) => c.length >= 3).length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...after.flatMap(gaps))).toBeLessThan(10);
    expect(earlier.length).toBeGreaterThan(5);
    expect(Math.min(...earlier.flatMap(gaps))).toBeGreaterThan(250);
    // every attempt but the last failed: these are retries
    expect([...after, ...earlier].every((c) => c.slice(0, -1).every((s) => s.failed))).toBe(true);
  }, SLOW);

  it('retries-after-non-retryable: open_pull_request is retried after 422 only once the fault starts', async () => {
    const calls = toolCalls(await spansOf('retries-after-non-retryable'), 'open_pull_request');
    const retriedAfter422 = (c: readonly SpanRecord[]) => c.slice(0, -1).filter((s) => s.httpStatus === 422).length;
    const after = calls.filter((c) => (c[0] as SpanRecord).startMs >= FAULT);
    const earlier = calls.filter((c) => (c[0] as SpanRecord).startMs < FAULT);
    // more than the 5 retry_non_retryable needs
    expect(after.reduce((n, c) => n + retriedAfter422(c), 0)).toBeGreaterThan(5);
    expect(earlier.some((c) => (c[0] as SpanRecord).httpStatus === 422)).toBe(true);
    expect(earlier.every((c) => c.length === 1)).toBe(true);
  }, SLOW);

  it('nested-retry-amplification: retried researcher tasks whose fetch_url calls are retried too, up to 9 attempts per drop-out', async () => {
    const spans = await spansOf('nested-retry-amplification');
    const kids = childrenOf(spans);
    const tasks = spans.filter((s) => s.name === 'kc.task');
    expect(tasks.every((t) => t.startMs >= FAULT && t.taskType === 'Research')).toBe(true);
    let amplified = 0;
    for (const task of tasks) {
      const invocations = (kids.get(task.spanId) ?? []).filter((s) => s.name === 'invoke_agent researcher');
      expect(invocations.map((s) => s.attempt)).toEqual(invocations.map((_, i) => i + 1));
      const fetchAttempts = Math.max(0, ...invocations.flatMap((inv) => toolCalls(kids.get(inv.spanId) ?? [], 'fetch_url').map((c) => c.length)));
      if (invocations.length * fetchAttempts >= 6) amplified++;
    }
    expect(amplified).toBeGreaterThanOrEqual(5);
  }, SLOW);

  it('token-blow-up: the coder sends 8× the input tokens once the fault starts; the other agents do not change', async () => {
    const spans = await spansOf('token-blow-up');
    const agent = agentOf(spans);
    const chats = spans.filter((s) => s.model !== undefined);
    const ratio = (a: string) => {
      const mine = chats.filter((s) => agent(s) === a).map((s) => [s.startMs, s.inputTokens ?? 0] as const);
      return median(mine.filter(([t]) => t >= FAULT).map(([, n]) => n)) / median(mine.filter(([t]) => t < FAULT).map(([, n]) => n));
    };
    expect(ratio('coder')).toBeGreaterThan(6);
    expect(ratio('coder')).toBeLessThan(10);
    for (const other of ['planner', 'researcher', 'reviewer']) expect(ratio(other)).toBeLessThan(1.3);
  }, SLOW);

  it('n-plus-one: reviewer tasks call get_comment 12–25 times one after the other once the fault starts', async () => {
    const spans = await spansOf('n-plus-one');
    const kids = childrenOf(spans);
    const runs = spans
      .filter((s) => s.agent === 'reviewer' && s.name === 'invoke_agent reviewer')
      .map((inv) => [inv.startMs, (kids.get(inv.spanId) ?? []).filter((c) => c.tool === 'get_comment')] as const);
    const loops = runs.filter(([, calls]) => calls.length >= 12);
    expect(loops.length).toBeGreaterThanOrEqual(10);
    expect(loops.every(([t]) => t >= FAULT)).toBe(true);
    for (const [, calls] of loops) for (let i = 1; i < calls.length; i++) expect((calls[i] as SpanRecord).startMs).toBeGreaterThanOrEqual((calls[i - 1] as SpanRecord).endMs);
  }, SLOW);

  it('shared-error: EROFS fails write_file, run_tests and open_pull_request, and nothing else, once the fault starts', async () => {
    const erofs = (await spansOf('shared-error')).filter((s) => s.errorClass === 'EROFS');
    expect(erofs.every((s) => s.startMs >= FAULT)).toBe(true);
    const byTool = new Map<string, number>();
    for (const s of erofs) byTool.set(s.tool ?? s.name, (byTool.get(s.tool ?? s.name) ?? 0) + 1);
    expect([...byTool.keys()].sort()).toEqual(['open_pull_request', 'run_tests', 'write_file']);
    expect(Math.min(...byTool.values())).toBeGreaterThanOrEqual(5);
  }, SLOW);

  it('kc-provider-credentials: the run files spell the provider claude and Claude; claude attempts fail with 401 from the fault run on', async () => {
    const events = KC_CREDENTIALS.runs.flatMap((r) => r.events);
    const spelled = (field: string) => new Set(events.map((e) => e[field]).filter((v) => typeof v === 'string' && v.toLowerCase() === 'claude'));
    expect(spelled('provider')).toEqual(new Set(['claude', 'Claude']));
    expect(spelled('fromProvider')).toEqual(new Set(['claude']));
    const spans = await spansOf('kc-provider-credentials');
    const attempts = spans.filter((s) => s.name === 'kc.task.attempt' && s.provider?.toLowerCase() === 'claude');
    const after = attempts.filter((s) => s.endMs >= KC_CREDENTIALS.faultStart);
    expect(after.length).toBeGreaterThan(30);
    expect(share(after, (s) => s.failed && s.errorClass === 'authentication')).toBeGreaterThan(0.95);
    expect(share(attempts.filter((s) => s.endMs < KC_CREDENTIALS.faultStart), (s) => s.failed)).toBeLessThan(0.2);
  }, SLOW);

  it('kc-task-type-timeouts: Migrate tasks time out most of the time from the fault run on', async () => {
    const tasks = (await spansOf('kc-task-type-timeouts')).filter((s) => s.name === 'kc.task' && s.taskType === 'Migrate');
    const after = tasks.filter((s) => s.endMs >= KC_MIGRATE.faultStart);
    expect(after.length).toBeGreaterThan(20);
    expect(share(after, (s) => s.errorClass === 'timeout')).toBeGreaterThan(0.4);
    expect(share(tasks.filter((s) => s.endMs < KC_MIGRATE.faultStart), (s) => s.failed)).toBeLessThan(0.15);
  }, SLOW);

  it('two-faults-rate-limit-and-slow-model: the rate-limited tool and the slow model belong to different agents', async () => {
    const spans = await spansOf('two-faults-rate-limit-and-slow-model');
    const agent = agentOf(spans);
    const limited = spans.filter((s) => s.name === 'GET /v2/search' && s.httpStatus === 429);
    expect(limited.length).toBeGreaterThan(30);
    expect(new Set(limited.map(agent))).toEqual(new Set(['researcher']));
    const haiku = spans.filter((s) => s.model === 'claude-haiku-4' && !s.failed);
    expect(new Set(haiku.map(agent))).toEqual(new Set(['reviewer']));
    const ratio = median(haiku.filter(from(SECOND_FAULT)).map((s) => s.durationMs)) / median(haiku.filter(before(SECOND_FAULT)).map((s) => s.durationMs));
    expect(ratio).toBeGreaterThan(4.5);
  }, SLOW);

  it('two-faults-tool-and-tokens: the crashing tool and the token blow-up belong to different agents', async () => {
    const spans = await spansOf('two-faults-tool-and-tokens');
    const agent = agentOf(spans);
    const crashes = spans.filter((s) => s.errorClass === 'ToolExecutionError');
    expect(crashes.length).toBeGreaterThan(10);
    expect(crashes.some((s) => agent(s) === 'researcher')).toBe(false);
    const research = spans.filter((s) => s.model !== undefined && agent(s) === 'researcher');
    const ratio = median(research.filter(from(SECOND_FAULT)).map((s) => s.inputTokens ?? 0)) / median(research.filter(before(FAULT)).map((s) => s.inputTokens ?? 0));
    expect(ratio).toBeGreaterThan(6);
  }, SLOW);
});

// --- the evaluator --------------------------------------------------------------------------------

const SUBJECT = { service: 'kc-orchestrator', operation: 'execute_tool run_tests', tool: 'run_tests' };

function alert(id: string, at: number, over: Partial<Alert> = {}): Alert {
  return { id, kind: 'failure_rate', subject: SUBJECT, severity: 'medium', title: id, at, ...over };
}

function problem(over: Partial<ProblemRecord> = {}): ProblemRecord {
  return problemRecordSchema.parse({
    id: 'pb-0123456789abcdef',
    state: 'open',
    severity: 'high',
    category: 'reliability',
    title: 'run_tests fails',
    description: '',
    root: { id: 'pp-0123456789abcdef', kind: 'failure_rate', subject: SUBJECT, title: 'run_tests fails' },
    symptoms: [],
    contributing: [],
    impact: { score: 1, affected_runs: 1, affected_traces: 1, wasted_ms: 0, wasted_tokens: 0 },
    first_seen: new Date(FAULT + 30_000).toISOString(),
    last_seen: new Date(FAULT + 90_000).toISOString(),
    exemplar_trace_ids: [],
    run_ids: [],
    recommendation_ids: [],
    ...over,
  });
}

/** An analysis result; `extra` adds what the problems stage will add. */
function result(extra: Record<string, unknown> = {}): AnalysisResult {
  const statistics = { spans: 0, traces: 0, runs: 0, failed_spans: 0, late_spans_dropped: 0, start: null, end: null, painpoints: { high: 0, medium: 0, low: 0 }, problems: { high: 0, medium: 0, low: 0 }, operations: [] };
  return { painpoints: [], recommendations: [], statistics, ...extra } as unknown as AnalysisResult;
}

describe('the evaluator', () => {
  const failing = workload('failing-tool');
  const double = workload('kc-two-faults');

  it('a root names a fault by kind and subject values, case-insensitively', () => {
    const claude = { subject: { provider: 'claude' } };
    expect(namesRoot(claude, { kind: 'failure_rate', subject: { service: 'kc-orchestrator', provider: 'Claude' } })).toBe(true);
    expect(namesRoot(claude, { kind: 'failure_rate', subject: { service: 'kc-orchestrator', provider: 'codex' } })).toBe(false);
    expect(namesRoot(claude, { kind: 'failure_rate', subject: { service: 'kc-orchestrator' } })).toBe(false);
    const behaviour = { kinds: ['retry_no_backoff' as const], subject: { tool: 'fetch_url' } };
    expect(namesRoot(behaviour, { kind: 'retry_no_backoff', subject: { service: 'kc-orchestrator', tool: 'fetch_url' } })).toBe(true);
    expect(namesRoot(behaviour, { kind: 'retry_storm', subject: { service: 'kc-orchestrator', tool: 'fetch_url' } })).toBe(false);
    expect(patternLabel(behaviour)).toBe('retry_no_backoff tool=fetch_url');
  });

  it('one alert naming the fault after it started meets the target, with the delay from the fault start', () => {
    const v = scoreView(failing, [alert('a', FAULT + 40_000)]);
    expect(v.target).toBe(true);
    expect(v.matches[0]?.alert?.id).toBe('a');
  });

  it('an alert raised before the fault started does not name it, and an extra alert misses the target', () => {
    expect(scoreView(failing, [alert('early', FAULT - 60_000)]).named).toBe(false);
    const v = scoreView(failing, [alert('a', FAULT + 40_000), alert('b', FAULT + 50_000, { subject: { service: 'kc-orchestrator', agent: 'coder' } })]);
    expect(v.named).toBe(true);
    expect(v.target).toBe(false);
  });

  it('two faults need two alerts: one alert never names both', () => {
    const [first, second] = double.faults as [Fault, Fault];
    const claude = (id: string) => alert(id, first.start + 1, { subject: { service: 'kc-orchestrator', provider: 'claude', task_type: 'Migrate' } });
    const migrate = alert('m', second.start + 2, { subject: { service: 'kc-orchestrator', task_type: 'Migrate' } });
    expect(scoreView(double, [claude('c')]).target).toBe(false);
    expect(scoreView(double, [claude('c'), migrate]).target).toBe(true);
  });

  it('a healthy workload meets the target only without alerts', () => {
    const healthy = workload('healthy');
    expect(scoreView(healthy, []).target).toBe(true);
    expect(scoreView(healthy, [alert('a', FAULT)]).target).toBe(false);
  });

  it('pain-point alerts are the medium or high ones, each once, at the time it first became medium or high', () => {
    const pp = (severity: PainPointRecord['severity'], last: number) =>
      ({ id: 'pp-1', kind: 'failure_rate', severity, subject: SUBJECT, title: 't', last_seen: new Date(last).toISOString() }) as PainPointRecord;
    const out = { changes: [pp('low', FAULT), pp('medium', FAULT + 10_000), pp('high', FAULT + 20_000)].map((painpoint) => ({ painpoint, recommendations: [] })) } as unknown as AnalyzeOutput;
    expect(painPointAlerts(out)).toEqual([expect.objectContaining({ id: 'pp-1', at: FAULT + 10_000, severity: 'medium' })]);
  });

  it('problem alerts are n/a without problems; with them, medium or high problems not merged, named by their root', () => {
    expect(problemAlerts(result())).toBeUndefined();
    expect(problemAlerts(result({ problems: [] }))).toEqual([]);
    const merged = problem({ id: 'pb-1111111111111111', state: 'merged', merged_into: 'pb-0123456789abcdef' });
    const low = problem({ id: 'pb-2222222222222222', severity: 'low' });
    const alerts = problemAlerts(result({ problems: [problem(), merged, low] })) as Alert[];
    expect(alerts.map((a) => a.id)).toEqual(['pb-0123456789abcdef']);
    expect(alerts[0]).toMatchObject({ kind: 'failure_rate', subject: SUBJECT, at: FAULT + 30_000 });
    expect(alertLabel(alerts[0] as Alert)).toBe('failure_rate run_tests');
  });

  it('a problem change stream, when the output has one, dates a problem by when it first became medium or high', () => {
    const rising = [problem({ severity: 'low', last_seen: new Date(FAULT + 10_000).toISOString() }), problem({ last_seen: new Date(FAULT + 70_000).toISOString() })];
    const alerts = problemAlerts(result({ problems: [problem()], problemChanges: rising.map((p) => ({ problem: p })) })) as Alert[];
    expect(alerts[0]?.at).toBe(FAULT + 70_000);
  });
});

// --- the target on problems ------------------------------------------------------------------------------

const probe = await analyzeSpans([]);
/**
 * Asserted on the suite's own traffic (seed 0), which meets it; on other seeds
 * (SIDELIGHT_QUALITY_SEED, for trying the detectors on traffic they were not written for) only
 * with SIDELIGHT_QUALITY_TARGET=1, since a seed may still miss a thin fault (README, Quality).
 */
const targetAsserted =
  process.env['SIDELIGHT_QUALITY_TARGET'] === '1' || ((Number(process.env['SIDELIGHT_QUALITY_SEED'] ?? 0) || 0) === 0 && process.env['SIDELIGHT_QUALITY_TARGET'] !== '0');

describe.skipIf(!('problems' in probe) || !targetAsserted)('the target: one medium or high problem per fault, its root naming the fault', () => {
  const roots = (alerts: readonly Alert[]) => alerts.map(alertLabel).join('; ') || 'none';

  it.each(WORKLOADS.filter((w) => w.kind !== 'healthy').map((w) => [w.name, w] as const))(
    '%s: one problem per fault, each naming its fault',
    async (_name, w) => {
      const v = (await evaluate(w)).problems;
      expect(v, 'the analysis output has problems').toBeDefined();
      if (v === undefined) return;
      for (const m of v.matches) {
        expect(m.alert, `${m.fault.label}: no medium/high problem's root names ${m.fault.roots.map(patternLabel).join(' or ')} (roots: ${roots(v.alerts)})`).toBeDefined();
      }
      expect(v.alerts.length, `medium/high problems: ${roots(v.alerts)}`).toBe(w.faults.length);
    },
    SLOW,
  );

  it.each(WORKLOADS.filter((w) => w.kind === 'healthy').map((w) => [w.name, w] as const))(
    '%s: no medium or high problem',
    async (_name, w) => {
      const v = (await evaluate(w)).problems;
      expect(v, 'the analysis output has problems').toBeDefined();
      expect(v?.alerts.map(alertLabel)).toEqual([]);
    },
    SLOW,
  );
});
