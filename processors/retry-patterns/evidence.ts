/** A retry Finding as an observation on one series and window. */
import type { Observation, Subject } from '../../src/model/painpoint.js';
import { MAX_RUN_IDS } from '../../src/model/evidence-format.js';
import type { Finding } from './rules.js';

export function observation(f: Finding, subject: Subject, window: string, time: number, runs: Set<string>): Observation {
  return {
    kind: f.kind,
    subject,
    severity: f.severity,
    category: f.kind === 'retry_non_retryable' ? 'efficiency' : 'reliability',
    title: f.title,
    description: f.description,
    evidence: {
      window,
      metrics: f.metrics,
      exemplar_trace_ids: f.exemplars.map((e) => e.traceId),
      exemplar_span_ids: f.exemplars.map((e) => e.spanId),
    },
    keyMetric: f.keyMetric,
    time,
    runIds: [...runs].sort().slice(0, MAX_RUN_IDS),
  };
}
