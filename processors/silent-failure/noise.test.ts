/**
 * silent_failure on noisy traffic it was not tuned to, made with the OpenTelemetry SDK: answers
 * that stop to call tools (some providers count no output for them), streamed answers without
 * usage, embeddings, finish reasons in every provider's spelling, tool results whose `error` field
 * is empty in every way an API says "no error", results that mention errors in their text, results
 * too large to parse, failed calls with a cut-off reason, and the half-percent of cut-off answers
 * real traffic has. None of it is a pain point; a tool whose results do carry errors still is.
 */
import { describe, expect, it } from 'vitest';
import { analyzeSpans } from '../../src/library/analyze-spans.js';
import { recordTraces, type SpanTree } from '../../test/support/readable-to-record.js';
import type { PainPointRecord } from '../../src/model/painpoint.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/** Results that say nothing failed, in the shapes real tools return. */
const OK_RESULTS = [
  '{"ok": true, "error": null, "data": {"id": 7}}',
  '{"error": "", "rows": 3}',
  '{"error": {}, "status": "done"}',
  '{"error": [], "warnings": ["deprecated flag"]}',
  '{"error": 0, "output": "exit 0"}',
  '{"error": false}',
  '{"errors": [], "items": []}',
  '{"isError": false, "content": [{"type": "text", "text": "error: no matches found"}]}',
  'src/app.ts:12: throw new Error("boom")\nsrc/app.ts:40: catch (error) {',
  '["error", "warning"]',
  '{"success": true, "message": "0 errors, 2 warnings"}',
];

/** A result too large to parse (a file's contents): it says nothing either way. */
const HUGE_RESULT = `{"ok": false, "pad": "${'x'.repeat(1_100_000)}"}`;

const FINISH = [['stop'], ['STOP'], ['end_turn'], ['tool_calls'], ['tool_use'], ['stop_sequence']];

function chat(t: number, i: number, k: number): SpanTree {
  const finish = FINISH[(i + k) % FINISH.length] as string[];
  const toolCall = finish[0] === 'tool_calls' || finish[0] === 'tool_use';
  // some providers count no output for an answer that only calls tools; a streamed answer may carry no usage
  const streamedWithoutUsage = (i + k) % 17 === 0;
  const cutOff = (i * 7 + k) % 200 === 3;
  return {
    name: 'chat claude-sonnet-4',
    start: t,
    end: t + 300,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.response.finish_reasons': cutOff ? ['max_tokens'] : finish,
      ...(streamedWithoutUsage ? {} : { 'gen_ai.usage.input_tokens': 2_500, 'gen_ai.usage.output_tokens': toolCall && i % 3 === 0 ? 0 : cutOff ? 4_096 : 180 }),
    },
  };
}

/** A run every 2 s for 20 minutes: two chats, an embedding, tool calls with healthy results, now and then a failed call. */
function noisyWorkload(badTool: boolean): SpanTree[] {
  const trees: SpanTree[] = [];
  for (let i = 0; i < 600; i++) {
    const start = T0 + i * 2_000;
    const children: SpanTree[] = [
      chat(start + 10, i, 0),
      {
        name: 'embeddings text-embedding-3-small',
        start: start + 320,
        end: start + 360,
        attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': 400, 'gen_ai.usage.output_tokens': 0 },
      },
      {
        name: 'execute_tool run_query',
        start: start + 400,
        end: start + 500,
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_query', 'gen_ai.tool.call.result': i % 120 === 11 ? HUGE_RESULT : (OK_RESULTS[i % OK_RESULTS.length] as string) },
      },
      chat(start + 520, i, 1),
    ];
    // a real failure now and then: failed span, cut-off reason and all; it is failure_rate's, not a silent one
    if (i % 150 === 11) children.push({ name: 'chat claude-sonnet-4', start: start + 900, end: start + 950, error: 'overloaded', attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4', 'gen_ai.response.finish_reasons': ['max_tokens'], 'error.type': 'overloaded_error' } });
    if (badTool) {
      children.push({
        name: 'execute_tool send_email',
        start: start + 1_000,
        end: start + 1_100,
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'send_email', 'gen_ai.tool.call.result': i % 4 === 0 ? '{"error": "quota exceeded", "sent": 0}' : '{"error": null, "sent": 1}' },
      });
    }
    trees.push({ name: 'invoke_agent support', start, end: start + 1_500, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support', 'kc.run.id': `run-${i % 20}` }, children });
  }
  return trees;
}

const silent = (painpoints: readonly PainPointRecord[]) => painpoints.filter((p) => p.kind === 'silent_failure');

describe('silent_failure on noisy traffic', () => {
  it('reports nothing on tool-call answers, missing usage, embeddings, empty error fields, error words in results and the cut-off background', async () => {
    const spans = recordTraces(noisyWorkload(false));
    // the noise is there
    expect(spans.filter((s) => s.outputTokens === 0 && s.operationName === 'chat').length).toBeGreaterThan(50);
    expect(spans.filter((s) => s.finishReasons?.includes('max_tokens') && !s.failed).length).toBeGreaterThan(3);
    expect(spans.filter((s) => s.tool === 'run_query' && s.toolResultError === false).length).toBe(600);
    const result = await analyzeSpans(spans);
    expect(silent(result.painpoints)).toEqual([]);
  }, 120_000);

  it('finds a tool whose results carry errors in the same noise, and only it', async () => {
    const result = await analyzeSpans(recordTraces(noisyWorkload(true)));
    const found = silent(result.painpoints);
    expect(found.map((p) => p.subject)).toEqual([{ service: 'kc-orchestrator', operation: 'execute_tool send_email', tool: 'send_email' }]);
    expect(found[0]?.evidence.metrics['by_signal']).toEqual({ tool_result_error: found[0]?.evidence.metrics['silent_failures'] });
  }, 120_000);
});
