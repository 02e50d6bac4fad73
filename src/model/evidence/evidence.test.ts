import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAIN_POINT_KINDS } from '../painpoint.js';
import { EVIDENCE_METRICS_SCHEMAS, evidenceMetricNames, isTokenAnomaly, parseEvidenceMetrics, readEvidenceMetrics } from './index.js';

const noBackoff = {
  calls: 32,
  failures: 24,
  chains: 8,
  retries: 24,
  attempts_hist: { '4': 8 },
  max_attempts: 4,
  exhausted_chains: 0,
  by_error_class: { network: 24 },
  wasted_ms: 4_800,
  wasted_tokens: 0,
  affected_traces: 8,
  affected_runs: 1,
  timed_chains: 8,
  median_gap_ms: 1_000,
  gap_ratio: 1,
  gap_cv: 0,
};

describe('evidence metrics schemas', () => {
  it('has one schema per pain-point kind', () => {
    expect(Object.keys(EVIDENCE_METRICS_SCHEMAS).sort()).toEqual([...PAIN_POINT_KINDS].sort());
    for (const kind of PAIN_POINT_KINDS) expect(evidenceMetricNames(kind).length).toBeGreaterThan(0);
  });

  it('accepts what the detector writes and rejects a field it does not write', () => {
    expect(parseEvidenceMetrics('retry_no_backoff', noBackoff)).toEqual(noBackoff);
    expect(() => parseEvidenceMetrics('retry_no_backoff', { ...noBackoff, retry_rate: 3 })).toThrow(/retry_rate/);
  });

  it('rejects a missing required figure, a wrong type and a non-finite number, naming the field', () => {
    const { median_gap_ms: _gap, ...missing } = noBackoff;
    expect(() => parseEvidenceMetrics('retry_no_backoff', missing)).toThrow(/median_gap_ms/);
    expect(() => parseEvidenceMetrics('retry_no_backoff', { ...noBackoff, retries: '24' })).toThrow(/retries/);
    expect(() => parseEvidenceMetrics('retry_no_backoff', { ...noBackoff, gap_cv: Number.NaN })).toThrow(/gap_cv/);
  });

  it('reads a record from elsewhere field by field: valid named fields kept, the rest dropped', () => {
    const read = readEvidenceMetrics('retry_no_backoff', { retries: 42, median_gap_ms: 'soon', retry_rate: 3 });
    expect(read).toEqual({ retries: 42 });
    expect(readEvidenceMetrics('retry_no_backoff', noBackoff)).toEqual(noBackoff);
  });

  it('tells token anomalies by the metric the detector names', () => {
    const anomaly = (metric: string) => ({ kind: 'anomaly', evidence: { metrics: { metric } } });
    expect(isTokenAnomaly(anomaly('tokens_per_call'))).toBe(true);
    expect(isTokenAnomaly(anomaly('call_rate'))).toBe(false);
    expect(isTokenAnomaly({ kind: 'failure_rate', evidence: { metrics: { metric: 'tokens_per_call' } } })).toBe(false);
  });

  it('is listed field by field in docs/painpoints.md (Evidence metrics per kind), optional fields marked', () => {
    const doc = readFileSync(new URL('../../../docs/painpoints.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `(\w+)` \| ((?:`\w+`\??(?:, )?)+) \|$/gm)].map((m) => [m[1], m[2]]));
    for (const kind of PAIN_POINT_KINDS) {
      const shape = EVIDENCE_METRICS_SCHEMAS[kind].shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
      const expected = Object.entries(shape).map(([name, field]) => `\`${name}\`${field.safeParse(undefined).success ? '?' : ''}`);
      expect(rows.get(kind), kind).toBe(expected.join(', '));
    }
  });
});
