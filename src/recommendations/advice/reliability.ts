/** Advice for failures seen beyond one operation's rate: failure_spike, error_cluster, provider_fallback. */
import { formatCount, formatNumber, formatPercent } from '../../model/evidence-format.js';
import type { ErrorFamily } from '../error-family.js';
import { formatBreakdown } from '../format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate } from './types.js';
import { failureFigures, familyOf, nonEmpty } from './failure-facts.js';

export const failureSpikeAdvice: AdviceTemplate<'failure_spike'> = (f): Advice => {
  const rate = f.m.failure_rate;
  const baseline = f.m.baseline_failure_rate;
  // back to the baseline, within 5 points, and never asked below 5 %
  const target = Math.max(0.05, (baseline ?? 0) + 0.05);
  const rise = rate !== undefined && baseline !== undefined ? ` (${formatPercent(baseline)} → ${formatPercent(rate)})` : '';
  return {
    title: `Find what changed at ${f.pp.first_seen} that made ${f.label} fail`,
    summary: `${f.label} failures spiked above their baseline${rise}: ${failureFigures(f.m, f.window)}.`,
    steps: [
      `List what changed around ${f.pp.first_seen}: deploys, config, prompts, model versions, provider status pages.`,
      `Open the exemplar traces (${f.exemplars}) and compare them with a successful call from before the onset.`,
      'Roll back the change, or when the cause is external, route around it (fallback provider, circuit breaker).',
    ],
    acceptance: [criterion('failure_rate', `failure rate of ${f.label} below ${formatPercent(target)} ${f.over}`)],
    do: [...COMMON_DO, 'Write down the cause found in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the spike, with the trace ids that show it', 'a fix or rollback'],
    effort: 'M',
  };
};

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

export const errorClusterAdvice: AdviceTemplate<'error_cluster'> = (f): Advice => {
  const ops = nonEmpty(f.m.by_operation);
  const opCount = f.m.operations ?? (ops ? Object.keys(ops).length : undefined);
  const errorClass = f.pp.subject.error_class ?? f.m.error_class;
  const ec = errorClass ?? 'the same error';
  const where = opCount !== undefined ? `${formatCount(opCount)} operations` : 'several operations';
  const family = familyOf(f.pp.subject, { dominant_error_class: f.m.error_class });
  const template = f.m.template !== undefined && f.m.template !== '' && f.m.template !== errorClass ? f.m.template : undefined;
  return {
    title: `Fix the shared cause of ${ec} errors across ${where}`,
    summary:
      `${f.m.failures !== undefined ? formatCount(f.m.failures) : 'Many'} failures of class ${ec} on ${where} in ${f.window}` +
      `${f.m.share !== undefined ? ` (${formatPercent(f.m.share)} of all failures)` : ''}` +
      `${ops ? `: ${formatBreakdown(ops)}` : ''}${template ? `; message: "${template}"` : ''}.`,
    steps: [
      `The operations fail the same way, so the cause is shared: ${CLUSTER_ACTION[family]}.`,
      `Start from the exemplar traces (${f.exemplars}).`,
      'Fix it once in the shared client or dependency, not per call site.',
    ],
    acceptance: [criterion('class_failures', `fewer than 10 ${ec} failures across all operations ${f.over}`, errorClass ?? 'the same error')],
    do: [...COMMON_DO, 'Change the shared client or dependency once'],
    dont: [...COMMON_DONT, 'Do not add per-operation workarounds for a shared cause'],
    outputs: ['the shared cause named in the task result', 'one fix in the shared code path'],
    effort: family === 'authentication' || family === 'quota' ? 'S' : 'L',
  };
};

export const providerFallbackAdvice: AdviceTemplate<'provider_fallback'> = (f): Advice => {
  const provider = f.pp.subject.provider ?? f.label;
  const to = nonEmpty(f.m.by_provider);
  const reasons = nonEmpty(f.m.by_error_class);
  return {
    title: `Check ${provider} health and quota before relying on it`,
    summary:
      `Tasks fall back from ${provider}${f.m.fallbacks_per_task !== undefined ? ` ${formatNumber(f.m.fallbacks_per_task, 2)} times per task` : ' often'}` +
      `${f.m.tasks !== undefined ? ` over ${formatCount(f.m.tasks)} tasks` : ''} in ${f.window}` +
      `${to ? `; fallbacks went to ${formatBreakdown(to)}` : ''}${reasons ? `; reasons: ${formatBreakdown(reasons)}` : ''}.`,
    steps: [
      `Check ${provider}'s status page, quota and rate limits for the key in use${reasons ? ` (reasons seen: ${formatBreakdown(reasons)})` : ''}.`,
      `Skip ${provider} for 5 minutes after 3 consecutive failures instead of trying it first on every task.`,
      'Put the healthiest provider first in the fallback order, from recent failure rates.',
    ],
    acceptance: [criterion('fallbacks_per_task', `fallbacks per task away from ${provider} below 0.2 ${f.over}`)],
    do: [...COMMON_DO, 'Record the fallback reason on the task span'],
    dont: [...COMMON_DONT, 'Do not remove the fallback'],
    outputs: ['provider health check or skip rule', 'the cause of the fallbacks'],
    effort: 'S',
  };
};
