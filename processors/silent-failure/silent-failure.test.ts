/**
 * silent_failure on workloads made with the OpenTelemetry SDK, through the whole engine: answers
 * cut off at their token limit on one model from a point on (with the 0.5 % background of `length`
 * real traffic has everywhere), and a tool whose result says it failed while its span is OK.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/library/analyze-spans.js';
import { recordTraces, type SpanTree } from '../../test/support/readable-to-record.js';
import type { PainPointRecord } from '../../src/model/painpoint.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const MINUTE = 60_000;

interface ChatSpec {
  readonly model: string;
  readonly provider: string;
  readonly cutOff: boolean;
}

function chat(t: number, c: ChatSpec): SpanTree {
  return {
    name: `chat ${c.model}`,
    start: t,
    end: t + 400,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': c.model,
      'gen_ai.provider.name': c.provider,
      'gen_ai.usage.input_tokens': 3_000,
      'gen_ai.usage.output_tokens': c.cutOff ? 1_024 : 300,
      'gen_ai.response.finish_reasons': [c.cutOff ? 'length' : 'stop'],
    },
  };
}

/**
 * A task every 2 s for 20 minutes, each one chat on claude-sonnet-4 and one on gpt-4o-mini. One
 * call in 200 on each model is cut off (background); from minute 10 on, 2 in 5 gpt-4o-mini calls are.
 */
function cutOffWorkload(): SpanTree[] {
  const trees: SpanTree[] = [];
  for (let i = 0; i < 600; i++) {
    const start = T0 + i * 2_000;
    const late = start >= T0 + 10 * MINUTE;
    trees.push({
      name: 'invoke_agent coder',
      start,
      end: start + 1_000,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `run-${i % 6}` },
      children: [
        chat(start + 10, { model: 'claude-sonnet-4', provider: 'anthropic', cutOff: i % 200 === 57 }),
        chat(start + 450, { model: 'gpt-4o-mini', provider: 'openai', cutOff: i % 200 === 123 || (late && i % 5 < 2) }),
      ],
    });
  }
  return trees;
}

const PRICING = { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 }, 'claude-sonnet-4': { input_per_mtok: 3, output_per_mtok: 15 } };

const of = (painpoints: readonly PainPointRecord[], kind: string) => painpoints.filter((p) => p.kind === kind);

describe('silent_failure', () => {
  it('finds answers cut off at the token limit on one model from a point on, and not the 0.5 % background elsewhere', async () => {
    const result = await analyzeSpans(recordTraces(cutOffWorkload()), { config: { service: { pricing: PRICING } } });
    const silent = of(result.painpoints, 'silent_failure');
    // the model series, and the provider series that holds the same calls; nothing on claude-sonnet-4 or anthropic
    expect(silent.map((p) => p.subject).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { service: 'kc-orchestrator', operation: 'chat gpt-4o-mini', model: 'gpt-4o-mini' },
      { service: 'kc-orchestrator', operation: 'chat gpt-4o-mini', provider: 'openai' },
    ]);
    const opened = result.changes.find((c) => c.painpoint.kind === 'silent_failure' && c.painpoint.state === 'open' && c.painpoint.subject.model === 'gpt-4o-mini');
    expect(opened).toBeDefined();
    const firstSeen = Date.parse(opened?.painpoint.first_seen ?? '');
    // judged on the 1m window once it holds enough calls after the onset at minute 10
    expect(firstSeen).toBeGreaterThan(T0 + 10 * MINUTE);
    expect(firstSeen).toBeLessThanOrEqual(T0 + 12 * MINUTE);
    const pp = silent.find((p) => p.subject.model === 'gpt-4o-mini') as PainPointRecord;
    expect(pp.category).toBe('reliability');
    expect(['medium', 'high']).toContain(pp.severity);
    expect(pp.evidence.metrics['dominant_signal']).toBe('length');
    expect(Object.keys(pp.evidence.metrics['by_signal'] as object)).toEqual(['length']);
    expect(pp.evidence.metrics['cutoff_max_output_tokens']).toBe(1_024);
    expect(pp.evidence.metrics['cutoff_mean_input_tokens']).toBe(3_000);
    // each cut-off call cost 3000 × 0.15 + 1024 × 0.6 per million
    const silentCalls = pp.evidence.metrics['silent_failures'] as number;
    expect(pp.evidence.metrics['wasted_cost_usd']).toBeCloseTo(silentCalls * ((3_000 * 0.15 + 1_024 * 0.6) / 1e6), 6);
    expect(pp.impact?.wasted_cost_usd).toBeCloseTo(silentCalls * ((3_000 * 0.15 + 1_024 * 0.6) / 1e6), 4);
    expect(pp.title).toMatch(/^\d+ % of gpt-4o-mini calls reported success but did not do their job \(mostly cut off at the token limit\)/);
    // the calls did not fail: failure_rate sees nothing
    expect(of(result.painpoints, 'failure_rate')).toEqual([]);
  }, 60_000);

  it('reports nothing on the background alone', async () => {
    const healthy = cutOffWorkload().map((t) => ({ ...t, children: t.children?.map((c) => ({ ...c, attributes: { ...c.attributes, 'gen_ai.response.finish_reasons': ['stop'] } })) }));
    const background = healthy.map((t, i) => (i % 200 === 7 ? cutOffWorkload()[i] as SpanTree : t));
    const result = await analyzeSpans(recordTraces(background));
    expect(of(result.painpoints, 'silent_failure')).toEqual([]);
  }, 60_000);

  it('finds a tool whose result says it failed while its span is OK, and failure_rate does not count it', async () => {
    const trees: SpanTree[] = [];
    for (let i = 0; i < 120; i++) {
      const start = T0 + i * 3_000;
      const failed = i % 10 < 3;
      trees.push({
        name: 'invoke_agent triage',
        start,
        end: start + 600,
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage' },
        children: [
          {
            name: 'execute_tool create_ticket',
            start: start + 100,
            end: start + 300,
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': 'create_ticket',
              'gen_ai.tool.call.result': failed ? '{"ok": false, "reason": "project is archived"}' : `{"ok": true, "id": "T-${i}"}`,
            },
          },
        ],
      });
    }
    const spans = recordTraces(trees);
    // status OK (unset) on every span
    expect(spans.every((s) => !s.failed)).toBe(true);
    const result = await analyzeSpans(spans);
    const silent = of(result.painpoints, 'silent_failure');
    expect(silent.map((p) => p.subject)).toEqual([{ service: 'kc-orchestrator', operation: 'execute_tool create_ticket', tool: 'create_ticket' }]);
    const metrics = silent[0]?.evidence.metrics ?? {};
    expect(Object.keys(metrics['by_signal'] as object)).toEqual(['tool_result_error']);
    expect(metrics['silent_failures']).toBe((metrics['by_signal'] as Record<string, number>)['tool_result_error']);
    // 3 in 10 calls, on a sliding window
    expect(metrics['silent_rate']).toBeGreaterThanOrEqual(0.25);
    expect(metrics['silent_rate']).toBeLessThanOrEqual(0.35);
    expect(silent[0]?.evidence.window).toMatch(/^\d+m$/);
    expect(of(result.painpoints, 'failure_rate')).toEqual([]);
    expect(result.recommendations.map((r) => r.title)).toContain('Check create_ticket results against a schema and fail the call when they report an error');
  }, 60_000);
});
