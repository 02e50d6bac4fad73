/** The agent_loop observation of one loop: subject, severity, title, description, evidence (docs/painpoints.md). */
import { lazyObservation, type Observation, type Severity, type Subject } from '../../src/model/painpoint.js';
import { operationSubject } from '../../src/model/series.js';
import { formatCount, formatDuration, formatPercent } from '../../src/model/evidence-format.js';
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

function title(loop: LoopState, runId: string): string {
  const who = loop.opener.agent ?? 'An agent';
  switch (loop.pattern) {
    case 'repeat':
      return `${who} is stuck calling ${loop.tool} with the same arguments (${loop.repeats} times) in run ${runId}`;
    case 'ping_pong':
      return `${who} is stuck ping-ponging between ${loop.tools.join(' and ')} with the same arguments (${loop.repeats} cycles) in run ${runId}`;
    case 'cycle':
      return `${who} is stuck in a cycle of ${loop.distinct} calls with the same arguments (${loop.repeats} rounds) in run ${runId}`;
    case 'max_turns':
      return `${who} took ${loop.repeats} model turns in one invocation (max ${loop.threshold - 1}) in run ${runId}`;
  }
}

export function loopObservation(loop: LoopState, runId: string, run: RunTotals, config: AgentLoopConfig, time: number): Observation {
  const stretch = loop.stretch;
  const runMs = Math.max(0, run.endMs - run.startMs);
  const tokenShare = run.tokens > 0 ? stretch.tokens / run.tokens : 0;
  const timeShare = runMs > 0 ? Math.min(1, stretch.durationMs / runMs) : 0;
  const severity: Severity = loop.growing || tokenShare >= config.high_share || timeShare >= config.high_share ? 'high' : 'medium';
  const subject = loopSubject(loop);
  const head = { kind: 'agent_loop' as const, subject, severity, category: 'reliability' as const, keyMetric: loop.repeats, time };
  const opener = loop.opener;
  const latest = loop.latest;
  return lazyObservation(head, () => {
    const who = opener.agent ?? 'An agent';
    const costKnown = stretch.priced > 0;
    return {
      title: title(loop, runId),
      description:
        `${who} ${what(loop)} in run ${runId}, seen while the run is still going. ` +
        `The loop's ${formatCount(stretch.calls)} calls took ${formatDuration(stretch.durationMs)} and ${formatCount(stretch.tokens)} tokens${costKnown ? ` (${formatUsd(stretch.usd)})` : ''}: ` +
        `${formatPercent(tokenShare)} of the run's tokens and ${formatPercent(timeShare)} of its time so far` +
        `${loop.growing ? '; it is still growing' : ''}. Exemplar: trace ${latest.traceId}, span ${latest.spanId}.`,
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
          loop_calls: stretch.calls,
          growing: loop.growing,
          run_id: runId,
          run_token_share: round(tokenShare, 3),
          run_time_share: round(timeShare, 3),
          wasted_ms: Math.round(stretch.durationMs),
          wasted_tokens: stretch.tokens,
          ...(costKnown ? { wasted_cost_usd: round(stretch.usd, 6) } : {}),
          affected_runs: 1,
          affected_traces: 1,
        },
        exemplar_trace_ids: [latest.traceId],
        exemplar_span_ids: [latest.spanId],
      },
      runIds: [runId],
    };
  });
}
