/**
 * failure_rate and failure_spike observations: the head the lifecycle and categorize read at
 * once, and the text and evidence built only for an emitted change (lazyObservation).
 */
import { lazyObservation, type Observation, type Severity, type Subject } from '../../src/model/painpoint.js';
import { subjectLabel } from '../../src/model/series.js';
import { formatDuration, formatPercent, windowPhrase } from '../../src/model/evidence-format.js';
import type { FailureRateMetrics, FailureSpikeMetrics } from '../../src/model/evidence/index.js';
import type { FailureRateConfig } from './config.js';
import { failureDetail, failureRunIds, type FailureDetail } from './accumulation.js';
import type { Baseline, Judged } from './rules.js';

/** "codex (kc.task)" for a group-by series, "web_search" for an operation series named by its tool. */
export function seriesLabel(subject: Subject): string {
  const label = subjectLabel(subject);
  const groupBy = subject.provider ?? subject.agent;
  return groupBy !== undefined && subject.operation !== undefined && label === groupBy ? `${label} (${subject.operation})` : label;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The figures of the judged window both kinds state; `dominant_error_class` when a failure has a class. */
export function evidenceMetrics(j: Judged, d: FailureDetail | undefined): FailureRateMetrics {
  const top = d?.byErrorClass.top();
  return {
    calls: j.acc.calls,
    failures: j.acc.failures,
    failure_rate: round(j.rate),
    wilson_lower: round(j.wilson.lower),
    wilson_upper: round(j.wilson.upper),
    wasted_ms: round(j.acc.wastedMs, 1),
    wasted_tokens: j.acc.wastedTokens,
    ...(j.acc.attempts !== j.acc.calls ? { attempts: j.acc.attempts, failed_attempts: j.acc.failedAttempts } : {}),
    ...(j.acc.pricedFailures > 0 ? { wasted_cost_usd: round(j.acc.wastedCostUsd, 6) } : {}),
    affected_traces: d ? d.affected.traces.estimate() : 0,
    affected_runs: d ? d.affected.runs.estimate() : 0,
    by_error_class: d ? d.byErrorClass.record(10) : {},
    by_provider: d ? d.byProvider.record(10) : {},
    ...(top ? { dominant_error_class: top[0] } : {}),
  };
}

export function exemplars(d: FailureDetail | undefined): Pick<Observation['evidence'], 'exemplar_trace_ids' | 'exemplar_span_ids'> {
  const e = d?.exemplars;
  return { exemplar_trace_ids: e ? e.traceIds : [], exemplar_span_ids: e ? e.spanIds : [] };
}

/** ", a retried call counted once (8 of 33 attempts failed)" when retries were folded into their calls. */
function attemptsPhrase(j: Judged): string {
  return j.acc.attempts === j.acc.calls ? '' : `, a retried call counted once (${j.acc.failedAttempts} of ${j.acc.attempts} attempts failed)`;
}

/** What the categorize rules read, as the evidence states it. */
export function figures(j: Judged): { calls: number; wilson_lower: number } {
  return { calls: j.counts.calls, wilson_lower: round(j.wilson.lower) };
}

export function rateObservation(subject: Subject, j: Judged, time: number, config: FailureRateConfig, severity: Severity = j.wilson.lower >= config.high_lower_bound ? 'high' : 'medium'): Observation {
  const head = { kind: 'failure_rate' as const, subject, severity, category: 'reliability' as const, keyMetric: j.rate, time, figures: figures(j) };
  return lazyObservation(head, () => {
    const label = seriesLabel(subject);
    const d = failureDetail(j.acc, config.max_exemplars);
    const top = d?.byErrorClass.top();
    const traces = d?.affected.traces.estimate() ?? 0;
    const runs = d?.affected.runs.estimate() ?? 0;
    return {
      title: `${label} fails ${formatPercent(j.rate)} of calls (95 % lower bound ${formatPercent(j.wilson.lower)}) ${windowPhrase(j.window)}`,
      description:
        `${j.acc.failures} of ${j.acc.calls} calls of ${label} failed ${windowPhrase(j.window)}${attemptsPhrase(j)} ` +
        `(failure rate ${formatPercent(j.rate)}, Wilson 95 % interval ${formatPercent(j.wilson.lower)}–${formatPercent(j.wilson.upper)}, ` +
        `threshold ${formatPercent(config.lower_bound_threshold)} on the lower bound)` +
        (top ? `; the most common error is ${top[0]} (${top[1]} of ${j.acc.failedAttempts}${j.acc.failedAttempts !== j.acc.failures ? ' failed attempts' : ''})` : '') +
        `. Failed calls took ${formatDuration(j.acc.wastedMs)} in ${traces} trace${traces === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'}.`,
      evidence: {
        window: j.window,
        metrics: evidenceMetrics(j, d),
        ...exemplars(d),
      },
    };
  }, () => failureRunIds(j.acc));
}

export function spikeObservation(subject: Subject, j: Judged, base: Baseline, time: number, config: FailureRateConfig, where = windowPhrase(j.window)): Observation {
  const head = { kind: 'failure_spike' as const, subject, severity: 'high' as const, category: 'reliability' as const, keyMetric: j.rate, time, figures: figures(j) };
  return lazyObservation(head, () => {
    const label = seriesLabel(subject);
    const d = failureDetail(j.acc, config.max_exemplars);
    const top = d?.byErrorClass.top();
    return {
      title: `${label} failures spiked to ${formatPercent(j.rate)} ${where}, from a baseline of ${formatPercent(base.rate)}`,
      description:
        `${j.acc.failures} of ${j.acc.calls} calls of ${label} failed ${where}${attemptsPhrase(j)} (${formatPercent(j.rate)}, 95 % lower bound ${formatPercent(j.wilson.lower)}), ` +
        `against ${base.counts.failures} of ${base.counts.calls} in the baseline (${base.window}: ${formatPercent(base.rate)}, 95 % upper bound ${formatPercent(base.wilson.upper)}); ` +
        `the lower bound is ${formatPercent(j.wilson.lower - base.wilson.upper)} above the baseline's upper bound (margin ${formatPercent(config.spike_margin)})` +
        (top ? `. The most common error is ${top[0]} (${top[1]} of ${j.acc.failedAttempts}${j.acc.failedAttempts !== j.acc.failures ? ' failed attempts' : ''}).` : '.'),
      evidence: {
        window: j.window,
        metrics: {
          ...evidenceMetrics(j, d),
          baseline_window: base.window,
          baseline_calls: base.counts.calls,
          baseline_failures: base.counts.failures,
          baseline_failure_rate: round(base.rate),
          baseline_wilson_lower: round(base.wilson.lower),
          baseline_wilson_upper: round(base.wilson.upper),
          spike_gap: round(j.wilson.lower - base.wilson.upper),
        } satisfies FailureSpikeMetrics,
        ...exemplars(d),
      },
    };
  }, () => failureRunIds(j.acc));
}
