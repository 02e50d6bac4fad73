/**
 * Severity bands (docs/painpoints.md): a metric hovering at a threshold does not move the
 * severity back and forth. Severity rises when the metric passes the threshold and falls only when
 * it drops below the threshold minus the band (10 %) for severity_down_after judgements. Through
 * the whole default pipeline, on traces made with the OTel SDK: a tool's share of the critical path
 * moving 0.796 → 0.801 → 0.799 → 0.801 → 0.799 around latency_bottleneck's 0.8.
 */
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { recordTraces, type SpanTree } from './support/readable-to-record.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const PHASES = [0.796, 0.801, 0.799, 0.801, 0.799, 0.796];
const PHASE_TRACES = 90; // three minutes, a trace every 2 s

/** Agent runs of 10 s in which one tool holds `share` of the critical path (the rest is the agent's own time). */
function hovering(phases: readonly number[]): SpanRecord[] {
  const trees: SpanTree[] = [];
  phases.forEach((share, p) => {
    for (let k = 0; k < PHASE_TRACES; k++) {
      const start = T0 + (p * PHASE_TRACES + k) * 2_000;
      trees.push({
        name: 'invoke_agent coder',
        start,
        end: start + 10_000,
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': 'run-1' },
        children: [{ name: 'execute_tool build', start, end: start + share * 10_000, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'build' } }],
      });
    }
  });
  return recordTraces(trees);
}

async function severities(band: number): Promise<string[]> {
  const { changes } = await analyzeSpans(hovering(PHASES), { config: { service: { painpoints: { band } } } });
  return changes.filter((c) => c.painpoint.kind === 'latency_bottleneck' && c.painpoint.subject.tool === 'build' && c.painpoint.evidence.window !== 'all').map((c) => `${c.painpoint.state} ${c.painpoint.severity}`);
}

/** the severity at each change, consecutive repeats collapsed */
const moves = (list: readonly string[]) => list.map((s) => s.split(' ')[1]).filter((s, i, all) => i === 0 || s !== all[i - 1]);

describe('severity band', () => {
  it('rises once at 0.801 and does not fall back while the share hovers within 10 % of 0.8', async () => {
    const changes = await severities(0.1);
    expect(changes[0]).toBe('open medium');
    expect(moves(changes.filter((c) => !c.startsWith('resolved')))).toEqual(['medium', 'high']);
  }, 120_000);

  it('without a band the same hovering flips high and medium (what the band prevents)', async () => {
    const changes = await severities(0);
    expect(moves(changes.filter((c) => !c.startsWith('resolved'))).length).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
