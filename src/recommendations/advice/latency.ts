/** Advice for the latency kinds: latency_regression, latency_bottleneck, slow_tail. */
import { formatCount, formatDuration, formatPercent, formatRatio } from '../../model/evidence-format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate } from './types.js';

export const latencyRegressionAdvice: AdviceTemplate<'latency_regression'> = (f): Advice => {
  // The detector judges p95, or p99 when both windows hold enough calls; it names the one it used.
  const pct = f.m.percentile === 'p99' ? 'p99' : 'p95';
  const current = pct === 'p99' ? f.m.p99_ms : f.m.p95_ms;
  const baseline = pct === 'p99' ? f.m.baseline_p99_ms : f.m.baseline_p95_ms;
  const ratio = f.m.ratio ?? (current !== undefined && baseline ? current / baseline : undefined);
  const target = baseline !== undefined ? Math.ceil(baseline * 1.2) : undefined;
  const timeout = baseline !== undefined ? Math.ceil(baseline * 2) : undefined;
  return {
    title: `Investigate the ${f.label} latency regression since ${f.pp.first_seen}`,
    summary:
      `${pct} of ${f.label} rose${baseline !== undefined ? ` from ${formatDuration(baseline)}` : ''}${current !== undefined ? ` to ${formatDuration(current)}` : ''}` +
      `${ratio !== undefined ? ` (${formatRatio(ratio)})` : ''} in ${f.window}.`,
    steps: [
      `Look at what changed at ${f.pp.first_seen}: deploys, model version, prompt or context size, provider status.`,
      `Compare the exemplar traces (${f.exemplars}) with traces from before the onset.`,
      `Set a timeout of ${timeout !== undefined ? `${formatCount(timeout)} ms (2 × the baseline ${pct})` : `2 × the baseline ${pct}`} so slow calls fail over instead of stalling the run.`,
      `For idempotent calls, hedge: send a second request after the baseline ${pct} and keep the first answer.`,
    ],
    acceptance: [
      criterion(
        pct === 'p99' ? 'latency_p99' : 'latency_p95',
        target !== undefined ? `${pct} of ${f.label} below ${formatCount(target)} ms ${f.over}` : `${pct} of ${f.label} back within 1.2 × its baseline ${f.over}`,
      ),
    ],
    do: [...COMMON_DO, 'Name the cause in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the regression', 'a fix, or a timeout and hedge while the cause is external'],
    effort: 'M',
  };
};

export const latencyBottleneckAdvice: AdviceTemplate<'latency_bottleneck'> = (f): Advice => {
  const { share, critical_path_ms: onPath, trace_ms: traceMs, traces } = f.m;
  const isModel = f.pp.subject.model !== undefined || /\b(chat|generate|completion|invoke_agent)\b/.test(f.pp.subject.operation ?? '');
  return {
    title: `Take ${f.label} off the critical path`,
    summary:
      `${f.label} takes ${share !== undefined ? formatPercent(share) : 'most'} of the critical path` +
      `${onPath !== undefined && traceMs !== undefined ? ` (${formatDuration(onPath)} of ${formatDuration(traceMs)} per trace)` : ''}` +
      `${traces !== undefined ? ` over ${formatCount(traces)} traces` : ''} in ${f.window}.`,
    steps: isModel
      ? [
          `Use a smaller or faster model for the steps ${f.label} serves that do not need the large one.`,
          'Cut input tokens (trim context, reuse a cached prompt prefix) and stream the answer.',
          'Start independent work while the call runs instead of waiting for it.',
        ]
      : [
          `Run ${f.label} concurrently with the independent work around it instead of before it.`,
          `Cache ${f.label} results keyed by their arguments for the length of a run.`,
          'Move it off the request path when its result is not needed at once (prefetch, background job).',
        ],
    acceptance: [criterion('critical_path_share', `mean critical-path share of ${f.label} below 50 % ${f.over}`)],
    do: [...COMMON_DO, 'Measure the critical path before and after with Sidelight'],
    dont: [...COMMON_DONT, 'Do not trade correctness for speed (stale cache without expiry)'],
    outputs: ['a change that shortens the critical path', 'before/after figures'],
    effort: 'L',
  };
};

export const slowTailAdvice: AdviceTemplate<'slow_tail'> = (f): Advice => {
  const { p50_ms: p50, p95_ms: p95, p99_ms: p99, calls } = f.m;
  const ratio = f.m.ratio ?? (p99 !== undefined && p50 ? p99 / p50 : undefined);
  const timeout = p95 !== undefined ? Math.ceil(p95 * 2) : p50 !== undefined ? Math.ceil(p50 * 5) : undefined;
  const hedgeAfter = p95 ?? (p50 !== undefined ? p50 * 3 : undefined);
  return {
    title: `Cut the slow tail of ${f.label} with timeouts and hedged requests`,
    summary:
      `${f.label}: p99 ${p99 !== undefined ? formatDuration(p99) : '?'} vs p50 ${p50 !== undefined ? formatDuration(p50) : '?'}` +
      `${ratio !== undefined ? ` (${formatRatio(ratio)})` : ''}${calls !== undefined ? ` over ${formatCount(calls)} calls` : ''} in ${f.window}.`,
    steps: [
      `Set a timeout of ${timeout !== undefined ? `${formatCount(timeout)} ms` : 'a few times the median'} on ${f.label} calls.`,
      `For idempotent calls send a hedged second request after ${hedgeAfter !== undefined ? formatDuration(hedgeAfter) : 'the p95'} and keep the first answer.`,
      `Look at the slowest exemplar traces (${f.exemplars}) for a shared cause (cold starts, large inputs, one slow backend).`,
    ],
    acceptance: [criterion('tail_ratio', `p99/p50 of ${f.label} below 10 ${f.over}`)],
    do: [...COMMON_DO, 'Cap hedged requests at 5 % of calls'],
    dont: [...COMMON_DONT, 'Do not hedge calls with side effects'],
    outputs: ['timeouts and hedging on the call'],
    effort: 'M',
  };
};
