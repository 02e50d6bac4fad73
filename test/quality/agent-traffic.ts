/**
 * Background traffic of a multi-agent orchestrator, as OpenTelemetry GenAI spans, with the noise
 * real traffic has, and hooks through which a workload injects one fault (a Scenario).
 *
 * Each task is one trace: `invoke_agent <agent>` (task id and type, run id, the summed token
 * usage) holding the agent's turns: a model call (`chat <model>`, input tokens growing with the
 * conversation), then the tools that turn asked for (different tools, each with its call id and
 * the agent's retries), run in parallel (sometimes one after the other). web_search calls the
 * search-api service, whose server span `GET /v2/search` is the child of the tool's client span
 * (W3C trace context across the call). The coder opens a pull request at the end of its task.
 *
 * Noise, present in every workload (healthy ones have nothing else): isolated timeouts on any
 * tool, an occasional ENOENT on read_file retried once, a wide latency spread (log-normal),
 * transient 503s on 5 % of fetch_url calls and rare 429s on search-api, retried with exponential
 * backoff, a rare overloaded model call that falls back to another provider, pull requests
 * refused with 422 (not retried), and a few turns whose tools run one by one.
 */
import type { Attributes } from '@opentelemetry/api';
import { between, exponential, intBetween, logNormal, pick, rng, type Rng } from './random.js';
import { SpanKind, type WorkSpan } from './recorder.js';

export const SEARCH_SERVICE = 'search-api';

export type AgentName = 'planner' | 'coder' | 'researcher' | 'reviewer';

interface ModelProfile {
  readonly provider: string;
  readonly medianMs: number;
}

export const MODELS: Readonly<Record<string, ModelProfile>> = {
  'gpt-4o': { provider: 'openai', medianMs: 1_600 },
  'gpt-4o-mini': { provider: 'openai', medianMs: 650 },
  'claude-sonnet-4': { provider: 'anthropic', medianMs: 2_200 },
  'claude-haiku-4': { provider: 'anthropic', medianMs: 800 },
};

/** The model an agent falls back to when its provider fails a call. */
const FALLBACK_MODEL: Readonly<Record<string, string>> = { openai: 'claude-sonnet-4', anthropic: 'gpt-4o' };

interface AgentProfile {
  readonly weight: number;
  readonly taskTypes: readonly string[];
  readonly model: string;
  /** model of the final (summarizing) turn, when it differs */
  readonly finalModel?: string;
  readonly turns: readonly [number, number];
  readonly tools: readonly (readonly [string, number])[];
  /** how many tools one turn asks for, by weight */
  readonly toolsPerTurn?: readonly (readonly [number, number])[];
  /** a tool called once at the end of every task */
  readonly finalTool?: string;
}

const TOOLS_PER_TURN: readonly (readonly [number, number])[] = [[0, 0.15], [1, 0.45], [2, 0.28], [3, 0.12]];

export const AGENTS: Readonly<Record<AgentName, AgentProfile>> = {
  planner: { weight: 0.15, taskTypes: ['Plan'], model: 'gpt-4o', turns: [2, 3], tools: [['read_file', 3], ['grep', 2]] },
  coder: {
    weight: 0.3,
    taskTypes: ['Refactor', 'Fix'],
    model: 'claude-sonnet-4',
    turns: [3, 6],
    tools: [['read_file', 4], ['write_file', 3], ['grep', 2], ['run_tests', 2]],
    finalTool: 'open_pull_request',
  },
  researcher: {
    weight: 0.35,
    taskTypes: ['Research'],
    model: 'gpt-4o-mini',
    finalModel: 'gpt-4o',
    turns: [4, 6],
    tools: [['web_search', 3], ['fetch_url', 6], ['read_file', 1]],
    // a research turn searches, reads a page and looks at a local file at once
    toolsPerTurn: [[1, 0.25], [2, 0.45], [3, 0.3]],
  },
  reviewer: { weight: 0.2, taskTypes: ['Review'], model: 'claude-haiku-4', turns: [2, 4], tools: [['read_file', 3], ['grep', 2], ['run_tests', 1], ['get_comment', 1]] },
};

interface ToolProfile {
  readonly medianMs: number;
  readonly sigma: number;
}

const TOOLS: Readonly<Record<string, ToolProfile>> = {
  read_file: { medianMs: 15, sigma: 0.9 },
  write_file: { medianMs: 30, sigma: 0.6 },
  grep: { medianMs: 150, sigma: 0.7 },
  run_tests: { medianMs: 4_000, sigma: 0.45 },
  web_search: { medianMs: 700, sigma: 0.4 },
  fetch_url: { medianMs: 450, sigma: 0.6 },
  open_pull_request: { medianMs: 900, sigma: 0.3 },
  get_comment: { medianMs: 110, sigma: 0.3 },
};

export interface Failure {
  /** `error.type` */
  readonly type: string;
  /** status message */
  readonly message: string;
  readonly httpStatus?: number;
}

/** One attempt of a tool call, as a scenario sees it. */
export interface ToolAttempt {
  readonly tool: string;
  readonly agent: AgentName;
  /** 1-based */
  readonly attempt: number;
  /** event time the attempt starts */
  readonly t: number;
  /** ms since the previous attempt ended (undefined on the first) */
  readonly gapMs: number | undefined;
  readonly r: Rng;
}

export interface ToolOverride {
  readonly fail?: Failure;
  readonly durationFactor?: number;
}

export interface ModelCall {
  readonly model: string;
  readonly provider: string;
  readonly agent: AgentName;
  readonly t: number;
  readonly r: Rng;
}

export interface ModelOverride {
  readonly fail?: Failure;
  readonly durationFactor?: number;
  readonly tokenFactor?: number;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  /** delay before attempt n (n ≥ 2) */
  delay(attempt: number, r: Rng): number;
}

/**
 * A fault, as hooks into the traffic. Each hook returns undefined where the background behaviour
 * applies; a workload with two faults combines two scenarios (the first that answers wins).
 */
export interface Scenario {
  tool?(a: ToolAttempt): ToolOverride | undefined;
  model?(c: ModelCall): ModelOverride | undefined;
  retryPolicy?(tool: string, agent: AgentName, t: number): RetryPolicy | undefined;
  /** a tool an agent calls over and over, one call after the other, in one of its turns (N+1) */
  loop?(agent: AgentName, t: number, r: Rng): { readonly tool: string; readonly count: number } | undefined;
  /** attempts the orchestrator makes of an agent invocation that failed (1 = none) */
  agentAttempts?(agent: AgentName, t: number): number | undefined;
  /** chance that an agent gives up (fails) when one of its tool calls failed for good (0.3 before any fault) */
  giveUp?(agent: AgentName, t: number): number | undefined;
}

export interface TrafficOptions {
  readonly seed: number;
  /** epoch ms of the first task */
  readonly start: number;
  readonly durationMs: number;
  /** mean ms between task starts */
  readonly meanGapMs: number;
  readonly scenarios?: readonly Scenario[];
  /** tasks per run id */
  readonly tasksPerRun?: number;
}

const NO_RETRY: RetryPolicy = { maxAttempts: 1, delay: () => 0 };
const jittered = (base: number, r: Rng) => base * between(r, 0.7, 1.3);

/** The agents' own retry policies before any fault. */
function backgroundPolicy(tool: string): RetryPolicy {
  switch (tool) {
    case 'read_file':
      // the agent tries the same path once more right away
      return { maxAttempts: 2, delay: (_, r) => between(r, 2, 8) };
    case 'fetch_url':
      return { maxAttempts: 4, delay: (n, r) => jittered(400 * 2 ** (n - 2), r) };
    case 'web_search':
      return { maxAttempts: 3, delay: (n, r) => jittered(1_000 * 2 ** (n - 2), r) };
    default:
      return NO_RETRY;
  }
}

const TIMEOUT: Failure = { type: 'timeout', message: 'tool call timed out after 30s' };

/** What goes wrong with a tool attempt in healthy traffic. */
function backgroundFailure(a: ToolAttempt, previous: Failure | undefined): Failure | undefined {
  const { r } = a;
  if (a.tool === 'read_file' && (previous?.type === 'ENOENT' ? r() < 0.7 : a.attempt === 1 && r() < 0.012)) {
    return { type: 'ENOENT', message: "ENOENT: no such file or directory, open '/workspace/src/legacy/util.ts'" };
  }
  // a page that answered 503 mostly answers again after a pause, rarely at once
  if (a.tool === 'fetch_url' && (previous?.httpStatus === 503 ? r() < ((a.gapMs ?? 0) >= 300 ? 0.15 : 0.85) : a.attempt === 1 && r() < 0.05)) {
    return { type: '503', message: 'HTTP 503 Service Unavailable', httpStatus: 503 };
  }
  if (a.tool === 'web_search' && (previous?.httpStatus === 429 ? r() < 0.3 : a.attempt === 1 && r() < 0.004)) {
    return { type: '429', message: 'HTTP 429 Too Many Requests', httpStatus: 429 };
  }
  if (a.tool === 'open_pull_request' && (previous?.httpStatus === 422 || (a.attempt === 1 && r() < 0.08))) {
    return { type: '422', message: 'HTTP 422 Validation Failed: pull request has no commits', httpStatus: 422 };
  }
  if (r() < 0.003) return TIMEOUT;
  return undefined;
}

/** A task's spans, built turn by turn. */
class TaskBuilder {
  readonly children: WorkSpan[] = [];
  readonly fallbacks: { time: number; from: string; to: string; reason: string }[] = [];
  inputTokens = 0;
  outputTokens = 0;
  toolFailed = false;

  constructor(
    readonly agent: AgentName,
    private readonly r: Rng,
    private readonly scenarios: readonly Scenario[],
  ) {}

  private first<T>(f: (s: Scenario) => T | undefined): T | undefined {
    for (const s of this.scenarios) {
      const v = f(s);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** One model call (and its fallback when the provider fails it); returns its end. */
  modelCall(t: number, model: string, turn: number, fallback = false): number {
    const profile = MODELS[model] as ModelProfile;
    const r = this.r;
    const o = this.first((s) => s.model?.({ model, provider: profile.provider, agent: this.agent, t, r }));
    const input = Math.round((1_200 + 900 * turn) * between(r, 0.85, 1.15) * (o?.tokenFactor ?? 1));
    const output = Math.round(between(r, 120, 450));
    const background = r() < 0.004 ? { type: 'overloaded_error', message: 'Overloaded', httpStatus: 529 } : undefined;
    const fail = o?.fail ?? background;
    const duration = fail ? between(r, 200, 900) : logNormal(r, profile.medianMs * (1 + input / 30_000), 0.3) * (o?.durationFactor ?? 1);
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': model,
      'gen_ai.provider.name': profile.provider,
      'gen_ai.usage.input_tokens': input,
      ...(fail ? { 'error.type': fail.type, 'http.response.status_code': fail.httpStatus ?? 500 } : { 'gen_ai.usage.output_tokens': output }),
    };
    const end = t + duration;
    this.children.push({ name: `chat ${model}`, kind: SpanKind.CLIENT, start: t, end, attributes, ...(fail ? { error: fail.message } : {}) });
    this.inputTokens += input;
    if (!fail || fallback) {
      if (!fail) this.outputTokens += output;
      return end;
    }
    const backup = FALLBACK_MODEL[profile.provider] as string;
    this.fallbacks.push({ time: end, from: profile.provider, to: (MODELS[backup] as ModelProfile).provider, reason: fail.type });
    return this.modelCall(end + between(r, 5, 30), backup, turn, true);
  }

  /** One tool call with the agent's retries; returns its end. */
  toolCall(t: number, tool: string): number {
    const r = this.r;
    const policy = this.first((s) => s.retryPolicy?.(tool, this.agent, t)) ?? backgroundPolicy(tool);
    let start = t;
    let previous: Failure | undefined;
    let gapMs: number | undefined;
    let end = t;
    // the agent framework retries the same call, so its attempts share the call id
    const callId = `call_${Math.floor(r() * 2 ** 48).toString(16).padStart(12, '0')}`;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      const a: ToolAttempt = { tool, agent: this.agent, attempt, t: start, gapMs, r };
      const o = this.first((s) => s.tool?.(a));
      const fail = o?.fail ?? backgroundFailure(a, previous);
      const profile = TOOLS[tool] as ToolProfile;
      let duration = logNormal(r, profile.medianMs, profile.sigma) * (o?.durationFactor ?? 1);
      if (fail === TIMEOUT) duration = Math.max(duration * 3, 1_000);
      else if (fail?.httpStatus !== undefined) duration = Math.min(duration, between(r, 40, 200));
      end = start + duration;
      this.children.push(this.toolSpan(tool, callId, start, end, fail));
      if (fail === undefined) return end;
      previous = fail;
      if (attempt === policy.maxAttempts) break;
      gapMs = policy.delay(attempt + 1, r);
      start = end + gapMs;
    }
    this.toolFailed = true;
    return end;
  }

  private toolSpan(tool: string, callId: string, start: number, end: number, fail: Failure | undefined): WorkSpan {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.tool.call.id': callId,
      ...(fail ? { 'error.type': fail.type } : {}),
      ...(fail?.httpStatus !== undefined ? { 'http.response.status_code': fail.httpStatus } : {}),
    };
    if (tool !== 'web_search') return { name: `execute_tool ${tool}`, start, end, attributes, ...(fail ? { error: fail.message } : {}) };
    // the upstream call: the server span of search-api, inside the client span
    const status = fail?.httpStatus ?? (fail ? 504 : 200);
    const server: WorkSpan = {
      name: 'GET /v2/search',
      service: SEARCH_SERVICE,
      kind: SpanKind.SERVER,
      start: start + 8,
      end: Math.max(start + 9, end - 6),
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/v2/search',
        'http.response.status_code': status,
        ...(status >= 400 ? { 'error.type': String(status) } : {}),
      },
      ...(status >= 500 ? { error: `HTTP ${status}` } : {}),
    };
    return { name: 'execute_tool web_search', kind: SpanKind.CLIENT, start, end, attributes, ...(fail ? { error: fail.message } : {}), children: [server] };
  }

  /** The tools one turn asked for: in parallel, sometimes one after the other; returns when the last ends. */
  toolsOfTurn(t: number, tools: readonly string[]): number {
    const r = this.r;
    if (tools.length === 0) return t;
    const sequential = tools.length > 1 && r() < 0.12;
    let end = t;
    let at = t;
    for (const tool of tools) {
      const e = this.toolCall(sequential ? at : t + between(r, 0, 4), tool);
      end = Math.max(end, e);
      at = e + between(r, 2, 8);
    }
    return end;
  }

  /** `count` calls of one tool, each after the previous (an N+1 loop). */
  loopCalls(t: number, tool: string, count: number): number {
    let at = t;
    for (let i = 0; i < count; i++) at = this.toolCall(at, tool) + between(this.r, 2, 6);
    return at;
  }
}

/**
 * `k` different tools drawn by weight. One turn never calls a tool twice at once: a parallel call
 * of the same operation would break its retry chain (docs/input.md: an overlapping sibling is not a retry).
 */
function pickDistinct(r: Rng, tools: readonly (readonly [string, number])[], k: number): string[] {
  const pool = [...tools];
  const out: string[] = [];
  while (out.length < k && pool.length > 0) {
    const tool = pick(r, pool);
    out.push(tool);
    pool.splice(pool.findIndex(([t]) => t === tool), 1);
  }
  return out;
}

interface AgentInvocation {
  readonly span: WorkSpan;
  readonly failed: boolean;
}

function invokeAgent(agent: AgentName, start: number, common: Attributes, r: Rng, scenarios: readonly Scenario[], attempt: number | undefined): AgentInvocation {
  const profile = AGENTS[agent];
  const b = new TaskBuilder(agent, r, scenarios);
  const turns = intBetween(r, profile.turns[0], profile.turns[1]);
  let t = start + between(r, 2, 10);
  for (let turn = 0; turn < turns; turn++) {
    const last = turn === turns - 1;
    t = b.modelCall(t, last ? (profile.finalModel ?? profile.model) : profile.model, turn) + between(r, 2, 10);
    if (last) break;
    const tools = pickDistinct(r, profile.tools, pick(r, profile.toolsPerTurn ?? TOOLS_PER_TURN));
    t = b.toolsOfTurn(t, tools) + between(r, 5, 20);
    if (turn === 0) {
      for (const s of scenarios) {
        const loop = s.loop?.(agent, t, r);
        if (loop) {
          t = b.loopCalls(t, loop.tool, loop.count) + between(r, 5, 20);
          break;
        }
      }
    }
  }
  if (profile.finalTool !== undefined) t = b.toolCall(t, profile.finalTool) + between(r, 2, 10);
  const giveUp = scenarios.map((s) => s.giveUp?.(agent, start)).find((p) => p !== undefined) ?? 0.3;
  const failed = (b.toolFailed && r() < giveUp) || r() < 0.008;
  const end = t + between(r, 2, 10);
  const attributes: Attributes = {
    ...common,
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': agent,
    'gen_ai.usage.input_tokens': b.inputTokens,
    'gen_ai.usage.output_tokens': b.outputTokens,
    ...(attempt !== undefined ? { 'retry.attempt': attempt } : {}),
    ...(failed ? { 'error.type': b.toolFailed ? 'tool_error' : 'max_turns_exceeded' } : {}),
  };
  return {
    failed,
    span: {
      name: `invoke_agent ${agent}`,
      start,
      end,
      attributes,
      ...(failed ? { error: b.toolFailed ? 'the agent gave up after a tool failed' : 'max turns exceeded' } : {}),
      events: b.fallbacks.map((f) => ({ name: 'provider_fallback', time: f.time, attributes: { from: f.from, to: f.to, reason: f.reason } })),
      children: b.children,
    },
  };
}

/** The workload's traces, one per task, in start order. */
export function agentTraffic(o: TrafficOptions): WorkSpan[] {
  const r = rng(o.seed);
  const scenarios = o.scenarios ?? [];
  const perRun = o.tasksPerRun ?? 15;
  const out: WorkSpan[] = [];
  let t = o.start;
  for (let task = 0; t < o.start + o.durationMs; task++) {
    const agent = pick(r, (Object.keys(AGENTS) as AgentName[]).map((a) => [a, AGENTS[a].weight] as const));
    const taskType = pick(r, AGENTS[agent].taskTypes.map((x) => [x, 1] as const));
    const common: Attributes = { 'kc.run.id': `run-${Math.floor(task / perRun) + 1}`, 'kc.task.id': `task-${task + 1}`, 'kc.task.type': taskType };
    const attempts = scenarios.map((s) => s.agentAttempts?.(agent, t)).find((n) => n !== undefined) ?? 1;
    if (attempts <= 1) out.push(invokeAgent(agent, t, common, r, scenarios, undefined).span);
    else {
      // the orchestrator runs the task and tries a failed agent invocation again
      const children: WorkSpan[] = [];
      let at = t + between(r, 1, 5);
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const inv = invokeAgent(agent, at, common, r, scenarios, attempt);
        children.push(inv.span);
        at = inv.span.end + between(r, 500, 1_500);
        if (!inv.failed) break;
      }
      const last = children[children.length - 1] as WorkSpan;
      const failed = last.error !== undefined;
      out.push({ name: 'kc.task', start: t, end: last.end + between(r, 1, 5), attributes: { ...common, ...(failed ? { 'error.type': 'tool_error' } : {}) }, ...(failed ? { error: 'task failed after every attempt' } : {}), children });
    }
    t += exponential(r, o.meanGapMs);
  }
  return out;
}
