import { describe, expect, it } from 'vitest';
import { PAIN_POINT_KINDS, type PainPointRecord } from '../../model/painpoint.js';
import { painPointPerKind, record } from '../../../test/fixtures/report/painpoints.js';
import { sampleMetrics } from '../../../test/fixtures/evidence.js';
import { ADVICE, adviseFor } from './index.js';

const byKind = (kind: string): PainPointRecord => {
  const pp = painPointPerKind().find((p) => p.kind === kind);
  if (!pp) throw new Error(kind);
  return pp;
};

describe('advice', () => {
  it('maps every kind to a template in one typed record', () => {
    expect(Object.keys(ADVICE).sort()).toEqual([...PAIN_POINT_KINDS].sort());
    const { anomaly: _left, ...incomplete } = ADVICE;
    // @ts-expect-error a kind without advice does not compile
    const missing: typeof ADVICE = incomplete;
    expect(Object.keys(missing)).toHaveLength(PAIN_POINT_KINDS.length - 1);
  });

  it('gives every kind steps and at least one measurable criterion', () => {
    for (const pp of painPointPerKind()) {
      const advice = adviseFor(pp);
      expect(advice.steps.length, pp.kind).toBeGreaterThan(0);
      expect(advice.acceptance.length, pp.kind).toBeGreaterThan(0);
      for (const c of advice.acceptance) expect(c.text, pp.kind).toMatch(/over 15 m$/);
    }
  });

  it("cites an anomaly's robust z and median as the detector names them", () => {
    const advice = adviseFor(byKind('anomaly'));
    expect(advice.summary).toBe('Token usage (tokens_per_call) of planner is 18200 vs a median of 2100 (robust z 9.4) in the 1m window.');
    expect(advice.steps[1]).toBe('Cap max_tokens at about 3150 (1.5 × the median).');
  });

  it('tells a call-rate anomaly from a token anomaly by the metric the detector writes', () => {
    const pp = byKind('anomaly');
    const calls = { ...pp, evidence: { ...pp.evidence, metrics: sampleMetrics('anomaly', { metric: 'call_rate', value: 120, median: 25, robust_z: 12 }) } };
    expect(adviseFor(calls).title).toBe('Investigate the call_rate anomaly of planner');
  });

  it("cites a bottleneck's time on the critical path, not a percentile it does not have", () => {
    expect(adviseFor(byKind('latency_bottleneck')).summary).toBe('run_tests takes 83 % of the critical path (42 s of 50 s per trace) over 64 traces in the 15m window.');
  });

  it('sizes a timeout from the failed calls it has: their mean wait before failing', () => {
    const failure = byKind('failure_rate');
    const timeouts = {
      ...failure,
      evidence: {
        ...failure.evidence,
        metrics: sampleMetrics('failure_rate', { by_error_class: { timeout: 62 }, dominant_error_class: 'timeout', wasted_ms: 1_860_000 }),
      },
    };
    const advice = adviseFor(timeouts);
    expect(advice.title).toBe('Bound web_search timeouts and retry timed-out calls with backoff');
    expect(advice.steps[0]).toContain('failed calls waited 30 s on average before failing');
    expect(advice.acceptance.map((c) => c.text)).toEqual(['failure rate of web_search below 5 % over 15 m', 'fewer than 1 % of web_search calls fail with timeout over 15 m']);
  });

  it('names the tools a sequential fan-out runs and the parent of repeated calls', () => {
    expect(adviseFor(byKind('sequential_fanout')).summary).toContain('6 independent tool calls (grep, read_file) run one after another under coder');
    expect(adviseFor(byKind('repeated_calls')).summary).toContain('under invoke_agent triager');
  });

  it('advises on a record from elsewhere with wrong or unknown figures, leaving those figures out', () => {
    const stale = record('retry_no_backoff', { service: 'svc', operation: 'execute_tool fetch_url', tool: 'fetch_url' }, 'medium', 'reliability', 'fetch_url retried', {
      window: '5m',
      metrics: sampleMetrics('retry_no_backoff'),
      exemplar_trace_ids: [],
    });
    const odd = { ...stale, evidence: { ...stale.evidence, metrics: { retries: 'many', median_gap_ms: 1_000, retry_rate: 3 } } };
    const advice = adviseFor(odd);
    expect(advice.summary).toBe('Retries of fetch_url came at fixed intervals (median gap 1 s) in the 5m window, with no backoff or jitter.');
    expect(advice.steps[1]).toBe('Stop after 4 attempts in all.');
  });
});
