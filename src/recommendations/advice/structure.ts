/** Advice for the call-structure kinds: repeated_calls (N+1) and sequential_fanout. */
import { formatCount, formatDuration, formatPercent } from '../../model/evidence-format.js';
import { sortedBreakdown } from '../format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate } from './types.js';

export const repeatedCallsAdvice: AdviceTemplate<'repeated_calls'> = (f): Advice => {
  const { calls_per_parent: perParent, share, parent_operation: parent } = f.m;
  return {
    title: `Batch or cache repeated ${f.label} calls`,
    summary:
      `${f.label} is called ${perParent !== undefined ? `${formatCount(perParent)} times` : 'many times'} in a row under ${parent ?? 'one parent'}` +
      `${share !== undefined ? `, ${formatPercent(share)} of the parent's time` : ''} in ${f.window} (N+1 pattern).`,
    steps: [
      `Collect the arguments and make one batched ${f.label} call when the API supports it.`,
      `Otherwise memoize ${f.label} per run, keyed by its arguments, and skip identical calls.`,
      'Where the calls must stay separate, run them concurrently with a small concurrency limit (4).',
    ],
    acceptance: [criterion('consecutive_calls', `fewer than 10 consecutive ${f.label} calls under one parent ${f.over}`)],
    do: [...COMMON_DO, 'Give the cache a size bound and expiry'],
    dont: COMMON_DONT,
    outputs: ['a batched or cached call path'],
    effort: 'M',
  };
};

export const sequentialFanoutAdvice: AdviceTemplate<'sequential_fanout'> = (f): Advice => {
  const { saving_ms: saving, share, sequence_length: length } = f.m;
  // the subject is the parent that runs the calls; name the tools it runs one by one
  const tools = f.m.tools !== undefined ? sortedBreakdown(f.m.tools).map(([tool]) => tool).slice(0, 3) : [];
  const which = tools.length > 0 ? ` (${tools.join(', ')})` : '';
  return {
    title: `Run ${f.label} tool calls concurrently`,
    summary:
      `${length !== undefined ? `${formatCount(length)} ` : ''}independent tool calls${which} run one after another under ${f.label} in ${f.window}` +
      `${saving !== undefined ? `; running them in parallel would save about ${formatDuration(saving)}` : ''}` +
      `${share !== undefined ? ` (${formatPercent(share)} of the parent)` : ''}.`,
    steps: [
      'When the model asks for several tools in one turn, start them together with Promise.all (Promise.allSettled to keep partial results).',
      'Limit concurrency to 4 per turn and keep the results in the order the model asked for them.',
      `Estimated saving: ${saving !== undefined ? `${formatDuration(saving)} per parent` : 'the sum of all but the longest call'}.`,
    ],
    acceptance: [criterion('sequential_tool_calls', `no run of ≥ 3 sequential tool calls under ${f.label} with gaps ≤ 100 ms ${f.over}`)],
    do: [...COMMON_DO, 'Keep tool calls with side effects on shared state sequential'],
    dont: COMMON_DONT,
    outputs: ['concurrent tool execution in the agent loop'],
    effort: 'S',
  };
};
