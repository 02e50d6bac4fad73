/** A retry Finding as an observation on one series and window. */
import { lazyObservation, type Observation, type Subject } from '../../src/model/painpoint.js';
import { MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import type { CountedFinding, Finding } from './rules.js';

export function observation(f: Finding, subject: Subject, window: string, time: number, runs: Set<string>): Observation {
  return {
    kind: f.kind,
    subject,
    severity: f.severity,
    category: category(f.kind),
    title: f.title,
    description: f.description,
    evidence: evidenceOf(f, window),
    keyMetric: f.keyMetric,
    time,
    runIds: runIdsOf(runs),
  };
}

/**
 * `observation` for a finding decided on counts: its text and evidence are made by `finding` (the
 * rule on the merged window, which must state the same kind, severity and key metric) and its run
 * ids from `runs`, each only when read — for the few observations the lifecycle writes.
 */
export function countedObservation(head: CountedFinding, subject: Subject, window: string, time: number, finding: () => Finding, runs: () => Set<string>): Observation {
  return lazyObservation(
    { kind: head.kind, subject, severity: head.severity, category: category(head.kind), keyMetric: head.keyMetric, time, figures: { calls: head.calls } },
    () => {
      const f = finding();
      return { title: f.title, description: f.description, evidence: evidenceOf(f, window) };
    },
    () => runIdsOf(runs()),
  );
}

function category(kind: Finding['kind']): Observation['category'] {
  return kind === 'retry_non_retryable' ? 'efficiency' : 'reliability';
}

function evidenceOf(f: Finding, window: string): Observation['evidence'] {
  return {
    window,
    metrics: f.metrics,
    exemplar_trace_ids: f.exemplars.map((e) => e.traceId),
    exemplar_span_ids: f.exemplars.map((e) => e.spanId),
  };
}

function runIdsOf(runs: Set<string>): string[] {
  return [...runs].sort().slice(0, MAX_RUN_IDS);
}
