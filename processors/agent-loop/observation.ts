/**
 * The agent_loop observation of one subject (docs/painpoints.md): every loop standing on it — one
 * per invocation, across runs — reported as one pain point led by the worst loop, naming every
 * looping run. Each loop is a snapshot taken when its call arrived (loopReport), so the text and
 * evidence built later say what was true then.
 */
import { lazyObservation, SEVERITY_RANK, type Observation, type Severity, type Subject } from '../../src/model/painpoint.js';
import { operationSubject } from '../../src/model/series.js';
import { formatCount, formatDuration, formatPercent, MAX_EXEMPLAR_TRACES, MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import { formatUsd } from '../../src/model/cost.js';
import type { AgentLoopConfig } from './config.js';
import type { LoopState } from './invocation.js';
import type { RunTotals } from './tracker.js';

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The series a loop is reported on: the call that completed it (its tool, or its model for turns), with the agent when the call names one. */
export function loopSubject(loop: LoopState): Subject {
  const s = operationSubject(loop.opener);
  return loop.opener.agent !== undefined ? { ...s, agent: loop.opener.agent } : s;
}

/** "read_file (arguments #1a2b3c4d5e6f7a8b)": the exact call, by its arguments' hash (the arguments are never kept). */
export function callLabel(tool: string, argsHash: string): string {
  return `${tool} (arguments #${argsHash})`;
}

/** One loop as it stood after the call that changed it, with its figures then. */
export interface LoopReport {
  readonly loop: LoopState;
  readonly runId: string;
  readonly severity: Severity;
  readonly calls: number;
  readonly tokens: number;
  readonly usd: number;
  /** model calls of the loop whose cost is known */
  readonly priced: number;
  readonly durationMs: number;
  readonly tokenShare: number;
  readonly timeShare: number;
  /** the loop's latest call: its exemplar */
  readonly traceId: string;
  readonly spanId: string;
}

/** A loop's figures now, against its run's so far: high when it keeps growing or takes `high_share` of the run's tokens or time. */
export function loopReport(loop: LoopState, runId: string, run: RunTotals, config: AgentLoopConfig): LoopReport {
  const stretch = loop.stretch;
  const runMs = Math.max(0, run.endMs - run.startMs);
  const tokenShare = run.tokens > 0 ? stretch.tokens / run.tokens : 0;
  const timeShare = runMs > 0 ? Math.min(1, stretch.durationMs / runMs) : 0;
  const severity: Severity = loop.growing || tokenShare >= config.high_share || timeShare >= config.high_share ? 'high' : 'medium';
  return {
    loop,
    runId,
    severity,
    calls: stretch.calls,
    tokens: stretch.tokens,
    usd: stretch.usd,
    priced: stretch.priced,
    durationMs: stretch.durationMs,
    tokenShare,
    timeShare,
    traceId: loop.latest.traceId,
    spanId: loop.latest.spanId,
  };
}

/** Worst first: severity, then repeats, then the loop that opened first. */
function compareReports(a: LoopReport, b: LoopReport): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.loop.repeats - a.loop.repeats || a.loop.opener.endMs - b.loop.opener.endMs || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

function what(loop: LoopState): string {
  switch (loop.pattern) {
    case 'repeat':
      return `called ${callLabel(loop.tool ?? '?', loop.argsHash ?? '?')} ${loop.repeats} times with nothing new between`;
    case 'ping_pong':
      return `ping-pongs between ${loop.tools.join(' and ')} with the same arguments (${callLabel(loop.tool ?? '?', loop.argsHash ?? '?')} ${loop.repeats} times)`;
    case 'cycle':
      return `repeats a cycle of ${loop.distinct} calls (${loop.tools.join(', ')}) with the same arguments (${callLabel(loop.tool ?? '?', loop.argsHash ?? '?')} ${loop.repeats} times)`;
    case 'max_turns':
      return `took ${loop.repeats} model turns in one invocation (max ${loop.threshold - 1})`;
  }
}

function title(loop: LoopState, runId: string, others: number): string {
  const who = loop.opener.agent ?? 'An agent';
  const more = others > 0 ? ` (and ${others} other run${others === 1 ? '' : 's'})` : '';
  switch (loop.pattern) {
    case 'repeat':
      return `${who} is stuck calling ${loop.tool} with the same arguments (${loop.repeats} times) in run ${runId}${more}`;
    case 'ping_pong':
      return `${who} is stuck ping-ponging between ${loop.tools.join(' and ')} with the same arguments (${loop.repeats} cycles) in run ${runId}${more}`;
    case 'cycle':
      return `${who} is stuck in a cycle of ${loop.distinct} calls with the same arguments (${loop.repeats} rounds) in run ${runId}${more}`;
    case 'max_turns':
      return `${who} took ${loop.repeats} model turns in one invocation (max ${loop.threshold - 1}) in run ${runId}${more}`;
  }
}

/**
 * The observation of the loops standing on `subject` (at least one): the worst loop leads the
 * title and the evidence, the waste is summed over them all, every looping run is named. The key
 * metric is the repeats of all loops, so a loop that grows or a run that starts looping updates it.
 */
export function loopsObservation(subject: Subject, reports: readonly LoopReport[], time: number): Observation {
  const sorted = [...reports].sort(compareReports);
  const lead = sorted[0] as LoopReport;
  const runIds = [...new Set(sorted.map((r) => r.runId))];
  const keyMetric = sorted.reduce((n, r) => n + r.loop.repeats, 0);
  const head = { kind: 'agent_loop' as const, subject, severity: lead.severity, category: 'reliability' as const, keyMetric, time };
  return lazyObservation(
    head,
    () => {
      const loop = lead.loop;
      const who = loop.opener.agent ?? 'An agent';
      const others = runIds.length - 1;
      const sum = (f: (r: LoopReport) => number) => sorted.reduce((n, r) => n + f(r), 0);
      const priced = sum((r) => r.priced);
      const leadCost = lead.priced > 0 ? ` (${formatUsd(lead.usd)})` : '';
      const alsoText =
        others > 0
          ? ` ${others} other run${others === 1 ? ' loops' : 's loop'} on the same call: ${runIds.slice(1, 6).join(', ')}${others > 5 ? ', …' : ''}; all loops together took ${formatDuration(sum((r) => r.durationMs))} and ${formatCount(sum((r) => r.tokens))} tokens${priced > 0 ? ` (${formatUsd(sum((r) => r.usd))})` : ''}.`
          : '';
      const traces = [...new Set(sorted.map((r) => r.traceId))];
      // one exemplar per trace, the worst loop's first
      const exemplars = sorted.filter((r, i) => sorted.findIndex((x) => x.traceId === r.traceId) === i).slice(0, MAX_EXEMPLAR_TRACES);
      return {
        title: title(loop, lead.runId, others),
        description:
          `${who} ${what(loop)} in run ${lead.runId}, seen while the run is still going. ` +
          `The loop's ${formatCount(lead.calls)} calls took ${formatDuration(lead.durationMs)} and ${formatCount(lead.tokens)} tokens${leadCost}: ` +
          `${formatPercent(lead.tokenShare)} of the run's tokens and ${formatPercent(lead.timeShare)} of its time so far` +
          `${loop.growing ? '; it is still growing' : ''}.${alsoText} Exemplar: trace ${lead.traceId}, span ${lead.spanId}.`,
        evidence: {
          window: 'run',
          metrics: {
            rule: loop.rule,
            pattern: loop.pattern,
            repeats: loop.repeats,
            threshold: loop.threshold,
            ...(loop.tool !== undefined ? { repeated_tool: loop.tool, repeated_args_hash: loop.argsHash ?? '' } : {}),
            ...(loop.tools.length > 0 ? { tools: loop.tools.join(', ') } : {}),
            ...(loop.rule === 'calls' ? { distinct_calls: loop.distinct } : {}),
            loop_calls: lead.calls,
            growing: loop.growing,
            run_id: lead.runId,
            run_token_share: round(lead.tokenShare, 3),
            run_time_share: round(lead.timeShare, 3),
            looping_runs: runIds.length,
            wasted_ms: Math.round(sum((r) => r.durationMs)),
            wasted_tokens: sum((r) => r.tokens),
            ...(priced > 0 ? { wasted_cost_usd: round(sum((r) => r.usd), 6) } : {}),
            affected_runs: runIds.length,
            affected_traces: traces.length,
          },
          exemplar_trace_ids: exemplars.map((r) => r.traceId),
          exemplar_span_ids: exemplars.map((r) => r.spanId),
        },
      };
    },
    () => runIds.slice(0, MAX_RUN_IDS),
  );
}
