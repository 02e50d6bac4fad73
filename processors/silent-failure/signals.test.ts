import { describe, expect, it } from 'vitest';
import { silentClassifier } from './signals.js';
import { silentFailureConfigSchema } from './config.js';
import { makeSpan } from '../../test/support/span-factory.js';
import type { SpanRecord } from '../../src/model/span.js';

const classify = silentClassifier(silentFailureConfigSchema.parse({}));
const chat = (over: Partial<SpanRecord>): SpanRecord => ({ ...makeSpan({ name: 'chat', operationName: 'chat', model: 'm', outputTokens: 50 }), ...over }) as SpanRecord;

describe('silent-failure signals', () => {
  it('labels a call by the first signal it shows: filtered, cut off, empty, tool result error', () => {
    expect(classify.signal(chat({ finishReasons: ['stop'] }))).toBeUndefined();
    expect(classify.signal(chat({ finishReasons: ['length'] }))).toBe('length');
    expect(classify.signal(chat({ finishReasons: ['max_tokens'] }))).toBe('length');
    expect(classify.signal(chat({ finishReasons: ['length', 'content_filter'] }))).toBe('content_filter');
    expect(classify.signal(chat({ finishReasons: ['stop'], outputTokens: 0 }))).toBe('empty_output');
    // an answer that stops to call tools did its job, even when its provider counts no output for it
    expect(classify.signal(chat({ finishReasons: ['tool_calls'], outputTokens: 0 }))).toBeUndefined();
    expect(classify.signal(chat({ finishReasons: ['tool_use'], outputTokens: 0 }))).toBeUndefined();
    // streamed without usage: nothing says it was empty
    expect(classify.signal(chat({ finishReasons: ['stop'], outputTokens: undefined }))).toBeUndefined();
    // each provider's word for a withheld answer
    for (const r of ['refusal', 'recitation', 'prohibited_content', 'guardrail_intervened']) expect(classify.signal(chat({ finishReasons: [r] }))).toBe('content_filter');
    const tool = { ...makeSpan({ operationName: 'execute_tool', tool: 'create_ticket' }), toolResultError: true } as SpanRecord;
    expect(classify.signal(tool)).toBe('tool_result_error');
  });

  it('judges successful model answers and tool calls with a recorded result only', () => {
    expect(classify.judged(chat({}))).toBe(true);
    expect(classify.judged(chat({ failed: true, finishReasons: ['length'] }))).toBe(false);
    // an embedding has no output to miss
    expect(classify.judged(chat({ operationName: 'embeddings', outputTokens: 0 }))).toBe(false);
    expect(classify.judged(makeSpan({ operationName: 'execute_tool', tool: 'grep' }))).toBe(false);
    expect(classify.judged({ ...makeSpan({ operationName: 'execute_tool', tool: 'grep' }), toolResultError: false } as SpanRecord)).toBe(true);
    expect(classify.judged(makeSpan({ operationName: 'invoke_agent', agent: 'coder' }))).toBe(false);
  });

  it('follows the configured reasons, and can leave empty answers alone', () => {
    const custom = silentClassifier(silentFailureConfigSchema.parse({ length_reasons: ['truncated'], empty_output: false }));
    expect(custom.signal(chat({ finishReasons: ['length'] }))).toBeUndefined();
    expect(custom.signal(chat({ finishReasons: ['truncated'] }))).toBe('length');
    expect(custom.signal(chat({ outputTokens: 0 }))).toBeUndefined();
  });
});
