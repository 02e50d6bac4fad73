import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, SYNTHETIC_ATTRIBUTE, type AttrValue, type SpanRecord } from '../model/span.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { SpanCompactor, TRACE_ATTRIBUTE_KEYS } from './buffered-span.js';
import { FALLBACK_EVENT, RETRY_COUNT_KEYS } from './retry-chains.js';

const attrs = (record: Record<string, AttrValue>) => Object.assign(Object.create(null) as Record<string, AttrValue>, record);

describe('SpanCompactor', () => {
  it('keeps every field but the attributes and events no trace consumer reads', () => {
    // Required<SpanRecord>: a field added to the record must be added here, and then to compact()
    const span: Required<SpanRecord> = {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      parentSpanId: 'c'.repeat(16),
      name: 'execute_tool web_search',
      kind: SpanKind.CLIENT,
      startMs: 1_000.5,
      endMs: 1_250.25,
      durationMs: 249.75,
      statusCode: StatusCode.ERROR,
      statusMessage: 'too many requests',
      attributes: attrs({ 'kc.task.retry_count': 2, [SYNTHETIC_ATTRIBUTE]: true, 'gen_ai.tool.name': 'web_search', 'http.url': 'https://example.test/q' }),
      events: [
        { name: 'exception', timeMs: 1, attributes: attrs({ 'exception.stacktrace': 'x'.repeat(4_000) }) },
        { name: FALLBACK_EVENT, timeMs: 2, attributes: attrs({ from: 'anthropic', to: 'openai' }) },
      ],
      links: [{ traceId: 'd'.repeat(32), spanId: 'd'.repeat(16), attributes: attrs({}) }],
      resource: attrs({ 'service.name': 'kc-orchestrator' }),
      scopeName: 'kc',
      scopeVersion: '1.0.0',
      service: 'kc-orchestrator',
      operationKey: 'kc-orchestrator execute_tool web_search web_search',
      runId: 'run-7',
      taskId: 't-1',
      taskType: 'Refactor',
      attempt: 2,
      agent: 'planner',
      operationName: 'execute_tool',
      tool: 'web_search',
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 10,
      outputTokens: 20,
      httpStatus: 429,
      failed: true,
      errorClass: 'rate_limited',
      finishReasons: ['length'],
      cachedInputTokens: 4,
      reasoningTokens: 5,
      toolCallId: 'call_1',
      toolArgsHash: '0123456789abcdef',
      toolResultError: false,
      conversationId: 'conv-1',
      costAmount: 0.0012,
      costCurrency: 'USD',
      agentVersion: '1.2.0',
      user: 'u-7',
    };
    const compact = new SpanCompactor().compact(span, span.traceId);

    const { attributes, events, links, ...rest } = compact;
    const { attributes: _a, events: _e, links: _l, ...expected } = span;
    expect(rest).toStrictEqual(expected);
    expect({ ...attributes }).toEqual({ 'kc.task.retry_count': 2, [SYNTHETIC_ATTRIBUTE]: true });
    expect(events.map((e) => e.name)).toEqual([FALLBACK_EVENT]);
    expect(events[0]?.attributes).toEqual(span.events[1]?.attributes);
    expect(links).toEqual([]);
  });

  it('lists the retry count keys among the attributes it keeps', () => {
    for (const key of RETRY_COUNT_KEYS) expect(TRACE_ATTRIBUTE_KEYS).toContain(key);
    expect(TRACE_ATTRIBUTE_KEYS).toContain(SYNTHETIC_ATTRIBUTE);
  });

  it('leaves absent optional fields absent and shares one empty attribute map and event list', () => {
    const bare: SpanRecord = { ...makeSpan({ name: 'chat' }) };
    for (const key of Object.keys(bare) as (keyof SpanRecord)[]) if (bare[key] === undefined) delete (bare as Partial<Record<keyof SpanRecord, unknown>>)[key];
    const compactor = new SpanCompactor();
    const a = compactor.compact(bare, bare.traceId);
    const b = compactor.compact({ ...bare, spanId: 'c'.repeat(16) }, bare.traceId);
    expect(Object.keys(a).sort()).toEqual(Object.keys(bare).sort());
    expect('tool' in a).toBe(false);
    expect(a.attributes).toBe(b.attributes);
    expect(a.events).toBe(b.events);
  });

  it('keeps every text as received past the size of its table of shared texts', () => {
    const compactor = new SpanCompactor();
    const spans = Array.from({ length: 10_000 }, (_, i) => makeSpan({ traceId: 'e'.repeat(32), spanId: i.toString(16).padStart(16, '0'), name: `op-${i % 5_000}`, tool: `tool-${i}` }));
    const compact = spans.map((s) => compactor.compact(s, s.traceId));
    expect(compact.map((s) => [s.name, s.tool, s.operationKey])).toEqual(spans.map((s) => [s.name, s.tool, s.operationKey]));
  });
});
