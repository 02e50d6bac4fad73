/**
 * The advice templates: for each pain-point kind (and, for failures, each error family) a concrete
 * fix that cites the evidence's numbers, acceptance criteria measurable from Sidelight's own
 * telemetry, constraints for the agent that implements it, and an effort estimate.
 *
 * Templates read only the pain-point record, never the clock, so the text is byte-identical on rerun.
 * Acceptance targets are the docs/painpoints.md default firing thresholds (a fixed problem stops firing).
 */
import type { PainPointRecord } from '../model/painpoint.js';
import type { Effort } from '../model/recommendation.js';
import { subjectLabel } from '../model/series.js';
import { errorFamily, type ErrorFamily } from './error-family.js';
import { BY_ERROR_CLASS, formatCount, formatDuration, formatNumber, formatPercent, formatRatio } from '../model/evidence-format.js';
import { firstMetric, formatBreakdown, metricBreakdown, metricString, sortedBreakdown, windowMinutes } from './format.js';
import { agentLoopAdvice, budgetExceededAdvice, silentFailureAdvice } from './advice-agent.js';

export interface Advice {
  /** imperative, names the subject */
  readonly title: string;
  /** one or two sentences with the evidence's numbers */
  readonly summary: string;
  /** concrete implementation steps, in order */
  readonly steps: readonly string[];
  readonly acceptance: readonly string[];
  readonly do: readonly string[];
  readonly dont: readonly string[];
  readonly outputs: readonly string[];
  readonly effort: Effort;
}

export interface AdviceOptions {
  /** the window acceptance criteria are judged over, as text: "15 m" */
  readonly acceptanceWindow: string;
}

export const DEFAULT_ADVICE_OPTIONS: AdviceOptions = { acceptanceWindow: '15 m' };

/** Everything a template needs about one pain point, read once. */
interface Facts {
  readonly pp: PainPointRecord;
  readonly label: string;
  readonly over: string;
  readonly window: string;
  readonly calls: number | undefined;
  readonly failures: number | undefined;
  readonly errorClass: string | undefined;
  readonly family: ErrorFamily;
  readonly exemplars: string;
}

const COMMON_DO = ['Add or update a test that reproduces the pain point before fixing it'];
const COMMON_DONT = [
  'Do not silence errors, drop spans or change telemetry attributes (error.type, gen_ai.*) to make the figures pass',
];

function facts(pp: PainPointRecord, options: AdviceOptions): Facts {
  const ev = pp.evidence;
  const byClass = metricBreakdown(ev, BY_ERROR_CLASS);
  const dominant = byClass ? sortedBreakdown(byClass)[0]?.[0] : undefined;
  const errorClass = pp.subject.error_class ?? metricString(ev, 'dominant_error_class') ?? dominant;
  return {
    pp,
    label: subjectLabel(pp.subject),
    over: `over ${options.acceptanceWindow}`,
    window: ev.window === 'all' ? 'the whole input' : `the ${ev.window} window`,
    calls: firstMetric(ev, 'calls'),
    failures: firstMetric(ev, 'failures'),
    errorClass,
    family: errorFamily(errorClass),
    exemplars: ev.exemplar_trace_ids.length > 0 ? ev.exemplar_trace_ids.map((t) => `\`${t}\``).join(', ') : 'none recorded',
  };
}

function failureFigures(f: Facts): string {
  const ev = f.pp.evidence;
  const rate = firstMetric(ev, 'failure_rate') ?? (f.calls && f.failures !== undefined ? f.failures / f.calls : undefined);
  const lower = firstMetric(ev, 'wilson_lower');
  const parts: string[] = [];
  if (f.failures !== undefined && f.calls !== undefined) parts.push(`${formatCount(f.failures)} of ${formatCount(f.calls)} calls failed`);
  if (rate !== undefined) parts.push(`failure rate ${formatPercent(rate)}`);
  if (lower !== undefined) parts.push(`Wilson lower bound ${formatPercent(lower)}`);
  const byClass = metricBreakdown(ev, BY_ERROR_CLASS);
  if (byClass) parts.push(`by error class: ${formatBreakdown(byClass)}`);
  return parts.length > 0 ? `${parts.join(', ')} in ${f.window}` : `in ${f.window}`;
}

/** Requests per minute the provider accepted (calls that did not fail with this class), when the window has a length. */
function acceptedPerMinute(f: Facts): { accepted: number; attempted: number } | undefined {
  const minutes = windowMinutes(f.pp.evidence.window);
  if (f.calls === undefined || minutes === undefined) return undefined;
  const limited = metricBreakdown(f.pp.evidence, BY_ERROR_CLASS)?.[f.errorClass ?? ''] ?? f.failures ?? 0;
  return { accepted: (f.calls - limited) / minutes, attempted: f.calls / minutes };
}

function failureRateAdvice(f: Facts): Advice {
  const figures = failureFigures(f);
  const target = `failure rate of ${f.label} below 5 % ${f.over}`;
  const base = { summary: `${f.label}: ${figures}.`, do: COMMON_DO, dont: COMMON_DONT };
  const outputs = [`a change to the code that calls ${f.label}`, 'tests for the new error handling'];
  switch (f.family) {
    case 'rate_limit': {
      const rates = acceptedPerMinute(f);
      const perMin = rates ? Math.max(1, Math.floor(rates.accepted)) : undefined;
      const bucket =
        perMin !== undefined && rates
          ? `${perMin} requests/min (the rate that succeeded in ${f.window}; ${formatNumber(rates.attempted)} requests/min were attempted), burst ${Math.max(1, Math.ceil(perMin / 6))}`
          : 'the rate the provider documents for this key';
      return {
        ...base,
        title: `Rate-limit ${f.label} calls client-side and honour Retry-After`,
        steps: [
          `Put a token bucket in front of every ${f.label} call: ${bucket}, shared by all agents and tasks that use the same API key.`,
          'On a 429 answer wait for its Retry-After header (seconds or HTTP date) before the next attempt; never retry sooner.',
          'When Retry-After is absent, back off exponentially with full jitter (base 1 s, cap 60 s).',
          'Record the time a call waits in the bucket as a span event so queueing shows in traces.',
        ],
        acceptance: [target, `fewer than 1 % of ${f.label} calls fail with ${f.errorClass ?? 'rate_limit'} ${f.over}`],
        do: [...COMMON_DO, 'Keep one bucket per API key and provider, not per call site'],
        dont: [...COMMON_DONT, 'Do not retry a 429 before its Retry-After has passed'],
        outputs: [...outputs, 'the bucket size as configuration, not a constant'],
        effort: 'M',
      };
    }
    case 'quota':
      return {
        ...base,
        title: `Restore the quota behind ${f.label} or route it to another provider`,
        steps: [
          `Check the billing and quota state of the account ${f.label} uses (${figures}).`,
          'Raise the quota or move the workload to a provider or key with headroom.',
          'Treat quota errors as non-retryable: fail the call at once and switch to the fallback provider.',
          'Alert when remaining quota falls below one day of usage.',
        ],
        acceptance: [target, `no ${f.errorClass ?? 'quota'} failures of ${f.label} ${f.over}`],
        dont: [...COMMON_DONT, 'Do not retry quota errors'],
        outputs,
        effort: 'S',
      };
    case 'timeout': {
      const p95 = firstMetric(f.pp.evidence, 'p95_ms');
      const timeout = p95 !== undefined ? `${formatCount(Math.ceil((p95 * 2) / 100) * 100)} ms (2 × the p95 of ${formatDuration(p95)})` : '2 × the p95 of successful calls';
      return {
        ...base,
        title: `Bound ${f.label} timeouts and retry timed-out calls with backoff`,
        steps: [
          `Set an explicit client timeout of ${timeout} on ${f.label} calls.`,
          'Retry timed-out idempotent calls at most 3 times with exponential backoff and full jitter (base 500 ms, cap 10 s).',
          `Open the exemplar traces (${f.exemplars}) to see whether the time goes to the dependency or to queueing before it.`,
        ],
        acceptance: [target, `fewer than 1 % of ${f.label} calls fail with ${f.errorClass ?? 'timeout'} ${f.over}`],
        dont: [...COMMON_DONT, 'Do not raise the timeout without a bound'],
        outputs,
        effort: 'M',
      };
    }
    case 'network':
      return {
        ...base,
        title: `Retry transient network errors of ${f.label} with backoff and reuse connections`,
        steps: [
          `Retry ${f.errorClass ?? 'network'} errors of idempotent ${f.label} calls up to 3 times with exponential backoff and full jitter (base 250 ms, cap 5 s).`,
          'Reuse connections (keep-alive agent / connection pool) instead of opening one per call.',
          `Check the endpoint's health and DNS from the exemplar traces (${f.exemplars}).`,
        ],
        acceptance: [target],
        outputs,
        effort: 'M',
      };
    case 'authentication':
      return {
        ...base,
        title: `Fix ${f.label} credentials and fail fast on authentication errors`,
        steps: [
          `Verify the API key or token ${f.label} uses: present, not expired, with the needed scope (${figures}).`,
          'Stop retrying 401/403 answers: fail the task at once with a clear message.',
          'Check credentials once at start-up so a bad key fails the run before any work.',
        ],
        acceptance: [target, `no ${f.errorClass ?? 'authentication'} failures of ${f.label} ${f.over}`],
        dont: [...COMMON_DONT, 'Do not log secrets while debugging'],
        outputs,
        effort: 'S',
      };
    case 'invalid_request':
      return {
        ...base,
        title: `Validate ${f.label} requests before sending them`,
        steps: [
          `Find the rejected field from the exemplar traces (${f.exemplars}).`,
          `Validate ${f.label} arguments against the API schema before the call and fix the code or prompt that builds them.`,
          'Fail fast on 400/422 answers: they do not succeed on retry.',
        ],
        acceptance: [target, `no ${f.errorClass ?? 'invalid_request'} failures of ${f.label} ${f.over}`],
        dont: [...COMMON_DONT, 'Do not retry validation errors'],
        outputs,
        effort: 'M',
      };
    case 'not_found':
      return {
        ...base,
        title: `Check ${f.label} resource identifiers before calling`,
        steps: [
          `Find the missing resource from the exemplar traces (${f.exemplars}).`,
          'Check that the id, path or model name exists before the call, or create it first.',
          'Fail fast on 404 answers instead of retrying.',
        ],
        acceptance: [target],
        outputs,
        effort: 'S',
      };
    case 'other':
      return {
        ...base,
        title: `Reduce the failure rate of ${f.label}`,
        steps: [
          `Classify the failures from the exemplar traces (${f.exemplars}) and set error.type on them.`,
          'Handle the largest error class first: retry transient ones with backoff, fail fast on the rest.',
          `Add a fallback for ${f.label} when it keeps failing (circuit breaker).`,
        ],
        acceptance: [target],
        outputs,
        effort: 'M',
      };
  }
}

function failureSpikeAdvice(f: Facts): Advice {
  const rate = firstMetric(f.pp.evidence, 'failure_rate', 'short_failure_rate');
  const baseline = firstMetric(f.pp.evidence, 'baseline_failure_rate', 'long_failure_rate');
  const target = Math.max(0.05, (baseline ?? 0) + 0.05);
  const rise = rate !== undefined && baseline !== undefined ? ` (${formatPercent(baseline)} → ${formatPercent(rate)})` : '';
  return {
    title: `Find what changed at ${f.pp.first_seen} that made ${f.label} fail`,
    summary: `${f.label} failures spiked above their baseline${rise}: ${failureFigures(f)}.`,
    steps: [
      `List what changed around ${f.pp.first_seen}: deploys, config, prompts, model versions, provider status pages.`,
      `Open the exemplar traces (${f.exemplars}) and compare them with a successful call from before the onset.`,
      'Roll back the change, or when the cause is external, route around it (fallback provider, circuit breaker).',
    ],
    acceptance: [`failure rate of ${f.label} below ${formatPercent(target)} ${f.over}`],
    do: [...COMMON_DO, 'Write down the cause found in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the spike, with the trace ids that show it', 'a fix or rollback'],
    effort: 'M',
  };
}

const CLUSTER_ACTION: Readonly<Record<ErrorFamily, string>> = {
  rate_limit: 'share one client-side rate limiter (token bucket per API key) across every caller and honour Retry-After',
  quota: 'restore the quota of the shared account or move callers to a key with headroom',
  authentication: 'rotate or fix the shared credential and check it once at start-up',
  timeout: 'find the slow shared dependency, give every caller an explicit timeout and one retry with backoff',
  network: 'check the shared endpoint, proxy and DNS; reuse connections and retry transient errors with backoff',
  invalid_request: 'fix the shared request builder or schema that produces the rejected requests',
  not_found: 'fix the shared configuration (ids, paths, model names) that points at a missing resource',
  other: 'find the shared library or service behind the common error message and fix it there',
};

function errorClusterAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const ops = metricBreakdown(ev, 'by_operation');
  const opCount = firstMetric(ev, 'operations') ?? (ops ? Object.keys(ops).length : undefined);
  const ec = f.errorClass ?? 'the same error';
  const where = opCount !== undefined ? `${formatCount(opCount)} operations` : 'several operations';
  const share = firstMetric(ev, 'share');
  const template = metricString(ev, 'template');
  return {
    title: `Fix the shared cause of ${ec} errors across ${where}`,
    summary:
      `${f.failures !== undefined ? formatCount(f.failures) : 'Many'} failures of class ${ec} on ${where} in ${f.window}` +
      `${share !== undefined ? ` (${formatPercent(share)} of all failures)` : ''}` +
      `${ops ? `: ${formatBreakdown(ops)}` : ''}${template ? `; message: "${template}"` : ''}.`,
    steps: [
      `The operations fail the same way, so the cause is shared: ${CLUSTER_ACTION[f.family]}.`,
      `Start from the exemplar traces (${f.exemplars}).`,
      'Fix it once in the shared client or dependency, not per call site.',
    ],
    acceptance: [`fewer than 10 ${ec} failures across all operations ${f.over}`],
    do: [...COMMON_DO, 'Change the shared client or dependency once'],
    dont: [...COMMON_DONT, 'Do not add per-operation workarounds for a shared cause'],
    outputs: ['the shared cause named in the task result', 'one fix in the shared code path'],
    effort: f.family === 'authentication' || f.family === 'quota' ? 'S' : 'L',
  };
}

function retryStormAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const perMin = firstMetric(ev, 'retries_per_min', 'retry_rate');
  const baseline = firstMetric(ev, 'baseline_retries_per_min', 'baseline_retry_rate');
  const amplification = firstMetric(ev, 'amplification');
  const target = Math.max(10, Math.ceil((baseline ?? 0) * 1.5));
  const figures = [
    perMin !== undefined ? `${formatNumber(perMin)} retries/min` : undefined,
    baseline !== undefined ? `baseline ${formatNumber(baseline)}/min` : undefined,
    amplification !== undefined ? `nested attempts multiply to ×${formatNumber(amplification)}` : undefined,
    firstMetric(ev, 'retries') !== undefined ? `${formatCount(firstMetric(ev, 'retries') ?? 0)} retries` : undefined,
  ].filter((s): s is string => s !== undefined);
  return {
    title: `Stop the retry storm on ${f.label}`,
    summary: `${f.label} is retried far above normal in ${f.window}${figures.length > 0 ? `: ${figures.join(', ')}` : ''}.`,
    steps: [
      `Retry at one layer only${amplification !== undefined ? ` (today nested layers multiply attempts ×${formatNumber(amplification)})` : ''}: remove retries from inner clients or outer task loops.`,
      `Add a retry budget: retries of ${f.label} may be at most 10 % of its calls per minute; beyond it fail fast.`,
      'Add a circuit breaker that opens after 5 consecutive failures and probes again after 30 s.',
      'Space the remaining retries with exponential backoff and full jitter.',
    ],
    acceptance: [`retries per minute of ${f.label} below ${formatCount(target)} ${f.over}`],
    do: [...COMMON_DO, 'Keep the retry policy in one shared place'],
    dont: [...COMMON_DONT, 'Do not add another retry layer'],
    outputs: ['one retry policy with a budget', 'a circuit breaker around the call'],
    effort: 'M',
  };
}

function retryExhaustionAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const chains = firstMetric(ev, 'chains', 'retried_chains');
  const exhausted = firstMetric(ev, 'exhausted_chains', 'exhausted');
  const share = firstMetric(ev, 'share', 'exhaustion_rate') ?? (chains && exhausted !== undefined ? exhausted / chains : undefined);
  const wasted = firstMetric(ev, 'wasted_ms');
  const provider = f.pp.subject.provider;
  return {
    title: `Add a circuit breaker or fallback provider for ${f.label}`,
    summary:
      `${exhausted !== undefined && chains !== undefined ? `${formatCount(exhausted)} of ${formatCount(chains)} retried chains` : 'Retried chains'} of ${f.label} ended in failure after all attempts` +
      `${share !== undefined ? ` (${formatPercent(share)})` : ''} in ${f.window}${wasted !== undefined ? `, wasting ${formatDuration(wasted)}` : ''}.`,
    steps: [
      `Wrap ${f.label} in a circuit breaker: open when ≥ 50 % of calls fail over 30 s (min 10 calls), half-open after 30 s with one probe.`,
      `When the breaker is open or attempts are exhausted, switch to a fallback${provider ? ` provider other than ${provider}` : ' provider or a cached answer'} instead of failing the task.`,
      'Lower max attempts to 3: attempts past that rarely succeed here and cost time.',
    ],
    acceptance: [`fewer than 20 % of retried ${f.label} chains end in failure ${f.over}`],
    do: [...COMMON_DO, 'Make the fallback visible as a span attribute'],
    dont: [...COMMON_DONT, 'Do not raise the number of attempts'],
    outputs: ['a circuit breaker around the call', 'a configured fallback'],
    effort: 'M',
  };
}

function retryNonRetryableAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const byClass = metricBreakdown(ev, BY_ERROR_CLASS);
  const seen = byClass ? formatBreakdown(byClass, 10) : (f.errorClass ?? 'non-retryable errors');
  const retries = firstMetric(ev, 'retries');
  const share = firstMetric(ev, 'share');
  return {
    title: `Fail fast on non-retryable ${f.label} errors`,
    summary:
      `${retries !== undefined ? formatCount(retries) : 'Several'} retries of ${f.label} followed errors that cannot succeed on retry (${seen})` +
      `${share !== undefined ? `, ${formatPercent(share)} of its calls` : ''} in ${f.window}.`,
    steps: [
      'Classify errors before retrying: retryable = timeouts, network errors, 408, 429, 5xx; everything else fails fast.',
      `Stop retrying the classes seen here: ${seen}.`,
      'Surface the error to the caller with its class so the task fails with a clear reason.',
    ],
    acceptance: [`0 retries after non-retryable errors (4xx other than 408/429, validation, auth) of ${f.label} ${f.over}`],
    do: [...COMMON_DO, 'Keep the retryable list in one function with a test per class'],
    dont: [...COMMON_DONT, 'Do not retry 4xx answers other than 408 and 429'],
    outputs: ['an error classifier used by the retry policy', 'tests per error class'],
    effort: 'S',
  };
}

function retryNoBackoffAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const gap = firstMetric(ev, 'median_gap_ms');
  const retries = firstMetric(ev, 'retries');
  const maxAttempts = firstMetric(ev, 'max_attempts');
  const baseMs = gap !== undefined && gap >= 250 ? Math.round(gap / 50) * 50 : 250;
  const capMs = Math.min(30_000, baseMs * 32);
  const attempts = maxAttempts !== undefined && maxAttempts >= 2 ? Math.min(5, Math.round(maxAttempts)) : 4;
  return {
    title: `Add exponential backoff with jitter to ${f.label} retries`,
    summary:
      `${retries !== undefined ? `${formatCount(retries)} retries` : 'Retries'} of ${f.label} came at fixed intervals` +
      `${gap !== undefined ? ` (median gap ${formatDuration(gap)})` : ''} in ${f.window}, with no backoff or jitter.`,
    steps: [
      `Wait delay = random(0, min(${formatCount(capMs)} ms, ${formatCount(baseMs)} ms × 2^attempt)) before each retry (full jitter).`,
      `Stop after ${attempts} attempts in all.`,
      'Honour Retry-After when the answer carries it, taking the longer of it and the computed delay.',
    ],
    acceptance: [`${f.label} retry gaps grow ≥ 1.5× per attempt ${f.over}`, `median retry gap of ${f.label} ≥ ${formatCount(baseMs)} ms ${f.over}`],
    do: [...COMMON_DO, 'Inject the random source so tests are deterministic'],
    dont: [...COMMON_DONT, 'Do not sleep a fixed interval between attempts'],
    outputs: ['a backoff function with base, cap and max attempts as configuration'],
    effort: 'S',
  };
}

function latencyRegressionAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  // The detector judges p95, or p99 when configured so; it names the one it used.
  const pct = metricString(ev, 'percentile') === 'p99' ? 'p99' : 'p95';
  const current = firstMetric(ev, `${pct}_ms`);
  const baseline = firstMetric(ev, `baseline_${pct}_ms`);
  const ratio = firstMetric(ev, 'ratio') ?? (current !== undefined && baseline ? current / baseline : undefined);
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
      target !== undefined ? `${pct} of ${f.label} below ${formatCount(target)} ms ${f.over}` : `${pct} of ${f.label} back within 1.2 × its baseline ${f.over}`,
    ],
    do: [...COMMON_DO, 'Name the cause in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the regression', 'a fix, or a timeout and hedge while the cause is external'],
    effort: 'M',
  };
}

function latencyBottleneckAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const share = firstMetric(ev, 'share', 'critical_path_share');
  const p95 = firstMetric(ev, 'p95_ms');
  const traces = firstMetric(ev, 'traces', 'affected_traces');
  const isModel = f.pp.subject.model !== undefined || /\b(chat|generate|completion|invoke_agent)\b/.test(f.pp.subject.operation ?? '');
  return {
    title: `Take ${f.label} off the critical path`,
    summary:
      `${f.label} takes ${share !== undefined ? formatPercent(share) : 'most'} of the critical path` +
      `${traces !== undefined ? ` over ${formatCount(traces)} traces` : ''}${p95 !== undefined ? ` (p95 ${formatDuration(p95)})` : ''} in ${f.window}.`,
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
    acceptance: [`mean critical-path share of ${f.label} below 50 % ${f.over}`],
    do: [...COMMON_DO, 'Measure the critical path before and after with Sidelight'],
    dont: [...COMMON_DONT, 'Do not trade correctness for speed (stale cache without expiry)'],
    outputs: ['a change that shortens the critical path', 'before/after figures'],
    effort: 'L',
  };
}

function slowTailAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const p50 = firstMetric(ev, 'p50_ms');
  const p95 = firstMetric(ev, 'p95_ms');
  const p99 = firstMetric(ev, 'p99_ms');
  const ratio = firstMetric(ev, 'ratio') ?? (p99 !== undefined && p50 ? p99 / p50 : undefined);
  const timeout = p95 !== undefined ? Math.ceil(p95 * 2) : p50 !== undefined ? Math.ceil(p50 * 5) : undefined;
  const hedgeAfter = p95 ?? (p50 !== undefined ? p50 * 3 : undefined);
  return {
    title: `Cut the slow tail of ${f.label} with timeouts and hedged requests`,
    summary:
      `${f.label}: p99 ${p99 !== undefined ? formatDuration(p99) : '?'} vs p50 ${p50 !== undefined ? formatDuration(p50) : '?'}` +
      `${ratio !== undefined ? ` (${formatRatio(ratio)})` : ''}${f.calls !== undefined ? ` over ${formatCount(f.calls)} calls` : ''} in ${f.window}.`,
    steps: [
      `Set a timeout of ${timeout !== undefined ? `${formatCount(timeout)} ms` : 'a few times the median'} on ${f.label} calls.`,
      `For idempotent calls send a hedged second request after ${hedgeAfter !== undefined ? formatDuration(hedgeAfter) : 'the p95'} and keep the first answer.`,
      `Look at the slowest exemplar traces (${f.exemplars}) for a shared cause (cold starts, large inputs, one slow backend).`,
    ],
    acceptance: [`p99/p50 of ${f.label} below 10 ${f.over}`],
    do: [...COMMON_DO, 'Cap hedged requests at 5 % of calls'],
    dont: [...COMMON_DONT, 'Do not hedge calls with side effects'],
    outputs: ['timeouts and hedging on the call'],
    effort: 'M',
  };
}

function repeatedCallsAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const perParent = firstMetric(ev, 'calls_per_parent', 'repeats', 'max_repeats');
  const share = firstMetric(ev, 'share');
  return {
    title: `Batch or cache repeated ${f.label} calls`,
    summary:
      `${f.label} is called ${perParent !== undefined ? `${formatCount(perParent)} times` : 'many times'} in a row under one parent` +
      `${share !== undefined ? `, ${formatPercent(share)} of the parent's time` : ''} in ${f.window} (N+1 pattern).`,
    steps: [
      `Collect the arguments and make one batched ${f.label} call when the API supports it.`,
      `Otherwise memoize ${f.label} per run, keyed by its arguments, and skip identical calls.`,
      'Where the calls must stay separate, run them concurrently with a small concurrency limit (4).',
    ],
    acceptance: [`fewer than 10 consecutive ${f.label} calls under one parent ${f.over}`],
    do: [...COMMON_DO, 'Give the cache a size bound and expiry'],
    dont: COMMON_DONT,
    outputs: ['a batched or cached call path'],
    effort: 'M',
  };
}

function sequentialFanoutAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const saving = firstMetric(ev, 'saving_ms', 'wasted_ms');
  const share = firstMetric(ev, 'share', 'saving_share');
  const length = firstMetric(ev, 'sequence_length', 'calls_in_sequence');
  return {
    title: `Run ${f.label} tool calls concurrently`,
    summary:
      `${length !== undefined ? `${formatCount(length)} ` : ''}independent ${f.label} tool calls run one after another in ${f.window}` +
      `${saving !== undefined ? `; running them in parallel would save about ${formatDuration(saving)}` : ''}` +
      `${share !== undefined ? ` (${formatPercent(share)} of the parent)` : ''}.`,
    steps: [
      'When the model asks for several tools in one turn, start them together with Promise.all (Promise.allSettled to keep partial results).',
      'Limit concurrency to 4 per turn and keep the results in the order the model asked for them.',
      `Estimated saving: ${saving !== undefined ? `${formatDuration(saving)} per parent` : 'the sum of all but the longest call'}.`,
    ],
    acceptance: [`no run of ≥ 3 sequential ${f.label} calls with gaps ≤ 100 ms ${f.over}`],
    do: [...COMMON_DO, 'Keep tool calls with side effects on shared state sequential'],
    dont: COMMON_DONT,
    outputs: ['concurrent tool execution in the agent loop'],
    effort: 'S',
  };
}

function providerFallbackAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const provider = f.pp.subject.provider ?? f.label;
  const perTask = firstMetric(ev, 'fallbacks_per_task');
  const tasks = firstMetric(ev, 'tasks');
  const to = metricBreakdown(ev, 'by_provider');
  const reasons = metricBreakdown(ev, BY_ERROR_CLASS);
  return {
    title: `Check ${provider} health and quota before relying on it`,
    summary:
      `Tasks fall back from ${provider}${perTask !== undefined ? ` ${formatNumber(perTask, 2)} times per task` : ' often'}` +
      `${tasks !== undefined ? ` over ${formatCount(tasks)} tasks` : ''} in ${f.window}` +
      `${to ? `; fallbacks went to ${formatBreakdown(to)}` : ''}${reasons ? `; reasons: ${formatBreakdown(reasons)}` : ''}.`,
    steps: [
      `Check ${provider}'s status page, quota and rate limits for the key in use${reasons ? ` (reasons seen: ${formatBreakdown(reasons)})` : ''}.`,
      `Skip ${provider} for 5 minutes after 3 consecutive failures instead of trying it first on every task.`,
      'Put the healthiest provider first in the fallback order, from recent failure rates.',
    ],
    acceptance: [`fallbacks per task away from ${provider} below 0.2 ${f.over}`],
    do: [...COMMON_DO, 'Record the fallback reason on the task span'],
    dont: [...COMMON_DONT, 'Do not remove the fallback'],
    outputs: ['provider health check or skip rule', 'the cause of the fallbacks'],
    effort: 'S',
  };
}

/** Token series: the detector names it so in a string metric, a metric name, or the title. */
export function isTokenAnomaly(pp: Pick<PainPointRecord, 'evidence' | 'title'>): boolean {
  const named = ['metric', 'series', 'signal'].some((k) => /token/i.test(metricString(pp.evidence, k) ?? ''));
  return named || Object.keys(pp.evidence.metrics).some((k) => /tokens?(?:$|_)/i.test(k) && k !== 'wasted_tokens') || /token/i.test(pp.title);
}

function anomalyAdvice(f: Facts): Advice {
  const ev = f.pp.evidence;
  const z = firstMetric(ev, 'z', 'robust_z', 'z_score');
  const value = firstMetric(ev, 'value', 'observed');
  const median = firstMetric(ev, 'median', 'baseline');
  const metric = metricString(ev, 'metric') ?? metricString(ev, 'series') ?? 'value';
  const figures = `${value !== undefined ? `${formatNumber(value)}` : 'an outlier'}${median !== undefined ? ` vs a median of ${formatNumber(median)}` : ''}${z !== undefined ? ` (robust z ${formatNumber(z)})` : ''}`;
  if (isTokenAnomaly(f.pp)) {
    const cap = median !== undefined ? Math.ceil(median * 1.5) : undefined;
    return {
      title: `Trim context and cap max_tokens for ${f.label}`,
      summary: `Token usage (${metric}) of ${f.label} is ${figures} in ${f.window}.`,
      steps: [
        'Trim the context sent to the model: drop stale turns, summarize long histories, send only the files the step needs.',
        `Cap max_tokens${cap !== undefined ? ` at about ${formatCount(cap)} (1.5 × the median)` : ' at a bound fit for the step'}.`,
        `Check the exemplar traces (${f.exemplars}) for loops that resend the same content.`,
      ],
      acceptance: [`robust z-score of ${metric} of ${f.label} below 4 ${f.over}`],
      do: [...COMMON_DO, 'Keep the context budget as configuration'],
      dont: [...COMMON_DONT, 'Do not cut context the task needs to succeed'],
      outputs: ['a context budget and max_tokens cap'],
      effort: 'M',
    };
  }
  return {
    title: `Investigate the ${metric} anomaly of ${f.label}`,
    summary: `${metric} of ${f.label} is ${figures} in ${f.window}.`,
    steps: [
      `Look at what changed at ${f.pp.first_seen} and open the exemplar traces (${f.exemplars}).`,
      'Decide whether the new level is expected; if not, fix its cause, else let the baseline adapt.',
    ],
    acceptance: [`robust z-score of ${metric} of ${f.label} below 4 ${f.over}`],
    do: [...COMMON_DO, 'Name the cause in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the anomaly'],
    effort: 'M',
  };
}

export function adviseFor(pp: PainPointRecord, options: AdviceOptions = DEFAULT_ADVICE_OPTIONS): Advice {
  const f = facts(pp, options);
  switch (pp.kind) {
    case 'failure_rate':
      return failureRateAdvice(f);
    case 'failure_spike':
      return failureSpikeAdvice(f);
    case 'error_cluster':
      return errorClusterAdvice(f);
    case 'retry_storm':
      return retryStormAdvice(f);
    case 'retry_exhaustion':
      return retryExhaustionAdvice(f);
    case 'retry_non_retryable':
      return retryNonRetryableAdvice(f);
    case 'retry_no_backoff':
      return retryNoBackoffAdvice(f);
    case 'latency_regression':
      return latencyRegressionAdvice(f);
    case 'latency_bottleneck':
      return latencyBottleneckAdvice(f);
    case 'slow_tail':
      return slowTailAdvice(f);
    case 'repeated_calls':
      return repeatedCallsAdvice(f);
    case 'sequential_fanout':
      return sequentialFanoutAdvice(f);
    case 'provider_fallback':
      return providerFallbackAdvice(f);
    case 'anomaly':
      return anomalyAdvice(f);
    case 'silent_failure':
      return silentFailureAdvice(pp, options);
    case 'agent_loop':
      return agentLoopAdvice(pp, options);
    case 'budget_exceeded':
      return budgetExceededAdvice(pp, options);
  }
}
