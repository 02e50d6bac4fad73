/** failure_rate advice: a fix per error family (rate limit, quota, timeout, network, authentication, invalid request, not found). */
import { formatDuration, formatNumber } from '../../model/evidence-format.js';
import { windowMinutes } from '../format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate, type Facts } from './types.js';
import { errorClassOf, failureFigures, familyOf } from './failure-facts.js';

/** Requests per minute the provider accepted (calls that did not fail with this class), when the window has a length. */
function acceptedPerMinute(f: Facts<'failure_rate'>, errorClass: string | undefined): { accepted: number; attempted: number } | undefined {
  const minutes = windowMinutes(f.pp.evidence.window);
  const calls = f.m.calls;
  if (calls === undefined || minutes === undefined) return undefined;
  const limited = f.m.by_error_class?.[errorClass ?? ''] ?? f.m.failures ?? 0;
  return { accepted: (calls - limited) / minutes, attempted: calls / minutes };
}

export const failureRateAdvice: AdviceTemplate<'failure_rate'> = (f): Advice => {
  const errorClass = errorClassOf(f.pp.subject, f.m);
  const figures = failureFigures(f.m, f.window);
  const target = criterion('failure_rate', `failure rate of ${f.label} below 5 % ${f.over}`);
  const classFailures = (text: string, fallback: string) => criterion('class_failures', text, errorClass ?? fallback);
  const base = { summary: `${f.label}: ${figures}.`, do: COMMON_DO, dont: COMMON_DONT };
  const outputs = [`a change to the code that calls ${f.label}`, 'tests for the new error handling'];
  switch (familyOf(f.pp.subject, f.m)) {
    case 'rate_limit': {
      const rates = acceptedPerMinute(f, errorClass);
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
        acceptance: [target, classFailures(`fewer than 1 % of ${f.label} calls fail with ${errorClass ?? 'rate_limit'} ${f.over}`, 'rate_limit')],
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
        acceptance: [target, classFailures(`no ${errorClass ?? 'quota'} failures of ${f.label} ${f.over}`, 'quota')],
        dont: [...COMMON_DONT, 'Do not retry quota errors'],
        outputs,
        effort: 'S',
      };
    case 'timeout': {
      // Failed calls' time over their count: how long a call waits today before it times out.
      const waited = f.m.wasted_ms !== undefined && f.m.failures ? f.m.wasted_ms / f.m.failures : undefined;
      return {
        ...base,
        title: `Bound ${f.label} timeouts and retry timed-out calls with backoff`,
        steps: [
          `Set an explicit client timeout on ${f.label} calls of 2 × the p95 of its successful calls (sidelight_operation_latency_ms{quantile="0.95"} on /metrics)` +
            `${waited !== undefined ? `; failed calls waited ${formatDuration(waited)} on average before failing` : ''}.`,
          'Retry timed-out idempotent calls at most 3 times with exponential backoff and full jitter (base 500 ms, cap 10 s).',
          `Open the exemplar traces (${f.exemplars}) to see whether the time goes to the dependency or to queueing before it.`,
        ],
        acceptance: [target, classFailures(`fewer than 1 % of ${f.label} calls fail with ${errorClass ?? 'timeout'} ${f.over}`, 'timeout')],
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
          `Retry ${errorClass ?? 'network'} errors of idempotent ${f.label} calls up to 3 times with exponential backoff and full jitter (base 250 ms, cap 5 s).`,
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
        acceptance: [target, classFailures(`no ${errorClass ?? 'authentication'} failures of ${f.label} ${f.over}`, 'authentication')],
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
        acceptance: [target, classFailures(`no ${errorClass ?? 'invalid_request'} failures of ${f.label} ${f.over}`, 'invalid_request')],
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
};
