/**
 * NativeAgentLightning (README.md, Use from kc-orchestrator): the drop-in for kc-orchestrator's old Agent Lightning
 * integration, which spawned the Python CLI `agl` per call (150–450 ms each).
 *
 * - `native` (default): kc runData → span records (docs/kc-runs.md) → analyzeSpans, in process;
 *   kc's pain points and recommendations are one per cause when the analysis found problems.
 * - `external`: writes summary.md and runs.json to a temp folder and runs
 *   `<cli> analyze --summary <summary.md> --runs <runs.json> --format json`, reading its stdout
 *   (JSON, or markdown with headed recommendation sections). The CLI is `cliPath`, else
 *   $AGENT_LIGHTNING_CLI, else `agl` on PATH; a `.js`/`.mjs`/`.cjs` path is run with this node.
 *
 * Every call resolves: bad input, a missing CLI, a timeout or unreadable output answer
 * `{success: false, error}`; nothing throws.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseAnalysisConfig, type SidelightConfig } from '../config-file/load.js';
import { analysisComponents, ANALYSIS_DEFAULTS } from '../pipeline/processor-registry.js';
import { analyzeSpans } from './analyze-spans.js';
import { prepareSpans } from '../pipeline/span-preparation.js';
import { NameNormalizer } from '../model/names.js';
import type { SpanRecord } from '../model/span.js';
import type { PainPointRecord } from '../model/painpoint.js';
import type { ProblemMember, ProblemRecord } from '../model/problem.js';
import type { Recommendation } from '../model/recommendation.js';
import type { AnalysisResult } from '../model/analysis.js';
import { formatZodIssues } from '../kc/events.js';
import { kcRunDataSchema, type KcRunData } from '../kc/run-data.js';
import { fastKcRunData } from '../kc/fast-parse.js';
import { kcRunToSpans } from '../kc/run-to-spans.js';
import { kcRunPatterns, kcRunStatistics } from '../kc/run-patterns.js';
import { extractJsonObject, normalizeLegacyRecommendation, parseMarkdownRecommendations } from '../kc/legacy-output.js';
import {
  legacyPainPointSchema,
  legacyPatternSchema,
  legacyResultSchema,
  type LegacyFailure,
  type LegacyPainPoint,
  type LegacyRecommendation,
  type LegacyResponse,
  type LegacyResult,
} from '../kc/legacy-result.js';
import { VERSION } from '../version.js';

export {
  legacyResultSchema,
  legacyFailureSchema,
  legacyResponseSchema,
  legacyRecommendationSchema,
  type LegacyResult,
  type LegacyFailure,
  type LegacyResponse,
} from '../kc/legacy-result.js';

export type AgentLightningMode = 'native' | 'external';

export interface NativeAgentLightningOptions {
  readonly mode?: AgentLightningMode;
  /** external mode's CLI (default $AGENT_LIGHTNING_CLI, else `agl`) */
  readonly cliPath?: string;
  /** a Sidelight config object shaped like the YAML (processor thresholds, service.attributes) */
  readonly config?: unknown;
  /** external mode: the CLI is killed after this long (default 120 s) */
  readonly timeoutMs?: number;
  /** clock for `generatedAt` (tests pin it) */
  readonly now?: () => Date;
  /** environment read for AGENT_LIGHTNING_CLI and PATH (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface InvokeOptions {
  /** per-call override of the constructor's mode */
  readonly mode?: AgentLightningMode;
  readonly timeoutMs?: number;
}

export interface PreparedInputFiles {
  readonly dir: string;
  readonly summaryPath: string;
  readonly runsPath: string;
  /** removes the temp folder */
  cleanup(): Promise<void>;
}

export interface ConfigurationCheck {
  readonly valid: boolean;
  readonly errors: string[];
  readonly mode: AgentLightningMode;
  /** external mode: the CLI asked for and where it was found */
  readonly cli?: { readonly command: string; readonly resolvedPath?: string };
}

export const DEFAULT_CLI = 'agl';
export const DEFAULT_TIMEOUT_MS = 120_000;
/** stdout kept from the CLI at most; more is an error (a result is a few hundred KB) */
const MAX_CLI_OUTPUT_BYTES = 32 * 1024 * 1024;
const MAX_CLI_STDERR_BYTES = 16 * 1024;

const invokeInputSchema = z.object({ summaryReport: z.string(), runData: kcRunDataSchema });

function failure(error: string): LegacyFailure {
  return { success: false, error };
}

/** Resolves a command on PATH (or checks a path); undefined when it is not an executable file. */
export function resolveExecutable(command: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const isExecutable = (p: string) => {
    try {
      if (!statSync(p).isFile()) return false;
      accessSync(p, /\.[cm]?js$/.test(p) ? fsConstants.R_OK : fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/') || command.includes('\\') || isAbsolute(command)) {
    const p = resolve(command);
    return isExecutable(p) ? p : undefined;
  }
  const exts = process.platform === 'win32' ? (env['PATHEXT'] ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const ext of exts) {
      const p = join(dir, command + ext);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

export class NativeAgentLightning {
  readonly mode: AgentLightningMode;
  readonly cliPath: string;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly configInput: unknown;
  private resolved: { config: SidelightConfig } | { error: string } | undefined;

  constructor(options: NativeAgentLightningOptions = {}) {
    this.env = options.env ?? process.env;
    this.mode = options.mode ?? 'native';
    this.cliPath = options.cliPath ?? (this.env['AGENT_LIGHTNING_CLI'] || DEFAULT_CLI);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    this.configInput = options.config;
  }

  /** The validated config, parsed once. */
  private config(): { config: SidelightConfig } | { error: string } {
    if (this.resolved === undefined) {
      try {
        this.resolved = { config: parseAnalysisConfig(this.configInput ?? {}, analysisComponents, ANALYSIS_DEFAULTS) };
      } catch (err) {
        this.resolved = { error: err instanceof ConfigError ? `invalid config: ${err.issues.join('; ')}` : `invalid config: ${String(err)}` };
      }
    }
    return this.resolved;
  }

  validateConfiguration(): ConfigurationCheck {
    const errors: string[] = [];
    if (this.mode !== 'external') {
      const cfg = this.config();
      if ('error' in cfg) errors.push(cfg.error);
      return { valid: errors.length === 0, errors, mode: this.mode };
    }
    // the Sidelight config only drives native analysis; external mode checks the CLI
    const resolvedPath = resolveExecutable(this.cliPath, this.env);
    if (resolvedPath === undefined) errors.push(`Agent Lightning CLI "${this.cliPath}" not found or not executable (set AGENT_LIGHTNING_CLI, or use mode: native)`);
    return { valid: errors.length === 0, errors, mode: this.mode, cli: { command: this.cliPath, ...(resolvedPath ? { resolvedPath } : {}) } };
  }

  /**
   * Analyzes kc runs and answers in kc's legacy shape. `summaryReport` is kc's markdown summary:
   * native mode does not need it (the events hold the facts); external mode hands it to the CLI.
   */
  async invokeAgentLightning(summaryReport: string, runData: unknown, options: InvokeOptions = {}): Promise<LegacyResponse> {
    try {
      // well-formed runData takes the fast path; anything else is parsed by zod, which names the field
      const fast = typeof summaryReport === 'string' ? fastKcRunData(runData) : undefined;
      const input = fast !== undefined ? { success: true as const, data: { summaryReport, runData: fast } } : invokeInputSchema.safeParse({ summaryReport, runData });
      if (!input.success) return failure(`invalid input: ${formatZodIssues(input.error)}`);
      const mode = options.mode ?? this.mode;
      // external mode hands the CLI kc's runData as given (validated, not rewritten), as the old path did
      if (mode === 'external') return await this.invokeExternal(input.data.summaryReport, runData, options.timeoutMs ?? this.timeoutMs);
      return await this.invokeNative(input.data.runData);
    } catch (err) {
      // the promise of README.md, Use from kc-orchestrator: kc gets an answer, never an exception
      return failure(`analysis failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async invokeNative(runs: KcRunData): Promise<LegacyResponse> {
    const started = performance.now();
    const cfg = this.config();
    if ('error' in cfg) return failure(cfg.error);
    const spans: SpanRecord[] = [];
    for (const run of runs) {
      for (const s of kcRunToSpans(run.events, { runId: run.runId, mapping: cfg.config.service.attributes })) spans.push(s);
    }
    // one spelling per provider (docs/input.md, Names) in the analysis and in kc's own figures alike
    const names = new NameNormalizer(cfg.config.service.names);
    const prepared = prepareSpans(spans, cfg.config.service, names);
    const result = await analyzeSpans(prepared, { resolvedConfig: cfg.config, prepared: true });
    return toLegacyResult(result, runs, prepared, {
      generatedAt: this.now().toISOString(),
      mode: 'native',
      durationMs: performance.now() - started,
      provider: (p) => names.provider(p),
    });
  }

  /** Writes the old external path's inputs: summary.md (kc's report, or one built from run summaries) and runs.json. */
  async prepareInputFiles(runData: unknown, summaryReport?: string): Promise<PreparedInputFiles> {
    const runs = Array.isArray(runData) ? (runData as unknown[]) : [];
    const dir = await mkdtemp(join(tmpdir(), 'sidelight-agl-'));
    const summaryPath = join(dir, 'summary.md');
    const runsPath = join(dir, 'runs.json');
    await writeFile(summaryPath, summaryReport ?? summaryFromRuns(runs));
    await writeFile(runsPath, JSON.stringify(runs, null, 2));
    return { dir, summaryPath, runsPath, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  /** Reads a CLI's stdout: the legacy JSON shape, or markdown recommendation sections. */
  parseAgentLightningOutput(raw: string): LegacyResponse {
    const generatedAt = this.now().toISOString();
    const text = typeof raw === 'string' ? raw : String(raw ?? '');
    if (text.trim() === '') return failure('empty output from Agent Lightning');
    const json = extractJsonObject(text);
    if (json !== undefined && typeof json === 'object' && json !== null) return normalizeJsonOutput(json as Record<string, unknown>, generatedAt);
    const recommendations = parseMarkdownRecommendations(text, generatedAt, 'agent-lightning');
    if (recommendations.length === 0) return failure('output is neither JSON nor markdown with recommendation sections');
    return legacyResultSchema.parse({
      success: true,
      recommendations,
      patterns: [],
      painPoints: [],
      statistics: emptyStatistics(),
      metadata: { source: 'agent-lightning', generatedAt, mode: 'external', format: 'markdown' },
    });
  }

  private async invokeExternal(summaryReport: string, runData: unknown, timeoutMs: number): Promise<LegacyResponse> {
    const executable = resolveExecutable(this.cliPath, this.env);
    if (executable === undefined) {
      return failure(`Agent Lightning CLI "${this.cliPath}" not found or not executable (set AGENT_LIGHTNING_CLI, or use mode: native)`);
    }
    const files = await this.prepareInputFiles(runData, summaryReport);
    try {
      const args = ['analyze', '--summary', files.summaryPath, '--runs', files.runsPath, '--format', 'json'];
      const [cmd, argv] = /\.[cm]?js$/.test(executable) ? [process.execPath, [executable, ...args]] : [executable, args];
      const run = await runProcess(cmd, argv, timeoutMs, this.env);
      if (run.error !== undefined) return failure(`Agent Lightning CLI ${this.cliPath}: ${run.error}`);
      if (run.code !== 0) {
        const why = run.stderr.trim().split('\n').pop() ?? '';
        return failure(`Agent Lightning CLI ${this.cliPath} exited with ${run.code ?? run.signal}${why ? `: ${why}` : ''}`);
      }
      return this.parseAgentLightningOutput(run.stdout);
    } finally {
      await files.cleanup();
    }
  }
}

interface ProcessOutcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly error?: string;
}

async function runProcess(cmd: string, args: string[], timeoutMs: number, env: Readonly<Record<string, string | undefined>>): Promise<ProcessOutcome> {
  // loaded here, by external mode only: native mode (kc's default) never spawns, and node:child_process
  // was ~5 ms of `import('sidelight')` in a fresh kc process
  const { spawn } = await import('node:child_process');
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_CLI_OUTPUT_BYTES) {
        error = `output over ${MAX_CLI_OUTPUT_BYTES} bytes`;
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < MAX_CLI_STDERR_BYTES) err += chunk.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code === 'ENOENT' ? 'not found' : e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ stdout: Buffer.concat(out).toString('utf8'), stderr: err, code, signal, ...(error !== undefined ? { error } : {}) });
    });
  });
}

function summaryFromRuns(runs: readonly unknown[]): string {
  const lines = ['# kc-orchestrator runs', ''];
  for (const r of runs) {
    const run = (r ?? {}) as { runId?: unknown; summary?: unknown };
    lines.push(`## Run ${String(run.runId ?? '?')}`, '', '```json', JSON.stringify(run.summary ?? {}, null, 2), '```', '');
  }
  return lines.join('\n');
}

function emptyStatistics(): LegacyResult['statistics'] {
  return { totalRuns: 0, totalTasks: 0, successfulTasks: 0, failedTasks: 0, successRate: 0, totalRetries: 0, totalFallbacks: 0, averageExecutionTime: 0 };
}

/** A CLI's JSON output brought to the legacy shape (defaults filled, every item validated). */
function normalizeJsonOutput(json: Record<string, unknown>, generatedAt: string): LegacyResponse {
  if (json['success'] === false) return failure(typeof json['error'] === 'string' && json['error'] !== '' ? json['error'] : 'Agent Lightning reported a failure');
  const recsIn = Array.isArray(json['recommendations']) ? json['recommendations'] : [];
  const recommendations: LegacyRecommendation[] = [];
  for (const [i, r] of recsIn.entries()) {
    if (r === null || typeof r !== 'object') return failure(`invalid output: recommendations[${i}]: expected an object`);
    try {
      recommendations.push(normalizeLegacyRecommendation(r as Record<string, unknown>, generatedAt, 'agent-lightning'));
    } catch (err) {
      return failure(`invalid output: recommendations[${i}]: ${err instanceof z.ZodError ? formatZodIssues(err) : String(err)}`);
    }
  }
  const stats = (json['statistics'] ?? {}) as Record<string, unknown>;
  const num = (k: string) => (typeof stats[k] === 'number' && Number.isFinite(stats[k]) && (stats[k] as number) >= 0 ? (stats[k] as number) : 0);
  const candidate = {
    ...json,
    success: true,
    recommendations,
    patterns: (Array.isArray(json['patterns']) ? json['patterns'] : []).filter((p) => legacyPatternSchema.safeParse(p).success),
    painPoints: (Array.isArray(json['painPoints']) ? json['painPoints'] : []).filter((p) => legacyPainPointSchema.safeParse(p).success),
    statistics: {
      ...stats,
      ...Object.fromEntries(['totalRuns', 'totalTasks', 'successfulTasks', 'failedTasks', 'totalRetries', 'totalFallbacks'].map((k) => [k, Math.trunc(num(k))])),
      successRate: Math.min(1, num('successRate')),
      averageExecutionTime: num('averageExecutionTime'),
    },
    metadata: { ...((json['metadata'] ?? {}) as Record<string, unknown>), source: 'agent-lightning', generatedAt, mode: 'external' },
  };
  const parsed = legacyResultSchema.safeParse(candidate);
  return parsed.success ? parsed.data : failure(`invalid output: ${formatZodIssues(parsed.error)}`);
}

/** Sidelight's recommendation in kc's legacy shape (the task's constraints and content hash come along). */
export function toLegacyRecommendation(rec: Recommendation, generatedAt: string): LegacyRecommendation {
  return {
    id: rec.id,
    title: rec.title,
    description: rec.description,
    priority: rec.priority,
    category: rec.category,
    impact: rec.impact,
    effort: rec.effort,
    implementation: rec.implementation,
    acceptanceCriteria: [...rec.acceptanceCriteria],
    constraints: { do: [...rec.task.constraints.do], dont: [...rec.task.constraints.dont] },
    metadata: { source: 'sidelight', generatedAt, contentHash: rec.task.contentHash },
    painPointIds: [...rec.pain_point_ids],
    task: rec.task,
  };
}

export function toLegacyPainPoint(p: PainPointRecord): LegacyPainPoint {
  return {
    id: p.id,
    type: p.kind,
    title: p.title,
    description: p.description,
    severity: p.severity,
    category: p.category,
    frequency: p.run_ids.length,
    affectedRuns: [...p.run_ids],
    state: p.state,
    subject: p.subject,
    evidence: p.evidence,
    firstSeen: p.first_seen,
    lastSeen: p.last_seen,
  };
}

/**
 * One cause as kc's pain point: the problem's root pain point with its symptoms folded into it.
 * The root's id, kind, subject and evidence; the problem's severity (the highest of its members),
 * title (the root and how far it spreads), description, runs and impact; the members it stands
 * for under `symptoms` and `contributing` (kc reads the listed fields and keeps the rest).
 */
export function toLegacyProblemPainPoint(problem: ProblemRecord, painpoints: ReadonlyMap<string, PainPointRecord>): LegacyPainPoint {
  const root = painpoints.get(problem.root.id);
  const member = (m: ProblemMember) => {
    const pp = painpoints.get(m.id);
    return { id: m.id, type: m.kind, subject: m.subject, ...(pp ? { title: pp.title, severity: pp.severity } : {}) };
  };
  return {
    id: problem.root.id,
    type: problem.root.kind,
    title: problem.title,
    description: problem.description,
    severity: problem.severity,
    category: problem.category,
    frequency: problem.run_ids.length,
    affectedRuns: [...problem.run_ids],
    state: problem.state,
    subject: problem.root.subject,
    ...(root ? { evidence: root.evidence } : {}),
    problemId: problem.id,
    rootTitle: problem.root.title,
    symptoms: problem.symptoms.map(member),
    contributing: problem.contributing.map(member),
    impact: problem.impact,
    firstSeen: problem.first_seen,
    lastSeen: problem.last_seen,
  };
}

/**
 * kc's pain points and recommendations: one per cause when the analysis found problems (each
 * problem's root with its symptoms folded in, and the recommendations the problems name, in
 * priority order); the pain points and every recommendation otherwise (no problems stage).
 */
function legacyFindings(result: AnalysisResult, generatedAt: string): Pick<LegacyResult, 'painPoints' | 'recommendations'> {
  if (result.problems.length === 0) {
    return { painPoints: result.painpoints.map(toLegacyPainPoint), recommendations: result.recommendations.map((r) => toLegacyRecommendation(r, generatedAt)) };
  }
  const byId = new Map(result.painpoints.map((pp) => [pp.id, pp]));
  const named = new Set(result.problems.flatMap((p) => p.recommendation_ids));
  return {
    painPoints: result.problems.map((p) => toLegacyProblemPainPoint(p, byId)),
    recommendations: result.recommendations.filter((r) => named.has(r.id)).map((r) => toLegacyRecommendation(r, generatedAt)),
  };
}

export function toLegacyResult(
  result: AnalysisResult,
  runs: KcRunData,
  spans: readonly SpanRecord[],
  meta: {
    readonly generatedAt: string;
    readonly mode: AgentLightningMode;
    readonly durationMs: number;
    /** a provider's display name (the spans' names are already so) */
    readonly provider?: (name: string) => string;
  },
): LegacyResult {
  const stats = kcRunStatistics(runs, meta.provider);
  const findings = legacyFindings(result, meta.generatedAt);
  return {
    success: true,
    recommendations: findings.recommendations,
    patterns: kcRunPatterns(spans),
    painPoints: findings.painPoints,
    statistics: { ...stats, sidelight: result.statistics },
    metadata: {
      source: 'sidelight',
      version: VERSION,
      mode: meta.mode,
      generatedAt: meta.generatedAt,
      durationMs: Math.round(meta.durationMs * 1000) / 1000,
      runsAnalyzed: runs.length,
      eventsAnalyzed: stats.totalEvents,
      spansAnalyzed: spans.length,
    },
  };
}
