/**
 * Advice for the agent-behaviour kinds: silent_failure (per signal: cut off at max tokens,
 * filtered, empty, a tool result that says it failed), agent_loop (a loop breaker naming the exact
 * repeated call) and budget_exceeded (a spend cap in the orchestrator). Like the other templates,
 * each reads only the pain-point record, cites its numbers, and gives acceptance criteria Sidelight
 * itself can measure (the kinds' default firing thresholds).
 */
import { formatCount, formatDuration, formatPercent } from '../../model/evidence-format.js';
import { formatUsd } from '../../model/cost.js';
import { formatBreakdown, sortedBreakdown } from '../format.js';
import { criterion, type Advice, type AdviceTemplate } from './types.js';

const TELEMETRY_DONT = 'Do not drop or rename the gen_ai.* attributes Sidelight reads (finish reasons, tool-call results, usage) to make the figures pass';

export const silentFailureAdvice: AdviceTemplate<'silent_failure'> = (f): Advice => {
  const { label, over, exemplars } = f;
  const { calls, silent_failures: silent, silent_rate: rate, by_signal: signals, wasted_cost_usd: cost } = f.m;
  const signal = f.m.dominant_signal ?? 'length';
  const summary =
    `${silent !== undefined && calls !== undefined ? `${formatCount(silent)} of ${formatCount(calls)} successful calls` : 'Calls'} of ${label} in ${f.window} did not do their job` +
    `${rate !== undefined ? ` (${formatPercent(rate)})` : ''}${signals ? `: ${formatBreakdown(signals)}` : ''}${cost !== undefined ? `; they cost ${formatUsd(cost)}` : ''}.`;
  const acceptance = [criterion('silent_failure_rate', `silent-failure rate of ${label} below 5 % ${over}`)];
  const base = { summary, acceptance, dont: [TELEMETRY_DONT] };
  switch (signal) {
    case 'length': {
      const maxOut = f.m.cutoff_max_output_tokens;
      const input = f.m.cutoff_mean_input_tokens;
      return {
        ...base,
        title: `Raise max_tokens or shorten the context of ${label} calls cut off at their token limit`,
        steps: [
          `Raise max_tokens for these calls${maxOut !== undefined && maxOut > 0 ? ` above ${formatCount(maxOut)} (the cut-off answers stopped at up to ${formatCount(maxOut)} output tokens)` : ''}, within the model's output limit.`,
          `Shorten the input${input !== undefined ? ` (${formatCount(input)} tokens on average in the cut-off calls)` : ''}: drop stale turns, summarize long histories, send only the files the step needs.`,
          'Check finish_reason after every call: on `length`, continue the answer or fail the step, never use a truncated answer as if it were complete.',
          'Ask for a compact output (structured, no preamble) where the step allows it.',
        ],
        acceptance: [...acceptance, criterion('length_finish_share', `no more than 1 % of ${label} answers end with finish reason length ${over}`)],
        do: ['Reproduce the cut-off with a recorded prompt in a test before changing the limits', 'Keep max_tokens and the context budget as configuration'],
        outputs: ['a max_tokens / context budget per step', 'a finish_reason check in the agent loop'],
        effort: 'S',
      };
    }
    case 'content_filter':
      return {
        ...base,
        title: `Handle answers of ${label} withheld by a content filter`,
        steps: [
          `Open the exemplar traces (${exemplars}) and find which inputs trigger the filter.`,
          'Check finish_reason after every call: on `content_filter`, rephrase, route to a fallback, or fail the step with the reason; never pass an empty or partial answer on.',
          'Remove or escape the content that trips the filter (pasted logs, user data) before it reaches the prompt.',
        ],
        do: ['Reproduce a filtered call in a test with a recorded input', 'Record the filter category on the span'],
        outputs: ['a finish_reason check with a fallback', 'the inputs that triggered the filter'],
        effort: 'M',
      };
    case 'empty_output':
      return {
        ...base,
        title: `Detect and handle empty answers of ${label}`,
        steps: [
          'Treat an answer with 0 output tokens as a failure: set the span status to ERROR with an error.type, and retry once with backoff.',
          `Look for the cause in the exemplar traces (${exemplars}): a stop sequence hit at once, an exhausted output budget, a provider fault.`,
          'Fail the step with a clear message when the retry is empty too.',
        ],
        do: ['Reproduce an empty answer in a test with a stubbed client'],
        outputs: ['an empty-answer check in the model client'],
        effort: 'S',
      };
    default:
      return {
        ...base,
        title: `Check ${label} results against a schema and fail the call when they report an error`,
        steps: [
          `Validate every ${label} result against its schema; a result with \`isError: true\`, \`"ok": false\`, \`"success": false\` or an \`error\` field is a failure.`,
          'Mark such calls as failed (span status ERROR with error.type) so failure rates and retries see them.',
          'Make the agent handle the error (retry when transient, change approach, or stop) instead of continuing as if the call worked.',
          `Fix the cause of the errors, starting from the exemplar traces (${exemplars}).`,
        ],
        do: ['Add a test with a tool that returns an error result with status OK', 'Keep the result schema next to the tool definition'],
        outputs: ['a result-schema check in the tool wrapper', 'error results reported as failed spans'],
        effort: 'S',
      };
  }
};

export const agentLoopAdvice: AdviceTemplate<'agent_loop'> = (f): Advice => {
  const { pp, over, exemplars } = f;
  const agent = pp.subject.agent ?? 'the agent';
  const pattern = f.m.pattern ?? 'repeat';
  const tool = f.m.repeated_tool ?? pp.subject.tool;
  const hash = f.m.repeated_args_hash;
  const { repeats, threshold, tools } = f.m;
  const runId = f.m.run_id ?? pp.run_ids[0];
  const looping = f.m.looping_runs ?? 1;
  const others = looping > 1 ? ` (and ${formatCount(looping - 1)} other run${looping === 2 ? '' : 's'})` : '';
  const { wasted_ms: wastedMs, wasted_tokens: tokens, wasted_cost_usd: cost } = f.m;
  const spent = [wastedMs !== undefined ? formatDuration(wastedMs) : undefined, tokens !== undefined ? `${formatCount(tokens)} tokens` : undefined, cost !== undefined ? formatUsd(cost) : undefined].filter((x) => x !== undefined).join(', ');
  const exact = tool !== undefined ? `\`${tool}\`${hash !== undefined ? ` with arguments hash \`${hash}\`` : ''}` : 'the repeated call';
  if (pattern === 'max_turns') {
    const max = threshold !== undefined ? threshold - 1 : 25;
    return {
      title: `Cap the model turns of ${agent} and stop runs that exceed them`,
      summary: `${agent} took ${repeats !== undefined ? formatCount(repeats) : 'more than'} model turns in one invocation (max ${formatCount(max)})${runId !== undefined ? ` in run ${runId}` : ''}${spent ? `; the turns past the limit cost ${spent}` : ''}.`,
      steps: [
        `Count model turns per agent invocation in the orchestrator and stop at ${formatCount(max)}: end the step with a clear "turn limit reached" result instead of continuing.`,
        `Open the exemplar traces (${exemplars}) to see what the agent was doing in its last turns (a goal it cannot reach, a tool error it does not understand).`,
        'Give the agent a way out: a "give up with a reason" tool, or a planner step that narrows the goal.',
      ],
      acceptance: [criterion('model_turns', `no agent invocation of ${agent} takes more than ${formatCount(max)} model turns ${over}`)],
      do: ['Make the turn limit configuration, per agent', 'Add a test with a scripted model that never finishes'],
      dont: [TELEMETRY_DONT, 'Do not raise the limit to make the pain point go away'],
      outputs: ['a turn limit in the agent loop', 'the reason the agent did not finish'],
      effort: 'M',
    };
  }
  const n = formatCount(threshold ?? 3);
  const shape =
    pattern === 'ping_pong'
      ? `ping-pongs between ${tools?.replace(', ', ' and ') ?? 'two tools'} with the same arguments`
      : pattern === 'cycle'
        ? `cycles through the same calls (${tools ?? 'several tools'}) with the same arguments`
        : `calls ${tool ?? 'a tool'} again and again with the same arguments`;
  return {
    title: `Add a loop breaker to ${agent}: it ${shape}`,
    summary:
      `${agent} ${shape}: ${exact} was made ${repeats !== undefined ? formatCount(repeats) : 'several'} times with nothing new between` +
      `${runId !== undefined ? ` in run ${runId}${others}` : ''}, found while the run was going${spent ? `; the loop${looping > 1 ? 's' : ''} took ${spent}` : ''}.`,
    steps: [
      `In the agent loop, keep the calls of the current invocation keyed by tool and a hash of their normalized arguments; the call repeated here is ${exact}.`,
      `Before each tool call, count the identical calls made since the last call that was new; when ${n} would be reached, do not make it: tell the model it already has that result and must change approach, or end the step with the reason.`,
      'Memoize idempotent tool results per invocation, so a repeated read returns the same answer without another call.',
      `Open the exemplar traces (${exemplars}) to see why the agent did not take the result as an answer (a result it cannot parse, an error it ignores).`,
    ],
    acceptance: [criterion('identical_tool_calls', `no agent invocation of ${agent} makes the same tool call ${n} times with nothing new between ${over}`)],
    do: ['Add a test with a scripted model that repeats a call, and check the breaker stops it', 'Keep re-reads after an edit working: a new call (the edit) resets the count'],
    dont: [TELEMETRY_DONT, 'Do not block a call that follows a failed identical call: that is a retry'],
    outputs: ['a loop breaker in the agent loop', 'the reason the agent looped'],
    effort: 'M',
  };
};

export const budgetExceededAdvice: AdviceTemplate<'budget_exceeded'> = (f): Advice => {
  const { pp, exemplars } = f;
  const per = f.m.per ?? 'run';
  const spender = f.m.spender ?? f.label;
  const { budget_usd: usd, budget_tokens: tokens, spend_usd: spend, spend_tokens: spendTokens, budget_ratio: ratio, top_spender: top, unpriced_calls: unpriced } = f.m;
  const limit = usd !== undefined ? formatUsd(usd) : tokens !== undefined ? `${formatCount(tokens)} tokens` : 'the budget';
  const spent = spend !== undefined ? formatUsd(spend) : spendTokens !== undefined ? `${formatCount(spendTokens)} tokens` : undefined;
  const window = pp.evidence.window;
  const who = per === 'run' ? `run ${spender}` : `${per} ${spender}`;
  const amount = (x: number) => (usd !== undefined ? formatUsd(x) : `${formatCount(Math.round(x))} tokens`);
  const breakdowns = (['run', 'agent', 'model'] as const)
    .map((k) => [k, f.m[`by_${k}`] ?? {}] as const)
    .filter(([, b]) => Object.keys(b).length > 0)
    .map(([k, b]) => `${k}: ${sortedBreakdown(b).slice(0, 3).map(([l, v]) => `${l} ${amount(v)}`).join(', ')}`);
  return {
    title: `Cap the spend per ${per} in the orchestrator at ${limit} per ${window}`,
    summary: `${who[0]?.toUpperCase()}${who.slice(1)} spent ${spent ?? 'more than its budget'} over ${window}${ratio !== undefined ? ` (${formatPercent(ratio)} of ${limit})` : ''}${top ? `; biggest spender ${top}` : ''}.`,
    steps: [
      `Sum the cost of model calls per ${per} over ${window} in the orchestrator, and before each call check it against ${limit}: at the budget, stop or pause the ${per === 'run' ? 'run' : 'work'}, or switch to a cheaper model.`,
      `Start with the biggest spenders${breakdowns.length > 0 ? ` (${breakdowns.join('; ')})` : ''}: a smaller model for steps that do not need the large one, trimmed context, cached prompt prefixes.`,
      `Open the exemplar traces (${exemplars}): the most expensive calls of the window.`,
      ...(unpriced !== undefined && unpriced > 0 ? [`${formatCount(unpriced)} calls had no known price: report gen_ai.usage.cost.amount or add their models to service.pricing, so the budget sees them.`] : []),
    ],
    acceptance: [criterion('spend', `spend of each ${per} below ${limit} per ${window} ${f.over}`)],
    do: ['Make the cap configuration, per run / agent / user', 'Log the cap being hit with the spend so far'],
    dont: [TELEMETRY_DONT, 'Do not cut a run off mid-write: stop at a step boundary'],
    outputs: ['a spend cap in the orchestrator', 'the change that cut the biggest spender'],
    effort: 'M',
  };
};
