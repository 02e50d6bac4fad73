/**
 * The fault-injection workload suite (issue 12): single-fault workloads, each one injected fault
 * over the realistic background traffic of agent-traffic.ts (OTLP: OpenTelemetry SDK spans) or
 * kc-traffic.ts (kc run files); two-fault workloads with two independent faults at once; and
 * healthy workloads with nothing but the background's noise. Each fault declares what the root of
 * its problem must name (docs/quality.md): a tool, model, provider, task type, agent, error class or
 * behaviour kind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpanRecord } from '../../src/model/span.js';
import type { PainPointKind, Subject } from '../../src/model/painpoint.js';
import { readInputs } from '../../src/analyze/inputs.js';
import { agentTraffic, SEARCH_SERVICE, type Scenario } from './agent-traffic.js';
import { kcRuns, writeKcRuns, type KcFault, type KcRunFile } from './kc-traffic.js';
import { recordWorkload } from './recorder.js';
import { between, intBetween, rng } from './random.js';

export type SubjectField = keyof Subject;

/** A root that names a fault: its kind is one of `kinds` (any when absent) and its subject carries these values. */
export interface RootPattern {
  readonly kinds?: readonly PainPointKind[];
  /** compared case-insensitively (kc spells one provider `claude` and `Claude`) */
  readonly subject: Readonly<Partial<Record<SubjectField, string>>>;
}

export interface Fault {
  /** what was injected, for the table */
  readonly label: string;
  /** event time (epoch ms) the fault starts */
  readonly start: number;
  /** the root of its problem must match one of these */
  readonly roots: readonly RootPattern[];
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly kind: 'single' | 'double' | 'healthy';
  readonly source: 'otlp' | 'kc';
  /** one per injected fault; none on healthy workloads */
  readonly faults: readonly Fault[];
  /** the workload's span records (made once, then cached) */
  spans(): Promise<readonly SpanRecord[]>;
}

/** What a problem's root (or a pain point) is, as far as matching goes. */
export interface Named {
  readonly kind: PainPointKind;
  readonly subject: Subject;
}

export function namesRoot(pattern: RootPattern, root: Named): boolean {
  if (pattern.kinds !== undefined && !pattern.kinds.includes(root.kind)) return false;
  return Object.entries(pattern.subject).every(([field, value]) => root.subject[field as SubjectField]?.toLowerCase() === value.toLowerCase());
}

export function patternLabel(p: RootPattern): string {
  const subject = Object.entries(p.subject).map(([k, v]) => `${k}=${v}`);
  return [...(p.kinds === undefined ? [] : [p.kinds.join('|')]), ...subject].join(' ');
}

// --- event time ----------------------------------------------------------------------------------

/**
 * OTLP workloads: 16 minutes of traffic, the fault starting after 10 (the anomaly detector needs 10
 * one-minute windows of history, latency regressions a 15-minute baseline mostly from before).
 */
export const OTLP_START = Date.parse('2026-11-20T10:00:00.000Z');
export const OTLP_DURATION = 16 * 60_000;
export const FAULT = OTLP_START + 10 * 60_000;
/** the second fault of a two-fault workload starts a little later, as independent faults do */
export const SECOND_FAULT = FAULT + 45_000;
/** 20 tasks a minute across the four agents */
const MEAN_GAP = 3_000;
/**
 * SIDELIGHT_QUALITY_SEED=N shifts every workload's seed by N: the same faults over other traffic,
 * to check that a detector change holds beyond the traffic it was tuned on (docs/quality.md).
 */
const SEED_OFFSET = Number(process.env['SIDELIGHT_QUALITY_SEED'] ?? 0) || 0;

const from = (start: number) => (t: number) => t >= start;

function memo(make: () => Promise<readonly SpanRecord[]>): () => Promise<readonly SpanRecord[]> {
  let made: Promise<readonly SpanRecord[]> | undefined;
  return () => (made ??= make());
}

function otlp(seed: number, scenarios: readonly Scenario[]): () => Promise<readonly SpanRecord[]> {
  return memo(async () => recordWorkload(agentTraffic({ seed: seed + SEED_OFFSET, start: OTLP_START, durationMs: OTLP_DURATION, meanGapMs: MEAN_GAP, scenarios })));
}

// --- the faults (OTLP) ---------------------------------------------------------------------------

function failingTool(start: number): Scenario {
  const on = from(start);
  return {
    tool: (a) =>
      a.tool === 'run_tests' && on(a.t) && a.r() < 0.4 ? { fail: { type: 'ToolExecutionError', message: 'test runner crashed: exit code 137 (out of memory)' } } : undefined,
  };
}

function upstreamRateLimit(start: number): Scenario {
  const on = from(start);
  return { tool: (a) => (a.tool === 'web_search' && on(a.t) && a.r() < 0.45 ? { fail: { type: '429', message: 'HTTP 429 Too Many Requests', httpStatus: 429 } } : undefined) };
}

function slowModel(model: string, start: number): Scenario {
  const on = from(start);
  return { model: (c) => (c.model === model && on(c.t) ? { durationFactor: 6 } : undefined) };
}

export const OUTAGE_END = FAULT + 5 * 60_000;
const providerOutage: Scenario = {
  model: (c) =>
    c.provider === 'anthropic' && c.t >= FAULT && c.t < OUTAGE_END ? { fail: { type: 'overloaded_error', message: 'Overloaded', httpStatus: 529 } } : undefined,
};

/** A retry wrapper that retries fetch_url at once, up to 5 attempts, after the 503s the web answers now and then. */
const retriesWithoutBackoff: Scenario = {
  retryPolicy: (tool, _agent, t) => (tool === 'fetch_url' && t >= FAULT ? { maxAttempts: 5, delay: (_n, r) => between(r, 1, 5) } : undefined),
};

/** open_pull_request is now retried 3 times (with backoff) after any error, 422 Validation Failed included. */
const retriesAfterNonRetryable: Scenario = {
  retryPolicy: (tool, _agent, t) =>
    tool === 'open_pull_request' && t >= FAULT ? { maxAttempts: 4, delay: (n, r) => 1_000 * 2 ** (n - 2) * between(r, 0.7, 1.3) } : undefined,
};

/** fetch_url's upstream drops out for a few seconds every minute or so: the trigger the two retry layers multiply. */
function blips(seed: number): (t: number) => boolean {
  const r = rng(seed + SEED_OFFSET);
  const windows: [number, number][] = [];
  for (let t = FAULT + between(r, 0, 20_000); t < OTLP_START + OTLP_DURATION; t += between(r, 45_000, 90_000)) windows.push([t, t + between(r, 6_000, 10_000)]);
  return (t) => windows.some(([a, b]) => t >= a && t < b);
}

function nestedRetryAmplification(seed: number): Scenario {
  const down = blips(seed);
  const on = from(FAULT);
  return {
    agentAttempts: (agent, t) => (agent === 'researcher' && on(t) ? 3 : undefined),
    giveUp: (agent, t) => (agent === 'researcher' && on(t) ? 1 : undefined),
    retryPolicy: (tool, _agent, t) => (tool === 'fetch_url' && on(t) ? { maxAttempts: 3, delay: (n, r) => 200 * 2 ** (n - 2) * between(r, 0.8, 1.2) } : undefined),
    tool: (a) => (a.tool === 'fetch_url' && down(a.t) ? { fail: { type: '503', message: 'HTTP 503 Service Unavailable', httpStatus: 503 } } : undefined),
  };
}

function tokenBlowUp(agent: 'coder' | 'researcher', start: number): Scenario {
  const on = from(start);
  return { model: (c) => (c.agent === agent && on(c.t) ? { tokenFactor: 8, durationFactor: 1.3 } : undefined) };
}

const nPlusOne: Scenario = { loop: (agent, t, r) => (agent === 'reviewer' && t >= FAULT ? { tool: 'get_comment', count: intBetween(r, 12, 25) } : undefined) };

const sharedError: Scenario = {
  tool: (a) =>
    ['write_file', 'run_tests', 'open_pull_request'].includes(a.tool) && a.t >= FAULT && a.r() < 0.3
      ? { fail: { type: 'EROFS', message: "EROFS: read-only file system, open '/workspace/.cache/build-7f3a.lock'" } }
      : undefined,
};

// --- kc run files --------------------------------------------------------------------------------

const KC_START = '2026-11-18T06:00:00.000Z';
/** index of the first run the fault hits */
const KC_FAULT_RUN = 5;
const AUTH_ERROR = '401 Unauthorized: invalid x-api-key';

/**
 * claude's API key is revoked: a task kc starts on claude fails with 401; mostly kc falls back to
 * codex or gemini (which succeed as usual), else the task fails outright.
 */
const claudeCredentials: KcFault = (task) => {
  if (task.provider !== 'claude' || task.run < KC_FAULT_RUN) return undefined;
  const r = task.r;
  if (r() < 0.3) return { success: false, error: AUTH_ERROR, retries: 0, extraMs: 0 };
  return { success: r() < 0.95, error: null, retries: 0, fallback: { to: r() < 0.5 ? 'codex' : 'gemini', reason: AUTH_ERROR }, extraMs: 0 };
};

const migrateTimeouts: KcFault = (task) =>
  task.title.startsWith('Migrate') && task.run >= KC_FAULT_RUN && task.r() < 0.6
    ? { success: false, error: 'Request timed out after 300000ms', retries: 1, extraMs: 600_000 }
    : undefined;

interface KcWorkload {
  readonly runs: readonly KcRunFile[];
  readonly faultStart: number;
  readonly spans: () => Promise<readonly SpanRecord[]>;
}

/** kc runs written as kc writes them and read back through the `analyze` input reader. */
function kc(seed: number, faults: readonly KcFault[]): KcWorkload {
  const made = kcRuns({ seed: seed + SEED_OFFSET, runs: 12, tasksPerRun: 25, start: KC_START, pauseMs: 20 * 60_000, faults });
  return {
    runs: made.runs,
    faultStart: made.runStarts[KC_FAULT_RUN] as number,
    spans: memo(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'sidelight-quality-'));
      try {
        return (await readInputs([await writeKcRuns(dir, made.runs)])).spans;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  };
}

// --- expectations ----------------------------------------------------------------------------------

const root = (subject: RootPattern['subject'], kinds?: readonly PainPointKind[]): RootPattern => (kinds === undefined ? { subject } : { kinds, subject });

/** Of a client span and the server span of the same call in another service, the server is the root (docs/quality.md). */
const searchApi = root({ service: SEARCH_SERVICE, operation: 'GET /v2/search' });

const fault = (label: string, start: number, ...roots: RootPattern[]): Fault => ({ label, start, roots });

export const KC_CREDENTIALS = kc(31, [claudeCredentials]);
export const KC_MIGRATE = kc(32, [migrateTimeouts]);
const kcBoth = kc(33, [claudeCredentials, migrateTimeouts]);
const kcHealthy = kc(34, []);

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'failing-tool',
    description: 'run_tests crashes on 40 % of calls; its callers (coder, reviewer) give up on some tasks',
    kind: 'single',
    source: 'otlp',
    faults: [fault('run_tests crashes', FAULT, root({ tool: 'run_tests' }))],
    spans: otlp(1, [failingTool(FAULT)]),
  },
  {
    name: 'upstream-rate-limit',
    description:
      'search-api answers 429 to 45 % of requests: the client span execute_tool web_search (kc-orchestrator) and the server span GET /v2/search (search-api) of the same traces fail; the researcher retries with backoff',
    kind: 'single',
    source: 'otlp',
    faults: [fault('search-api rate-limits web_search', FAULT, searchApi)],
    spans: otlp(2, [upstreamRateLimit(FAULT)]),
  },
  {
    name: 'slow-model',
    description: 'gpt-4o becomes 6× slower; the planner and the researcher (its final turn) call it',
    kind: 'single',
    source: 'otlp',
    faults: [fault('gpt-4o 6× slower', FAULT, root({ model: 'gpt-4o' }))],
    spans: otlp(3, [slowModel('gpt-4o', FAULT)]),
  },
  {
    name: 'provider-outage',
    description: 'anthropic is overloaded (529) for 5 minutes: claude-sonnet-4 and claude-haiku-4 calls fail and fall back to gpt-4o',
    kind: 'single',
    source: 'otlp',
    faults: [fault('anthropic outage', FAULT, root({ provider: 'anthropic' }))],
    spans: otlp(4, [providerOutage]),
  },
  {
    name: 'retries-without-backoff',
    description: 'fetch_url is retried at once (1–5 ms apart, up to 5 attempts) after the 503s the web answers now and then',
    kind: 'single',
    source: 'otlp',
    faults: [fault('fetch_url retried without backoff', FAULT, root({ tool: 'fetch_url' }, ['retry_no_backoff']))],
    spans: otlp(5, [retriesWithoutBackoff]),
  },
  {
    name: 'retries-after-non-retryable',
    description: 'open_pull_request is retried 3 times after 422 Validation Failed, which no retry can fix',
    kind: 'single',
    source: 'otlp',
    faults: [fault('open_pull_request retried after 422', FAULT, root({ tool: 'open_pull_request' }, ['retry_non_retryable']))],
    spans: otlp(6, [retriesAfterNonRetryable]),
  },
  {
    name: 'nested-retry-amplification',
    description:
      'the orchestrator retries a failed researcher task 3× and the researcher retries fetch_url 3×: each short upstream drop-out of fetch_url becomes up to 9 attempts',
    kind: 'single',
    source: 'otlp',
    faults: [
      fault(
        'researcher × fetch_url retries multiply',
        FAULT,
        root({ operation: 'invoke_agent researcher' }, ['retry_storm']),
        root({ agent: 'researcher' }, ['retry_storm']),
        root({ task_type: 'Research' }, ['retry_storm']),
        // or the trigger as root, the storm its consequence (docs/quality.md): the drop-outs of fetch_url
        root({ tool: 'fetch_url' }),
      ),
    ],
    spans: otlp(7, [nestedRetryAmplification(70)]),
  },
  {
    name: 'token-blow-up',
    description: "the coder's context is no longer trimmed: its model calls send 8× the input tokens",
    kind: 'single',
    source: 'otlp',
    faults: [fault('coder sends 8× the tokens', FAULT, root({ agent: 'coder' }))],
    spans: otlp(8, [tokenBlowUp('coder', FAULT)]),
  },
  {
    name: 'n-plus-one',
    description: 'the reviewer fetches each review comment with its own get_comment call, 12–25 in a row per task',
    kind: 'single',
    source: 'otlp',
    faults: [fault('get_comment called N+1', FAULT, root({ tool: 'get_comment' }, ['repeated_calls']))],
    spans: otlp(9, [nPlusOne]),
  },
  {
    name: 'shared-error',
    description: 'the workspace turns read-only: write_file, run_tests and open_pull_request fail 30 % with EROFS',
    kind: 'single',
    source: 'otlp',
    faults: [fault('EROFS on three tools', FAULT, root({ error_class: 'EROFS' }))],
    spans: otlp(10, [sharedError]),
  },
  {
    name: 'kc-provider-credentials',
    description:
      "kc run files: claude's API key is revoked from the 6th run on; claude tasks fail with 401 and mostly fall back to codex or gemini. kc spells the provider `claude` (selection, fallback) and `Claude` (outcome)",
    kind: 'single',
    source: 'kc',
    faults: [fault('claude credentials revoked', KC_CREDENTIALS.faultStart, root({ provider: 'claude' }))],
    spans: KC_CREDENTIALS.spans,
  },
  {
    name: 'kc-task-type-timeouts',
    description: 'kc run files: Migrate tasks time out 60 % of the time from the 6th run on (retried once)',
    kind: 'single',
    source: 'kc',
    faults: [fault('Migrate tasks time out', KC_MIGRATE.faultStart, root({ task_type: 'Migrate' }))],
    spans: KC_MIGRATE.spans,
  },
  {
    name: 'two-faults-rate-limit-and-slow-model',
    description: "search-api rate-limits web_search (called by the researcher) and claude-haiku-4 (the reviewer's model) turns 6× slower, 45 s apart",
    kind: 'double',
    source: 'otlp',
    faults: [
      fault('search-api rate-limits web_search', FAULT, searchApi),
      fault('claude-haiku-4 6× slower', SECOND_FAULT, root({ model: 'claude-haiku-4' })),
    ],
    spans: otlp(11, [upstreamRateLimit(FAULT), slowModel('claude-haiku-4', SECOND_FAULT)]),
  },
  {
    name: 'two-faults-tool-and-tokens',
    description: "run_tests crashes on 40 % of calls (coder, reviewer) and the researcher's context blows up 8×, 45 s apart",
    kind: 'double',
    source: 'otlp',
    faults: [fault('run_tests crashes', FAULT, root({ tool: 'run_tests' })), fault('researcher sends 8× the tokens', SECOND_FAULT, root({ agent: 'researcher' }))],
    spans: otlp(12, [failingTool(FAULT), tokenBlowUp('researcher', SECOND_FAULT)]),
  },
  {
    name: 'kc-two-faults',
    description: 'kc run files: claude credentials revoked and Migrate tasks timing out, from the same run on (a Migrate task on claude fails on the credentials)',
    kind: 'double',
    source: 'kc',
    faults: [fault('claude credentials revoked', kcBoth.faultStart, root({ provider: 'claude' })), fault('Migrate tasks time out', kcBoth.faultStart, root({ task_type: 'Migrate' }))],
    spans: kcBoth.spans,
  },
  { name: 'healthy', description: 'background traffic and its noise only', kind: 'healthy', source: 'otlp', faults: [], spans: otlp(101, []) },
  { name: 'healthy-2', description: 'background traffic and its noise only (another seed)', kind: 'healthy', source: 'otlp', faults: [], spans: otlp(202, []) },
  { name: 'kc-healthy', description: "kc run files with kc's own noise only", kind: 'healthy', source: 'kc', faults: [], spans: kcHealthy.spans },
];

export function workload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) throw new Error(`no workload ${name}`);
  return w;
}
