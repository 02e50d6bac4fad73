import { describe, expect, it } from 'vitest';
import { AttributionIndex } from './attribution-index.js';
import { groupPainPoints, type Group } from './linking.js';
import { ProblemTracker } from './problem-tracker.js';
import { operationKeyOf } from './problem-record.js';
import type { PainPointKind, PainPointRecord, Severity, Subject } from '../model/painpoint.js';
import type { SpanRecord } from '../model/span.js';
import type { TraceNode } from '../model/trace.js';
import { painPointId } from '../painpoints/ids.js';
import { problemRecordSchema } from '../model/problem.js';
import { metricsOf } from '../model/evidence/index.js';
import { hexId, makeSpan, type SpanInit } from '../../test/support/span-factory.js';

const T0 = Date.UTC(2026, 10, 26, 9);
const MIN = 60_000;
const BASELINE = 60 * MIN;
const WINDOW = 15 * MIN;
const NOW = T0 + BASELINE + WINDOW;

/** A deterministic stream of pseudo-random numbers, so the workloads are noisy but repeatable. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

class World {
  readonly index = new AttributionIndex({ paneMs: MIN, retentionMs: BASELINE + WINDOW, maxTuples: 10_000 });
  private n = 0;

  /** One trace: a root span and its children (each child: its own children), all ended before the root. */
  trace(root: SpanInit, children: readonly (SpanInit & { children?: readonly SpanInit[] })[] = []): void {
    const traceId = hexId(`t${++this.n}`, 16);
    const make = (init: SpanInit, parent?: SpanRecord) => makeSpan({ ...init, traceId, spanId: hexId(`s${++this.n}`, 8), ...(parent ? { parentSpanId: parent.spanId } : {}) });
    const rootSpan = make(root);
    const nodes: TraceNode[] = [];
    const spans: SpanRecord[] = [];
    for (const c of children) {
      const span = make(c, rootSpan);
      const grand = (c.children ?? []).map((g) => make(g, span));
      spans.push(...grand, span);
      nodes.push({ span, children: grand.map((g) => ({ span: g, children: [] })) });
    }
    spans.push(rootSpan);
    for (const s of spans) this.index.addSpan(s);
    this.index.addTrace({ traceId, root: { span: rootSpan, children: nodes }, spanCount: spans.length, startMs: rootSpan.startMs, endMs: rootSpan.endMs });
  }

  /**
   * A span of a trace whose root has not come: still running at the watermark (counted, in no
   * assembled trace), or emitted as a fragment rooted at it (its parent span absent).
   */
  orphan(init: SpanInit, as: 'running' | 'fragment'): void {
    const traceId = hexId(`t${++this.n}`, 16);
    const span = makeSpan({ ...init, traceId, spanId: hexId(`s${++this.n}`, 8), parentSpanId: hexId(`absent${this.n}`, 8) });
    this.index.addSpan(span);
    if (as === 'fragment') this.index.addTrace({ traceId, root: { span, children: [] }, spanCount: 1, startMs: span.startMs, endMs: span.endMs });
  }

  group(points: readonly PainPointRecord[], previousRoots?: ReadonlyMap<string, string>): Group[] {
    this.index.advance(NOW);
    return groupPainPoints({
      points,
      ...(previousRoots ? { previousRoots, band: 0.1 } : {}),
      index: this.index,
      interval: (from, to) => this.index.interval(from, to),
      now: NOW,
      maxInterval: WINDOW,
      lead: 5 * MIN,
      baseline: BASELINE,
      share: 0.8,
      contributingShare: 0.5,
    });
  }
}

function pp(kind: PainPointKind, subject: Subject, severity: Severity = 'medium', firstSeen = NOW - 5 * MIN, metrics: Record<string, number | string> = {}): PainPointRecord {
  return {
    id: painPointId(kind, subject),
    kind,
    severity,
    category: 'reliability',
    state: 'open',
    subject,
    title: `${kind} on ${JSON.stringify(subject)}`,
    description: '',
    evidence: { window: '5m', metrics, exemplar_trace_ids: [] },
    first_seen: new Date(firstSeen).toISOString(),
    last_seen: new Date(NOW).toISOString(),
    run_ids: [],
  };
}

const metricsOfAnomaly = (p: PainPointRecord) => metricsOf({ kind: 'anomaly', evidence: p.evidence }) as { median: number; excess_calls: number };

const rootOf = (groups: readonly Group[], p: PainPointRecord) => groups.find((g) => g.root.id === p.id || g.symptoms.some((s) => s.point.id === p.id))?.root;

describe('grouping pain points by cause', () => {
  it('another view of the same spans: a provider failing on every model and agent is the root', () => {
    const w = new World();
    const rnd = random(1);
    const agents = ['planner', 'coder'];
    const models = [
      ['anthropic', 'claude-a'],
      ['anthropic', 'claude-b'],
      ['openai', 'gpt-x'],
    ] as const;
    for (let t = T0; t < NOW; t += 2_000) {
      const [provider, model] = models[Math.floor(rnd() * 3)] as (typeof models)[number];
      const failing = provider === 'anthropic' && t >= NOW - WINDOW && rnd() < 0.45;
      // background noise: the odd failure everywhere
      const noise = rnd() < 0.02;
      w.trace({ service: 'orch', name: 'chat', provider, model, agent: agents[Math.floor(rnd() * 2)], startMs: t, durationMs: 500 + rnd() * 2_000, failed: failing || noise, ...(failing ? { errorClass: '401' } : noise ? { errorClass: 'timeout' } : {}) });
    }
    const provider = pp('failure_rate', { service: 'orch', operation: 'chat', provider: 'anthropic' }, 'high');
    const m1 = pp('failure_rate', { service: 'orch', operation: 'chat', model: 'claude-a' }, 'high');
    const m2 = pp('failure_rate', { service: 'orch', operation: 'chat', model: 'claude-b' }, 'high');
    const agent = pp('failure_rate', { service: 'orch', operation: 'chat', agent: 'planner' });
    const spike = pp('failure_spike', { service: 'orch', operation: 'chat', provider: 'anthropic' }, 'high');
    const groups = w.group([m1, agent, provider, m2, spike]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.root.subject.provider).toBe('anthropic');
    expect(groups[0]!.symptoms.map((s) => s.point.id).sort()).toEqual([m1.id, m2.id, agent.id, groups[0]!.root.id === provider.id ? spike.id : provider.id].sort());
  });

  /** Agents calling two models of one provider (one operation per model) and a model of another; `fails(model, t)` says whether a call fails, and how. */
  function providerWorld(seed: number, fails: (model: string, t: number, rnd: () => number) => string | undefined): World {
    const w = new World();
    const rnd = random(seed);
    const models = [
      ['anthropic', 'claude-a'],
      ['anthropic', 'claude-a'],
      ['anthropic', 'claude-b'],
      ['openai', 'gpt-x'],
    ] as const;
    for (let t = T0; t < NOW; t += 1_500) {
      const [provider, model] = models[Math.floor(rnd() * models.length)] as (typeof models)[number];
      // background noise: the odd timeout anywhere
      const cls = fails(model, t, rnd) ?? (rnd() < 0.02 ? 'timeout' : undefined);
      w.trace({ service: 'orch', name: 'invoke_agent coder', agent: 'coder', startMs: t, durationMs: 3_000 }, [
        { service: 'orch', name: `chat ${model}`, provider, model, startMs: t + 10, durationMs: 800 + rnd() * 1_500, failed: cls !== undefined, ...(cls !== undefined ? { errorClass: cls } : {}) },
      ]);
    }
    return w;
  }

  it('one provider failing on two of its models with one error is one problem, its fallbacks a symptom', () => {
    const w = providerWorld(21, (model, t, rnd) => (model.startsWith('claude') && t >= NOW - WINDOW && rnd() < 0.5 ? 'overloaded_error' : undefined));
    const a = pp('failure_spike', { service: 'orch', operation: 'chat claude-a', provider: 'anthropic' }, 'high');
    const b = pp('failure_spike', { service: 'orch', operation: 'chat claude-b', provider: 'anthropic' }, 'high');
    const modelB = pp('failure_spike', { service: 'orch', operation: 'chat claude-b', model: 'claude-b' }, 'high');
    // the agent's spans carry no provider: the fallbacks' own spans are nowhere in the index
    const fallback = pp('provider_fallback', { service: 'orch', operation: 'invoke_agent coder', provider: 'anthropic' });
    const groups = w.group([b, fallback, modelB, a]);
    expect(groups).toHaveLength(1);
    // claude-a takes twice claude-b's calls: the most excess
    expect(groups[0]!.root.id).toBe(a.id);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation]).sort()).toEqual([[b.id, 'view'], [modelB.id, 'view'], [fallback.id, 'consequence']].sort());
  });

  it('two models of one provider failing with different errors stay two problems', () => {
    // claude-a overloaded, claude-b retired (404): two causes that happen to share a provider
    const w = providerWorld(22, (model, t, rnd) => (t < NOW - WINDOW || rnd() >= 0.5 ? undefined : model === 'claude-a' ? 'overloaded_error' : model === 'claude-b' ? '404' : undefined));
    const a = pp('failure_spike', { service: 'orch', operation: 'chat claude-a', provider: 'anthropic' }, 'high');
    const b = pp('failure_spike', { service: 'orch', operation: 'chat claude-b', provider: 'anthropic' }, 'high');
    const groups = w.group([a, b]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('a task type failing on every provider is the root, the providers its symptoms', () => {
    const w = new World();
    const rnd = random(2);
    for (let t = T0; t < NOW; t += 2_000) {
      const taskType = ['Refactor', 'Docs', 'Test'][Math.floor(rnd() * 3)] as string;
      const provider = ['codex', 'claude'][Math.floor(rnd() * 2)] as string;
      const failing = taskType === 'Refactor' && t >= NOW - WINDOW && rnd() < 0.6;
      w.trace({ service: 'kc', name: 'task', taskType, provider, startMs: t, durationMs: 30_000, failed: failing || rnd() < 0.02 });
    }
    const refactor = pp('failure_rate', { service: 'kc', operation: 'task', task_type: 'Refactor' }, 'high');
    const codex = pp('failure_rate', { service: 'kc', operation: 'task', provider: 'codex' });
    const claude = pp('failure_rate', { service: 'kc', operation: 'task', provider: 'claude' });
    const groups = w.group([codex, claude, refactor]);
    expect(groups.map((g) => g.root.id)).toEqual([refactor.id]);
  });

  it("a task type failing only by a failing provider and background noise is that provider's view, a task type failing on every provider is not", () => {
    const w = new World();
    const rnd = random(7);
    const types = ['Fix', 'Add', 'Update', 'Document', 'Migrate'];
    for (let t = T0; t < NOW; t += 4_000) {
      const taskType = types[Math.floor(rnd() * types.length)] as string;
      const provider = ['codex', 'claude', 'gemini'][Math.floor(rnd() * 3)] as string;
      const late = t >= NOW - WINDOW;
      // claude's key revoked: 401 on 40 % of its calls; Migrate times out on 50 % of its calls on any provider;
      // every call fails now and then (8 %), Fix a little more often by chance
      const auth = late && provider === 'claude' && rnd() < 0.4;
      const timeout = late && taskType === 'Migrate' && rnd() < 0.5;
      const noise = rnd() < (taskType === 'Fix' ? 0.1 : 0.08);
      const errorClass = auth ? 'authentication' : timeout ? 'timeout' : noise ? 'other' : undefined;
      w.trace({ service: 'kc', name: 'kc.task.attempt', taskType, provider, startMs: t, durationMs: 30_000, failed: errorClass !== undefined, ...(errorClass ? { errorClass } : {}) });
    }
    const claude = pp('failure_rate', { service: 'kc', operation: 'kc.task.attempt', provider: 'claude' }, 'high');
    const fix = pp('failure_rate', { service: 'kc', operation: 'kc.task.attempt', task_type: 'Fix' });
    const migrate = pp('failure_rate', { service: 'kc', operation: 'kc.task.attempt', task_type: 'Migrate' }, 'high');
    const groups = w.group([fix, migrate, claude]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([claude.id, migrate.id].sort());
    // fewer than 80 % of Fix's failures are claude's: what links it is that the rest is noise
    const linked = groups.find((g) => g.root.id === claude.id)?.symptoms.find((m) => m.point.id === fix.id);
    expect(linked?.relation).toBe('view');
    expect(linked?.share).toBeLessThan(0.8);
  });

  it('a retry exhaustion first seen in a quiet stretch is measured over its window, and joins the failure root outside whose spans its failures are noise', () => {
    const w = new World();
    const rnd = random(8);
    for (let t = T0; t < NOW; t += 1_000) {
      const taskType = ['Migrate', 'Fix', 'Add', 'Update'][Math.floor(rnd() * 4)] as string;
      const provider = ['codex', 'gemini', 'claude'][Math.floor(rnd() * 3)] as string;
      // Migrate times out on 70 % of its calls for three minutes; the last twelve minutes are quiet
      const quiet = t >= NOW - 12 * MIN;
      const timeout = !quiet && t >= NOW - WINDOW && taskType === 'Migrate' && rnd() < 0.7;
      const noise = !quiet && rnd() < 0.1;
      w.trace({ service: 'kc', name: 'kc.task.attempt', taskType, provider, startMs: t, durationMs: 20_000, failed: timeout || noise, ...(timeout ? { errorClass: 'timeout' } : noise ? { errorClass: 'other' } : {}) });
    }
    const migrate = pp('failure_rate', { service: 'kc', operation: 'kc.task.attempt', task_type: 'Migrate' }, 'high', NOW - 13 * MIN);
    // judged over 15 minutes, first seen as the quiet stretch went on
    const base = pp('retry_exhaustion', { service: 'kc', operation: 'kc.task.attempt', provider: 'gemini' }, 'high', NOW - MIN);
    const exhaustion = { ...base, evidence: { ...base.evidence, window: '15m' } };
    const groups = w.group([migrate, exhaustion]);
    expect(groups.map((g) => g.root.id)).toEqual([migrate.id]);
    const linked = groups[0]?.symptoms.find((m) => m.point.id === exhaustion.id);
    expect(linked?.relation).toBe('consequence');
    // fewer than 80 % of its failures are Migrate's: the rest is noise
    expect(linked?.share).toBeLessThan(0.8);
  });

  it('caller and callee across services: the server span of the rate-limited call is the root, its retries and error cluster symptoms', () => {
    const w = new World();
    const rnd = random(3);
    for (let t = T0; t < NOW; t += 1_500) {
      const limited = t >= NOW - WINDOW && rnd() < 0.4;
      const other = rnd() < 0.5;
      const tool = other ? 'read_file' : 'web_search';
      const serverFails = !other && limited;
      w.trace({ service: 'agents', name: 'invoke_agent researcher', agent: 'researcher', startMs: t, durationMs: 900, failed: serverFails }, [
        {
          service: 'agents',
          name: 'execute_tool',
          tool,
          startMs: t + 100,
          durationMs: 600,
          failed: serverFails,
          ...(serverFails ? { errorClass: '429' } : {}),
          children: other ? [] : [{ service: 'search-api', name: 'GET /v2/search', startMs: t + 150, durationMs: 500, failed: serverFails, ...(serverFails ? { errorClass: '429' } : {}) }],
        },
      ]);
    }
    const client = pp('failure_rate', { service: 'agents', operation: 'execute_tool', tool: 'web_search' }, 'high');
    const server = pp('failure_rate', { service: 'search-api', operation: 'GET /v2/search' }, 'high');
    const agent = pp('failure_rate', { service: 'agents', operation: 'invoke_agent researcher' });
    const storm = pp('retry_storm', { service: 'agents', operation: 'execute_tool', tool: 'web_search' }, 'high');
    const cluster = pp('error_cluster', { service: 'agents', error_class: '429' });
    const groups = w.group([client, agent, storm, cluster, server]);
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.root.id).toBe(server.id);
    const relation = (p: PainPointRecord) => g.symptoms.find((s) => s.point.id === p.id)?.relation;
    expect(relation(client)).toBe('callee');
    expect(relation(agent)).toBe('callee');
    expect(relation(storm)).toBe('consequence');
    expect(relation(cluster)).toBe('consequence');
  });

  it('caller and callee: a caller that also fails on its own now and then is explained by its failing tool beyond those', () => {
    const w = new World();
    const rnd = random(13);
    for (let t = T0; t < NOW; t += 1_500) {
      const fault = t >= NOW - WINDOW;
      const toolFails = fault && rnd() < 0.35;
      // the agent gives up on its own (out of turns) in 20 % of its tasks, before and during the fault
      const ownFailure = rnd() < 0.2;
      w.trace({ service: 'agents', name: 'invoke_agent researcher', agent: 'researcher', startMs: t, durationMs: 900, failed: toolFails || ownFailure, ...(ownFailure && !toolFails ? { errorClass: 'max_turns_exceeded' } : toolFails ? { errorClass: 'tool_error' } : {}) }, [
        { service: 'agents', name: 'execute_tool', tool: 'fetch_url', startMs: t + 100, durationMs: 600, failed: toolFails, ...(toolFails ? { errorClass: '503' } : {}) },
      ]);
    }
    const tool = pp('failure_spike', { service: 'agents', operation: 'execute_tool', tool: 'fetch_url' }, 'high');
    const storm = pp('retry_storm', { service: 'agents', operation: 'invoke_agent researcher', agent: 'researcher' }, 'high');
    const caller = pp('failure_rate', { service: 'agents', operation: 'invoke_agent researcher', agent: 'researcher' });
    const groups = w.group([tool, storm, caller]);
    // about a quarter of the caller's failures are its own: of all its failures ~73 % have a failed
    // fetch_url below them; of its failures above its baseline rate, all
    expect(groups).toHaveLength(1);
    expect(groups[0]!.root.id).toBe(tool.id);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation]).sort()).toEqual([[caller.id, 'callee'], [storm.id, 'consequence']].sort());
  });

  it("a nested retry storm is the failing inner call's consequence by its amplified chains, though its caller also fails on its own", () => {
    const w = new World();
    const rnd = random(17);
    for (let t = T0; t < NOW; t += 10_000) {
      const fault = t >= NOW - WINDOW;
      // the inner call drops out in a third of the tasks during the fault; before it the agent never
      // failed, during it the agent also gives up on its own now and then (out of turns, a file
      // that stays missing): a third of its failures, which its baseline of none cannot subtract
      const toolFails = fault && rnd() < 0.35;
      const ownFailure = fault && !toolFails && rnd() < 0.25;
      w.trace({ service: 'agents', name: 'invoke_agent researcher', agent: 'researcher', startMs: t, durationMs: 9_000, failed: toolFails || ownFailure, errorClass: toolFails ? 'tool_error' : ownFailure ? 'max_turns_exceeded' : undefined }, [
        { service: 'agents', name: 'execute_tool fetch_url', tool: 'fetch_url', startMs: t + 100, durationMs: 600, failed: toolFails, ...(toolFails ? { errorClass: '503' } : {}) },
        { service: 'agents', name: 'execute_tool read_file', tool: 'read_file', startMs: t + 800, durationMs: 20 },
      ]);
    }
    const tool = pp('failure_rate', { service: 'agents', operation: 'execute_tool fetch_url', tool: 'fetch_url' }, 'high');
    const storm = pp('retry_storm', { service: 'agents', operation: 'invoke_agent researcher', agent: 'researcher' }, 'high');
    const nestedIn = (operationKey: string): PainPointRecord => ({ ...storm, evidence: { ...storm.evidence, metrics: { amplification: 9, amplified_chains: 6, nested_operations: { [operationKey]: 6 } } } });
    const nested = nestedIn('agents execute_tool fetch_url fetch_url');
    const [group] = w.group([tool, nested]);
    expect(group?.root.id).toBe(tool.id);
    expect(group?.symptoms.map((x) => [x.point.id, x.relation, x.share])).toEqual([[nested.id, 'consequence', 1]]);
    // read on the caller's failures, the storm is not the fetch_url failures': a rate storm (no nested chains)
    expect(w.group([tool, storm]).map((g) => g.root.id).sort()).toEqual([tool.id, storm.id].sort());
    // nor is the same storm nesting another operation's retries
    const other = nestedIn('agents execute_tool read_file read_file');
    expect(w.group([tool, other]).map((g) => g.root.id).sort()).toEqual([tool.id, other.id].sort());
  });

  it('a retry storm and the retry exhaustion of one series that no failure finding explains are one problem', () => {
    const w = new World();
    const rnd = random(19);
    for (let t = T0; t < NOW; t += 3_000) {
      // a few of fetch_url's calls fail every attempt during the drop-outs, too few for a failure finding
      const dropOut = t >= NOW - WINDOW && rnd() < 0.1;
      w.trace({ service: 'agents', name: 'invoke_agent researcher', agent: 'researcher', startMs: t, durationMs: 4_000 }, [
        { service: 'agents', name: 'execute_tool fetch_url', tool: 'fetch_url', startMs: t + 10, durationMs: 60, failed: dropOut, ...(dropOut ? { errorClass: '503' } : {}) },
        ...(dropOut ? [{ service: 'agents', name: 'execute_tool fetch_url', tool: 'fetch_url', startMs: t + 300, durationMs: 60, failed: true, errorClass: '503' }] : []),
      ]);
    }
    const subject = { service: 'agents', operation: 'execute_tool fetch_url', tool: 'fetch_url' };
    const storm = pp('retry_storm', subject, 'high');
    const exhaustion = pp('retry_exhaustion', subject, 'medium');
    const groups = w.group([exhaustion, storm]);
    expect(groups.map((g) => g.root.id)).toEqual([storm.id]);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[exhaustion.id, 'view']]);
    // on two series they stay two
    const other = pp('retry_exhaustion', { service: 'agents', operation: 'invoke_agent researcher', agent: 'researcher' }, 'medium');
    expect(w.group([other, storm]).map((g) => g.root.id).sort()).toEqual([storm.id, other.id].sort());
  });

  it('two independent faults stay two problems: a failing tool under one agent, a slow model under another', () => {
    const w = new World();
    const rnd = random(4);
    for (let t = T0; t < NOW; t += 1_000) {
      const late = t >= NOW - WINDOW;
      if (rnd() < 0.5) {
        const fails = late && rnd() < 0.35;
        w.trace({ service: 'a', name: 'invoke_agent scraper', agent: 'scraper', startMs: t, durationMs: 1_500 + rnd() * 500, failed: fails }, [
          { service: 'a', name: 'execute_tool', tool: 'fetch', agent: 'scraper', startMs: t + 50, durationMs: 800 + rnd() * 400, failed: fails },
        ]);
      } else {
        // the model call is most of the agent's time; it becomes 6× slower
        const model = 1_000 * (0.6 + rnd() * 0.8) * (late ? 6 : 1);
        w.trace({ service: 'a', name: 'invoke_agent writer', agent: 'writer', startMs: t, durationMs: model + 300, failed: false }, [
          { service: 'a', name: 'chat', model: 'gpt-slow', agent: 'writer', startMs: t + 100, durationMs: model },
          { service: 'a', name: 'execute_tool', tool: 'save', agent: 'writer', startMs: t + 150 + model, durationMs: 100 },
        ]);
      }
    }
    const tool = pp('failure_rate', { service: 'a', operation: 'execute_tool', tool: 'fetch' }, 'high');
    const toolByAgent = pp('failure_rate', { service: 'a', operation: 'execute_tool', agent: 'scraper' });
    const scraper = pp('failure_rate', { service: 'a', operation: 'invoke_agent scraper' });
    const model = pp('latency_regression', { service: 'a', operation: 'chat', model: 'gpt-slow' }, 'high');
    const writer = pp('latency_regression', { service: 'a', operation: 'invoke_agent writer' });
    const groups = w.group([scraper, writer, toolByAgent, model, tool]);
    expect(groups).toHaveLength(2);
    expect(rootOf(groups, scraper)?.id).toBe(tool.id);
    expect(rootOf(groups, toolByAgent)?.id).toBe(tool.id);
    expect(rootOf(groups, writer)?.id).toBe(model.id);
  });

  it('an error shared by several tools is its own root; one failing tool keeps the error cluster as its symptom', () => {
    const w = new World();
    const rnd = random(5);
    for (let t = T0; t < NOW; t += 1_000) {
      const tool = ['db_read', 'db_write', 'db_scan', 'http_get'][Math.floor(rnd() * 4)] as string;
      const fails = tool !== 'http_get' && t >= NOW - WINDOW && rnd() < 0.3;
      w.trace({ service: 'a', name: 'execute_tool', tool, startMs: t, durationMs: 100 + rnd() * 300, failed: fails, ...(fails ? { errorClass: 'ECONNREFUSED' } : {}) });
    }
    const tools = ['db_read', 'db_write', 'db_scan'].map((tool) => pp('failure_rate', { service: 'a', operation: 'execute_tool', tool }));
    const cluster = pp('error_cluster', { service: 'a', error_class: 'ECONNREFUSED' });
    const groups = w.group([...tools, cluster]);
    expect(groups.map((g) => g.root.id)).toEqual([cluster.id]);
    expect(groups[0]!.symptoms.map((s) => s.point.id).sort()).toEqual(tools.map((t) => t.id).sort());

    // with one failing tool (the others healthy) the cluster is that tool's consequence
    const one = new World();
    for (let t = T0; t < NOW; t += 1_000) {
      const tool = ['db_read', 'db_write', 'db_scan', 'http_get'][Math.floor(rnd() * 4)] as string;
      const fails = tool === 'db_read' && t >= NOW - WINDOW && rnd() < 0.5;
      one.trace({ service: 'a', name: 'execute_tool', tool, startMs: t, durationMs: 100 + rnd() * 300, failed: fails, ...(fails ? { errorClass: 'ECONNREFUSED' } : {}) });
    }
    const single = one.group([tools[0]!, cluster]);
    expect(single.map((g) => g.root.id)).toEqual([tools[0]!.id]);
    expect(single[0]!.symptoms.map((s) => [s.point.id, s.relation])).toEqual([[cluster.id, 'consequence']]);
  });

  /** write_file, run_tests and open_pull_request fail 30 % with EROFS late; open_pull_request always answers 422 to 15 % of calls; `spread` fails every tool late with ETIMEDOUT */
  function sharedErrorWorld(seed: number, spread: number): World {
    const w = new World();
    const rnd = random(seed);
    for (let t = T0; t < NOW; t += 700) {
      const tool = ['write_file', 'run_tests', 'open_pull_request', 'read_file'][Math.floor(rnd() * 4)] as string;
      const late = t >= NOW - WINDOW;
      const cls =
        late && tool !== 'read_file' && rnd() < 0.3 ? 'EROFS' : late && rnd() < spread ? 'ETIMEDOUT' : tool === 'open_pull_request' && rnd() < 0.15 ? '422' : undefined;
      w.trace({ service: 'a', name: 'execute_tool', tool, startMs: t, durationMs: 100 + rnd() * 300, failed: cls !== undefined, ...(cls !== undefined ? { errorClass: cls } : {}) });
    }
    return w;
  }
  const erofs = pp('error_cluster', { service: 'a', error_class: 'EROFS' });
  const pullRequest = pp('failure_spike', { service: 'a', operation: 'execute_tool', tool: 'open_pull_request' }, 'high');

  it("an error cluster adopts a failure view whose failures outside it are the view's own background", () => {
    const groups = sharedErrorWorld(71, 0).group([pullRequest, erofs]);
    expect(groups.map((g) => g.root.id)).toEqual([erofs.id]);
    // the 422s keep the cluster's share of its failures under the line: the noise rule links it
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[pullRequest.id, 'view']]);
    expect(groups[0]!.symptoms[0]!.share).toBeLessThan(0.8);
  });

  it('an error cluster does not adopt a failure view that also carries another fault spread over the whole operation', () => {
    const groups = sharedErrorWorld(72, 0.15).group([pullRequest, erofs]);
    expect(rootOf(groups, pullRequest)?.id).toBe(pullRequest.id);
  });

  it('behaviours are roots of their own: the failures on their own spans are their symptoms, and they contribute to the problem they aggravate', () => {
    const w = new World();
    const rnd = random(6);
    for (let t = T0; t < NOW; t += 1_000) {
      const late = t >= NOW - WINDOW;
      const agent = rnd() < 0.5 ? 'a' : 'b';
      w.trace({ service: 's', name: 'execute_tool', tool: 'web_search', agent, startMs: t, durationMs: 200, failed: late && rnd() < 0.4 });
      w.trace({ service: 's', name: 'execute_tool', tool: 'read_file', agent, startMs: t + 10, durationMs: 20, failed: late && agent === 'a' && rnd() < 0.2 });
    }
    const failing = pp('failure_rate', { service: 's', operation: 'execute_tool', tool: 'web_search' }, 'high');
    const storm = pp('retry_storm', { service: 's', operation: 'execute_tool', tool: 'web_search' }, 'high');
    // agent a retries every failed call at once: most of its failed calls are web_search's
    const agentNoBackoff = pp('retry_no_backoff', { service: 's', operation: 'execute_tool', agent: 'a' });
    const groups = w.group([failing, agentNoBackoff, storm]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([failing.id, agentNoBackoff.id].sort());
    const failure = groups.find((g) => g.root.id === failing.id)!;
    expect(failure.symptoms.map((s) => s.point.id)).toEqual([storm.id]);
    expect(failure.contributing.map((c) => c.id)).toEqual([agentNoBackoff.id]);
    // the same behaviour on the failing tool's own spans: its failures and its storm are the behaviour's
    const toolNoBackoff = pp('retry_no_backoff', { service: 's', operation: 'execute_tool', tool: 'web_search' });
    const own = w.group([failing, toolNoBackoff, storm]);
    expect(own.map((g) => g.root.id)).toEqual([toolNoBackoff.id]);
    expect(own[0]!.symptoms.map((s) => [s.point.id, s.relation]).sort()).toEqual([[failing.id, 'behaviour'], [storm.id, 'consequence']].sort());
    // without a failure pain point, the storm is the behaviour's own consequence
    const alone = w.group([toolNoBackoff, storm]);
    expect(alone.map((g) => g.root.id)).toEqual([toolNoBackoff.id]);
    expect(alone[0]!.symptoms[0]!.relation).toBe('behaviour');
  });

  it('N+1 calls seen as a sequential fan-out are the N+1: the repeated calls are the root', () => {
    const w = new World();
    const rnd = random(31);
    for (let t = T0; t < NOW; t += 3_000) w.trace({ service: 'orch', name: 'invoke_agent reviewer', agent: 'reviewer', startMs: t, durationMs: 2_000 + rnd() * 1_000 });
    const withMetrics = (p: PainPointRecord, metrics: Record<string, unknown>): PainPointRecord => ({ ...p, evidence: { ...p.evidence, metrics } as PainPointRecord['evidence'] });
    const occurrences = { calls: 52, occurrences: 3, traces: 3, affected_traces: 3, share: 0.35, sequential_ms: 2_800, saving_ms: 1_800, wasted_ms: 5_400 };
    const repeated = withMetrics(pp('repeated_calls', { service: 'orch', operation: 'execute_tool get_comment', tool: 'get_comment' }), { ...occurrences, calls_per_parent: 17, max_calls_per_parent: 22, parent_operation: 'invoke_agent reviewer reviewer', parents: { 'invoke_agent reviewer reviewer': 3 } });
    const fanoutOf = (tools: Record<string, number>) => withMetrics(pp('sequential_fanout', { service: 'orch', operation: 'invoke_agent reviewer', agent: 'reviewer' }), { ...occurrences, sequence_length: 17, max_sequence_length: 22, tools });
    // its sequences are the get_comment loop, with a few other tools run one by one as usual
    const fanout = fanoutOf({ get_comment: 49, read_file: 1, grep: 1, run_tests: 1 });
    const one = w.group([fanout, repeated]);
    expect(one).toHaveLength(1);
    expect(one[0]!.root.id).toBe(repeated.id);
    expect(one[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[fanout.id, 'view']]);
    // sequences mostly of other tools are a fan-out of their own
    const mixed = fanoutOf({ get_comment: 5, read_file: 12, grep: 10 });
    expect(w.group([mixed, repeated]).map((g) => g.root.id).sort()).toEqual([mixed.id, repeated.id].sort());
    // the same tool repeated under another parent does not explain this parent's sequences
    const elsewhere = withMetrics(repeated, { ...repeated.evidence.metrics, parent_operation: 'invoke_agent coder coder', parents: { 'invoke_agent coder coder': 3 } });
    expect(w.group([fanout, elsewhere])).toHaveLength(2);
  });

  /**
   * The coder and the planner call one model; the coder's calls carry `factor(t)` × the tokens from
   * the fault on, and take longer for it; `slower(t)` makes every call of the model slower.
   */
  function tokenWorld(seed: number, factor: (t: number) => number, slower: (t: number) => number = () => 1): World {
    const w = new World();
    const rnd = random(seed);
    for (let t = T0; t < NOW; t += 2_000) {
      const agent = rnd() < 0.5 ? 'coder' : 'planner';
      const tokens = Math.round((2_000 + rnd() * 2_000) * (agent === 'coder' ? factor(t) : 1));
      const ms = (600 + rnd() * 600) * (1 + tokens / 10_000) * slower(t);
      w.trace({ service: 'orch', name: `invoke_agent ${agent}`, agent, startMs: t, durationMs: ms + 50, inputTokens: tokens }, [
        { service: 'orch', name: 'chat m', model: 'm', provider: 'p', startMs: t + 10, durationMs: ms, inputTokens: tokens },
      ]);
    }
    return w;
  }
  const agentTokens = pp('anomaly', { service: 'orch', operation: 'invoke_agent coder', agent: 'coder' }, 'medium', NOW - 5 * MIN, { metric: 'tokens_per_call' });
  const modelTokens = pp('anomaly', { service: 'orch', operation: 'chat m', model: 'm' }, 'medium', NOW - 5 * MIN, { metric: 'tokens_per_call' });
  const modelLatency = pp('latency_regression', { service: 'orch', operation: 'chat m', model: 'm' });

  it('an agent sending more tokens is the root of its model\'s token anomaly and of the latency the tokens cost', () => {
    const w = tokenWorld(41, (t) => (t >= NOW - WINDOW ? 8 : 1));
    const groups = w.group([modelLatency, modelTokens, agentTokens]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.root.id).toBe(agentTokens.id);
    // the model's token anomaly is on the latency regression's subject (its consequence), the
    // regression the agent's
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation]).sort()).toEqual([[modelLatency.id, 'consequence'], [modelTokens.id, 'consequence']].sort());
  });

  it("links the latency the tokens cost to the agent though many of its tasks' model calls are below no agent span yet (running, or a fragment)", () => {
    const w = new World();
    const rnd = random(47);
    for (let t = T0; t < NOW; t += 2_000) {
      const agent = rnd() < 0.5 ? 'coder' : 'planner';
      const fault = t >= NOW - WINDOW && agent === 'coder';
      const tokens = Math.round((2_000 + rnd() * 2_000) * (fault ? 8 : 1));
      const ms = (600 + rnd() * 600) * (1 + tokens / 10_000);
      const chat: SpanInit = { service: 'orch', name: 'chat m', model: 'm', provider: 'p', startMs: t + 10, durationMs: ms, inputTokens: tokens };
      // the coder's tasks now take long: a third of them are still running, or outlived the
      // assembler's wait and came as fragments without their invoke_agent span
      const r = rnd();
      if (fault && r < 0.35) w.orphan(chat, r < 0.15 ? 'running' : 'fragment');
      else w.trace({ service: 'orch', name: `invoke_agent ${agent}`, agent, startMs: t, durationMs: ms + 50, inputTokens: tokens }, [chat]);
    }
    const groups = w.group([modelLatency, agentTokens]);
    expect(groups.map((g) => g.root.id)).toEqual([agentTokens.id]);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[modelLatency.id, 'consequence']]);
  });

  it('a model\'s token anomaly alone is a view of the agent whose calls carry the added tokens', () => {
    const w = tokenWorld(43, (t) => (t >= NOW - WINDOW ? 8 : 1));
    const groups = w.group([modelTokens, agentTokens]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.root.id).toBe(agentTokens.id);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[modelTokens.id, 'view']]);
  });

  it('a model that became slower with the same tokens is not explained by an agent\'s token growth', () => {
    // the coder's tokens grow 1.5 ×, the model's calls get 4 × slower for everyone
    const w = tokenWorld(42, (t) => (t >= NOW - WINDOW ? 1.5 : 1), (t) => (t >= NOW - WINDOW ? 4 : 1));
    const groups = w.group([modelLatency, agentTokens]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([modelLatency.id, agentTokens.id].sort());
  });

  /**
   * Agents calling claude-a (anthropic) or gpt-x (openai), one chat call per invocation. From
   * OUTAGE anthropic fails `outage` of its calls; a failed claude-a call is followed, under the same
   * agent span, by a gpt-x call in its place when `fallback` (else the task fails). `ownRise` more
   * invocations a minute call gpt-x directly from `riseFrom` (traffic of its own). Background
   * noise everywhere: the odd timeout, and anthropic's odd 529 with its fallback. Returns the world
   * and gpt-x's call-rate anomaly as the detector would judge the last minute against the minutes
   * before it (value, median, calls above the median).
   */
  function fallbackWorld(seed: number, o: { outage: number; fallback: boolean; ownRise?: number; riseFrom?: number }): { w: World; anomaly: PainPointRecord } {
    const w = new World();
    const rnd = random(seed);
    const OUTAGE = NOW - 5 * MIN;
    const perMinute = new Map<number, number>();
    const countGpt = (end: number) => perMinute.set(Math.floor(end / MIN), (perMinute.get(Math.floor(end / MIN)) ?? 0) + 1);
    const invocation = (t: number, model: 'claude-a' | 'gpt-x') => {
      const provider = model === 'gpt-x' ? 'openai' : 'anthropic';
      const ms = 800 + rnd() * 1_500;
      const overloaded = model === 'claude-a' && ((t >= OUTAGE && rnd() < o.outage) || rnd() < 0.01);
      const timeout = !overloaded && rnd() < 0.02;
      const chat: SpanInit = { service: 'orch', name: `chat ${model}`, provider, model, startMs: t + 10, durationMs: overloaded ? 300 : ms, failed: overloaded || timeout, ...(overloaded ? { errorClass: 'overloaded_error' } : timeout ? { errorClass: 'timeout' } : {}) };
      const children: SpanInit[] = [chat];
      // a background 529 falls back too; in the outage only when the orchestrator does so
      if (overloaded && (o.fallback || t < OUTAGE)) {
        const start = t + 10 + 300 + 5 + rnd() * 20;
        children.push({ service: 'orch', name: 'chat gpt-x', provider: 'openai', model: 'gpt-x', startMs: start, durationMs: ms });
        countGpt(start + ms);
      }
      if (model === 'gpt-x') countGpt(t + 10 + (overloaded ? 300 : ms));
      const end = Math.max(...children.map((c) => (c.startMs as number) + (c.durationMs as number))) + 20;
      const failed = overloaded && !(o.fallback || t < OUTAGE);
      w.trace({ service: 'orch', name: 'invoke_agent coder', agent: 'coder', startMs: t, durationMs: end - t, failed, ...(failed ? { errorClass: 'overloaded_error' } : {}) }, children);
    };
    for (let t = T0; t < NOW - 5_000; t += 3_000) invocation(t, rnd() < 0.5 ? 'claude-a' : 'gpt-x');
    if (o.ownRise !== undefined && o.riseFrom !== undefined) for (let t = o.riseFrom; t < NOW - 5_000; t += MIN / o.ownRise) invocation(t, 'gpt-x');
    const last = perMinute.get(Math.floor((NOW - MIN) / MIN)) ?? 0;
    const history = [...Array(30).keys()].map((i) => perMinute.get(Math.floor((NOW - MIN) / MIN) - 6 - i) ?? 0).sort((a, b) => a - b);
    const median = ((history[14] as number) + (history[15] as number)) / 2;
    const anomaly = pp('anomaly', { service: 'orch', operation: 'chat gpt-x', model: 'gpt-x' }, 'medium', NOW - 2 * MIN, { metric: 'call_rate', value: last, median, calls: last, excess_calls: Math.max(0, last - median) });
    return { w, anomaly: { ...anomaly, evidence: { ...anomaly.evidence, window: '1m' } } };
  }
  const outage = pp('failure_spike', { service: 'orch', operation: 'chat claude-a', provider: 'anthropic' }, 'high', NOW - 4 * MIN);

  it("a call-rate anomaly on the fallback model is a provider outage's consequence: its added calls are made in place of the failed ones", () => {
    const { w, anomaly } = fallbackWorld(51, { outage: 0.8, fallback: true });
    // the fallbacks raise gpt-x's calls by more than half
    expect(metricsOfAnomaly(anomaly).excess_calls).toBeGreaterThan(metricsOfAnomaly(anomaly).median / 2);
    const groups = w.group([anomaly, outage]);
    expect(groups.map((g) => g.root.id)).toEqual([outage.id]);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[anomaly.id, 'consequence']]);
  });

  it('a fallback model whose calls also rose for reasons of their own keeps its own problem', () => {
    // the same outage and fallbacks, and a batch job calling gpt-x 40 more times a minute from the outage on
    const { w, anomaly } = fallbackWorld(52, { outage: 0.8, fallback: true, ownRise: 40, riseFrom: NOW - 5 * MIN });
    const groups = w.group([anomaly, outage]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([outage.id, anomaly.id].sort());
  });

  it('calls to another model rising at the time of an outage that falls back to nothing are not its consequence', () => {
    const { w, anomaly } = fallbackWorld(53, { outage: 0.8, fallback: false, ownRise: 20, riseFrom: NOW - 5 * MIN });
    expect(metricsOfAnomaly(anomaly).excess_calls).toBeGreaterThan(10);
    const groups = w.group([anomaly, outage]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([outage.id, anomaly.id].sort());
  });

  /**
   * kc-like tasks (kc.task) of five task types, each with one attempt (kc.task.attempt), and a retry
   * after a failed one; a task fails when its last attempt does. `fails(taskType, t)` gives an
   * attempt's error class. Background noise: the odd timeout on any task type.
   */
  function taskWorld(seed: number, fails: (taskType: string, late: boolean, rnd: () => number) => string | undefined): World {
    const w = new World();
    const rnd = random(seed);
    const types = ['Fix', 'Add', 'Update', 'Document', 'Migrate'];
    for (let t = T0; t < NOW - 4 * MIN; t += 5_000) {
      const taskType = types[Math.floor(rnd() * types.length)] as string;
      const late = t >= NOW - WINDOW;
      const attempt = () => fails(taskType, late, rnd) ?? (rnd() < 0.01 ? 'timeout' : undefined);
      const first = attempt();
      const second = first === undefined ? undefined : attempt();
      const attempts = [first, ...(first === undefined ? [] : [second])];
      const last = attempts[attempts.length - 1];
      w.trace(
        { service: 'kc', name: 'kc.task', taskType, startMs: t, durationMs: 3.5 * MIN, failed: last !== undefined, ...(last !== undefined ? { errorClass: last } : {}) },
        attempts.map((cls, i) => ({ service: 'kc', name: 'kc.task.attempt', taskType, startMs: t + i * 1.5 * MIN + 1_000, durationMs: 1.5 * MIN - 2_000, failed: cls !== undefined, ...(cls !== undefined ? { errorClass: cls } : {}) })),
      );
    }
    return w;
  }
  const migrate = pp('failure_rate', { service: 'kc', operation: 'kc.task.attempt', task_type: 'Migrate' }, 'high');
  const timeouts = pp('error_cluster', { service: 'kc', error_class: 'timeout' });

  it("an error cluster on a failing task type's attempts and on the tasks they failed is that task type's consequence, with the odd timeout elsewhere", () => {
    const w = taskWorld(61, (taskType, late, rnd) => (late && taskType === 'Migrate' && rnd() < 0.6 ? 'timeout' : undefined));
    const groups = w.group([timeouts, migrate]);
    expect(groups.map((g) => g.root.id)).toEqual([migrate.id]);
    expect(groups[0]!.symptoms.map((x) => [x.point.id, x.relation])).toEqual([[timeouts.id, 'consequence']]);
  });

  it('an error cluster of timeouts on other task types is no consequence of a task type failing with another error', () => {
    const w = taskWorld(62, (taskType, late, rnd) => (late && taskType === 'Migrate' && rnd() < 0.6 ? 'validation' : late && taskType !== 'Migrate' && rnd() < 0.3 ? 'timeout' : undefined));
    const groups = w.group([timeouts, migrate]);
    expect(groups.map((g) => g.root.id).sort()).toEqual([migrate.id, timeouts.id].sort());
  });

  it('keeps a link a pain point had while its share stays within the band below the line', () => {
    const w = new World();
    const rnd = random(7);
    for (let t = T0; t < NOW; t += 500) {
      // x fails for every agent; agent a also calls y, which fails a little: about three in four
      // of agent a's failures are on x (a share just under the 0.8 line)
      const agentName = rnd() < 0.5 ? 'a' : 'b';
      const tool = agentName === 'a' && rnd() < 0.5 ? 'y' : 'x';
      const late = t >= NOW - WINDOW;
      const fails = late && (tool === 'x' ? rnd() < 0.4 : rnd() < 0.13);
      w.trace({ service: 's', name: 'execute_tool', tool, agent: agentName, startMs: t, durationMs: 100, failed: fails });
    }
    const x = pp('failure_rate', { service: 's', operation: 'execute_tool', tool: 'x' }, 'high');
    const agent = pp('failure_rate', { service: 's', operation: 'execute_tool', agent: 'a' });
    expect(w.group([x, agent]).map((g) => g.root.id).sort()).toEqual([x.id, agent.id].sort());
    const held = w.group([x, agent], new Map([[agent.id, x.id], [x.id, x.id]]));
    expect(held.map((g) => g.root.id)).toEqual([x.id]);
  });
});

describe('problem state', () => {
  const records = (ps: readonly PainPointRecord[]) => new Map(ps.map((p) => [p.id, p]));
  const a = pp('failure_rate', { service: 's', operation: 'execute_tool', tool: 'x' }, 'medium', NOW - 10 * MIN);
  const b = pp('failure_rate', { service: 's', operation: 'invoke_agent y' }, 'high', NOW - 5 * MIN);
  const c = pp('failure_rate', { service: 'deep', operation: 'GET /x' }, 'high', NOW - 4 * MIN);
  const group = (root: PainPointRecord, ...symptoms: PainPointRecord[]): Group => ({ root, symptoms: symptoms.map((point) => ({ point, relation: 'callee' as const, share: 1 })), contributing: [] });

  it('keeps its id when a later pain point turns out to be the root, merges two problems that prove one, resolves once', () => {
    const t = new ProblemTracker(100);
    const all = records([a, b, c]);
    const none = new Map();
    const first = t.reconcile([group(a), group(b)], new Set([a.id, b.id]), all, none);
    expect(first.map((x) => x.problem.state)).toEqual(['open', 'open']);
    const [pa, pb] = first.map((x) => x.problem);
    // b turns out to be a's caller: a's problem keeps a; b's problem is merged into it
    const second = t.reconcile([group(a, b)], new Set([b.id]), all, none);
    expect(second.map((x) => [x.problem.id, x.problem.state, x.problem.merged_into])).toEqual([
      [pb!.id, 'merged', pa!.id],
      [pa!.id, 'updated', undefined],
    ]);
    expect(second[1]!.problem.severity).toBe('high');
    // c is deeper still: the problem keeps its id, its root is replaced
    const third = t.reconcile([group(c, a, b)], new Set([c.id]), all, none);
    expect(third).toHaveLength(1);
    expect(third[0]!.problem.id).toBe(pa!.id);
    expect(third[0]!.problem.root.id).toBe(c.id);
    expect(third[0]!.problem.state).toBe('updated');
    // nothing changed: nothing emitted
    expect(t.reconcile([group(c, a, b)], new Set(), all, none)).toEqual([]);
    // every pain point resolved: resolved once
    const fourth = t.reconcile([], new Set([a.id, b.id, c.id]), all, none);
    expect(fourth.map((x) => [x.problem.id, x.problem.state])).toEqual([[pa!.id, 'resolved']]);
    for (const x of [...first, ...second, ...third, ...fourth]) expect(problemRecordSchema.safeParse(x.problem).success).toBe(true);
    expect(t.openCount).toBe(0);
  });

  it('is high when retries end in failure on an operation on the critical path', () => {
    const exhaustion = pp('retry_exhaustion', { service: 's', operation: 'execute_tool', tool: 'x' }, 'medium');
    const t = new ProblemTracker(10);
    const off = t.reconcile([group(exhaustion)], new Set([exhaustion.id]), records([exhaustion]), new Map(), new Set(['other\u0000execute_tool']));
    expect(off[0]!.problem.severity).toBe('medium');
    const on = new ProblemTracker(10).reconcile([group(exhaustion)], new Set([exhaustion.id]), records([exhaustion]), new Map(), new Set([operationKeyOf(exhaustion.subject)]));
    expect(on[0]!.problem.severity).toBe('high');
    // a low exhaustion (too small a share of the calls to matter) is not made high by the path
    const small = pp('retry_exhaustion', { service: 's', operation: 'execute_tool', tool: 'y' }, 'low');
    const lowOn = new ProblemTracker(10).reconcile([group(small)], new Set([small.id]), records([small]), new Map(), new Set([operationKeyOf(small.subject)]));
    expect(lowOn[0]!.problem.severity).toBe('low');
  });

  it('counts new problems beyond max_open instead of tracking them', () => {
    let dropped = 0;
    const t = new ProblemTracker(1, { onDropped: () => dropped++ });
    const out = t.reconcile([group(a), group(c)], new Set([a.id, c.id]), records([a, c]), new Map());
    expect(out).toHaveLength(1);
    expect(dropped).toBe(1);
  });
});
