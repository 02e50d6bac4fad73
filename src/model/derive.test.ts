import { describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTE_MAPPING, deriveSpan, taskTypeFromTitle } from './derive.js';
import { attributesSchema } from '../config/service-schema.js';
import { SpanKind, StatusCode, type AttrValue, type RawSpan, type SpanEvent } from './span.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';

function attrs(entries: Record<string, AttrValue>): Record<string, AttrValue> {
  return Object.assign(Object.create(null) as Record<string, AttrValue>, entries);
}

function raw(over: Partial<RawSpan> = {}): RawSpan {
  return {
    traceId: TRACE,
    spanId: 'b7ad6b7169203331',
    name: 'chat',
    kind: SpanKind.CLIENT,
    startMs: 1_000,
    endMs: 1_500,
    durationMs: 500,
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: attrs({}),
    events: [],
    links: [],
    resource: attrs({ 'service.name': 'kc-orchestrator' }),
    scopeName: 'test',
    ...over,
  };
}

describe('deriveSpan', () => {
  it('uses DEFAULT_ATTRIBUTE_MAPPING as the parsed default mapping', () => {
    expect(DEFAULT_ATTRIBUTE_MAPPING).toEqual(attributesSchema.parse({}));
    expect(DEFAULT_ATTRIBUTE_MAPPING.run_id).toEqual(['kc.run.id', 'gen_ai.conversation.id', 'session.id']);
  });

  it('reads the service from resource service.name, defaulting to unknown_service', () => {
    expect(deriveSpan(raw()).service).toBe('kc-orchestrator');
    expect(deriveSpan(raw({ resource: attrs({}) })).service).toBe('unknown_service');
  });

  it('takes the run id from kc.run.id, then session.id, then the trace id', () => {
    expect(deriveSpan(raw({ attributes: attrs({ 'session.id': 's-1', 'kc.run.id': 'r-1' }) })).runId).toBe('r-1');
    expect(deriveSpan(raw({ attributes: attrs({ 'session.id': 's-1' }) })).runId).toBe('s-1');
    expect(deriveSpan(raw({ resource: attrs({ 'service.name': 'x', 'kc.run.id': 'r-res' }) })).runId).toBe('r-res');
    expect(deriveSpan(raw()).runId).toBe(TRACE);
  });

  it('reads each span against its own resource when spans of several resources and mappings alternate', () => {
    const named = attrs({ 'service.name': 'a', 'gen_ai.agent.name': 'res-agent', 'kc.task.title': 'Fix: login' });
    const plain = attrs({ 'service.name': 'b', 'host.name': 'h' });
    const mapping = { ...DEFAULT_ATTRIBUTE_MAPPING, agent: ['host.name'] };
    for (let i = 0; i < 2; i++) {
      expect(deriveSpan(raw({ resource: named }))).toMatchObject({ service: 'a', agent: 'res-agent', taskType: 'Fix' });
      expect(deriveSpan(raw({ resource: plain })).agent).toBeUndefined();
      expect(deriveSpan(raw({ resource: plain }), mapping).agent).toBe('h');
      expect(deriveSpan(raw({ resource: named }), mapping).agent).toBeUndefined();
      expect(deriveSpan(raw({ resource: plain, attributes: attrs({ 'gen_ai.agent.name': 'own' }) })).agent).toBe('own');
    }
  });

  it('reads attempts 1-based, and resend counts as zero-based', () => {
    expect(deriveSpan(raw({ attributes: attrs({ 'kc.task.attempt': 3 }) })).attempt).toBe(3);
    expect(deriveSpan(raw({ attributes: attrs({ 'retry.attempt': '2' }) })).attempt).toBe(2);
    expect(deriveSpan(raw({ attributes: attrs({ 'http.request.resend_count': 0 }) })).attempt).toBe(1);
    expect(deriveSpan(raw({ attributes: attrs({ 'http.request.resend_count': 2n }) })).attempt).toBe(3);
    expect(deriveSpan(raw()).attempt).toBeUndefined();
  });

  it('accepts integer attributes as numbers, bigint or strings', () => {
    const s = deriveSpan(
      raw({ attributes: attrs({ 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': '25', 'http.response.status_code': 200 }) }),
    );
    expect(s.inputTokens).toBe(10);
    expect(s.outputTokens).toBe(25);
    expect(s.httpStatus).toBe(200);
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.usage.input_tokens': 'many' }) })).inputTokens).toBeUndefined();
  });

  it('reads agent, operation name, tool, model and provider (deprecated gen_ai.system as fallback)', () => {
    const s = deriveSpan(
      raw({
        attributes: attrs({
          'gen_ai.agent.name': 'coder',
          'gen_ai.operation.name': 'chat',
          'gen_ai.response.model': 'claude-sonnet-4',
          'gen_ai.system': 'anthropic',
        }),
      }),
    );
    expect(s.agent).toBe('coder');
    expect(s.operationName).toBe('chat');
    expect(s.model).toBe('claude-sonnet-4');
    expect(s.provider).toBe('anthropic');
    expect(s.operationKey).toBe('kc-orchestrator chat claude-sonnet-4');
  });

  it('builds the operation key from tool, else model, else task type', () => {
    const both = attrs({ 'gen_ai.tool.name': 'web_search', 'gen_ai.request.model': 'gpt-4o', 'kc.task.type': 'build' });
    expect(deriveSpan(raw({ attributes: both })).operationKey).toBe('kc-orchestrator chat web_search');
    expect(deriveSpan(raw({ attributes: attrs({ 'kc.task.type': 'build' }) })).operationKey).toBe('kc-orchestrator chat build');
    expect(deriveSpan(raw()).operationKey).toBe('kc-orchestrator chat');
  });

  it('gives each span its operation key past the remembered keys, whatever came between', () => {
    for (let i = 0; i < 5_000; i++) {
      expect(deriveSpan(raw({ name: `op${i % 4_500}`, attributes: attrs({ 'gen_ai.tool.name': `t${i % 3}` }) })).operationKey).toBe(`kc-orchestrator op${i % 4_500} t${i % 3}`);
      expect(deriveSpan(raw({ name: `op${i % 7}`, resource: attrs({ 'service.name': `s${i % 2}` }) })).operationKey).toBe(`s${i % 2} op${i % 7}`);
    }
  });

  it('derives the task type from the kc task title when no type attribute is present', () => {
    const s = deriveSpan(raw({ attributes: attrs({ 'kc.task.title': 'Refactor payment service' }) }));
    expect(s.taskType).toBe('Refactor');
    const typed = deriveSpan(raw({ attributes: attrs({ 'kc.task.title': 'Refactor payment service', 'kc.task.type': 'refactoring' }) }));
    expect(typed.taskType).toBe('refactoring');
  });

  it('marks status ERROR spans failed and leaves successful spans without an error class', () => {
    expect(deriveSpan(raw({ statusCode: StatusCode.ERROR })).failed).toBe(true);
    const ok = deriveSpan(raw({ statusCode: StatusCode.OK, attributes: attrs({ 'http.response.status_code': 500 }) }));
    expect(ok.failed).toBe(false);
    expect(ok.errorClass).toBeUndefined();
  });

  it('counts an error.type attribute as failure only when failed_on_error_type is set', () => {
    const span = raw({ attributes: attrs({ 'error.type': 'timeout' }) });
    expect(deriveSpan(span).failed).toBe(true);
    expect(deriveSpan(span).errorClass).toBe('timeout');
    const off = deriveSpan(span, { ...DEFAULT_ATTRIBUTE_MAPPING, failed_on_error_type: false });
    expect(off.failed).toBe(false);
    expect(off.errorClass).toBeUndefined();
  });

  it('takes the error class from error.type, then the exception event, then HTTP status, then the message template', () => {
    const exception: SpanEvent = { name: 'exception', timeMs: 1_200, attributes: attrs({ 'exception.type': 'RateLimitError' }) };
    const failed = { statusCode: StatusCode.ERROR, statusMessage: 'failed after 3 attempts in 1200 ms' } as const;
    expect(deriveSpan(raw({ ...failed, events: [exception], attributes: attrs({ 'error.type': '429' }) })).errorClass).toBe('429');
    expect(deriveSpan(raw({ ...failed, events: [exception], attributes: attrs({ 'http.response.status_code': 429 }) })).errorClass).toBe(
      'RateLimitError',
    );
    expect(deriveSpan(raw({ ...failed, attributes: attrs({ 'http.response.status_code': 429 }) })).errorClass).toBe('http_429');
    expect(deriveSpan(raw({ ...failed, attributes: attrs({ 'http.response.status_code': 200 }) })).errorClass).toBe(
      'failed after <num> attempts in <num> ms',
    );
    expect(deriveSpan(raw({ statusCode: StatusCode.ERROR })).errorClass).toBeUndefined();
  });

  it('honours a custom mapping', () => {
    const mapping = attributesSchema.parse({ tool: ['tool'], run_id: ['run'] });
    const s = deriveSpan(raw({ attributes: attrs({ tool: 'grep', run: 'R9', 'gen_ai.tool.name': 'ignored' }) }), mapping);
    expect(s.tool).toBe('grep');
    expect(s.runId).toBe('R9');
  });

  it('leaves absent optional fields out of the record', () => {
    const s = deriveSpan(raw());
    expect(Object.keys(s)).not.toContain('tool');
    expect(Object.keys(s)).not.toContain('errorClass');
    expect(s.failed).toBe(false);
  });
});

describe('deriveSpan: the agent attributes', () => {
  it('reads finish reasons as lowercase strings, from an array or a JSON or comma-separated string', () => {
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.response.finish_reasons': ['length', 'STOP'] }) })).finishReasons).toEqual(['length', 'stop']);
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.response.finish_reasons': '["MAX_TOKENS"]' }) })).finishReasons).toEqual(['max_tokens']);
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.response.finish_reasons': 'stop, content_filter' }) })).finishReasons).toEqual(['stop', 'content_filter']);
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.response.finish_reasons': [] }) })).finishReasons).toBeUndefined();
  });

  it('reads cached input and reasoning output tokens', () => {
    const s = deriveSpan(raw({ attributes: attrs({ 'gen_ai.usage.cache_read.input_tokens': 800, 'gen_ai.usage.reasoning.output_tokens': '120' }) }));
    expect([s.cachedInputTokens, s.reasoningTokens]).toEqual([800, 120]);
  });

  it('hashes tool-call arguments as normalized JSON (key order and spacing ignored) and keeps no copy of them', () => {
    const hash = (args: AttrValue) => deriveSpan(raw({ attributes: attrs({ 'gen_ai.tool.name': 'read_file', 'gen_ai.tool.call.arguments': args }) }));
    const a = hash('{"path": "src/a.ts", "opts": {"lines": [1, 2], "mode": "r"}}');
    const b = hash('{"opts":{"mode":"r","lines":[1,2]},"path":"src/a.ts"}');
    expect(a.toolArgsHash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.toolArgsHash).toBe(a.toolArgsHash);
    expect(hash('{"path": "src/b.ts"}').toolArgsHash).not.toBe(a.toolArgsHash);
    expect(hash({ opts: { mode: 'r', lines: [1, 2] }, path: 'src/a.ts' }).toolArgsHash).toBe(a.toolArgsHash);
    expect(hash('  ls -la ').toolArgsHash).toBe(hash('ls -la').toolArgsHash);
    expect(Object.keys(a.attributes)).toEqual(['gen_ai.tool.name']);
    expect(JSON.stringify(a)).not.toContain('src/a.ts');
  });

  it('reads whether a tool-call result reports a failure', () => {
    const verdict = (result: AttrValue) => deriveSpan(raw({ attributes: attrs({ 'gen_ai.tool.call.result': result }) })).toolResultError;
    expect(verdict('{"ok": false, "reason": "not found"}')).toBe(true);
    expect(verdict('{"isError": true, "content": [{"type": "text", "text": "boom"}]}')).toBe(true);
    expect(verdict('{"success": false}')).toBe(true);
    expect(verdict('{"error": {"code": 404}}')).toBe(true);
    expect(verdict({ ok: false })).toBe(true);
    expect(verdict('{"ok": true, "error": null}')).toBe(false);
    // an empty error field is how many APIs say "no error"
    for (const empty of ['""', '"  "', '{}', '[]', '0', 'false']) expect(verdict(`{"error": ${empty}, "rows": 1}`)).toBe(false);
    expect(verdict('{"error": ["disk full"]}')).toBe(true);
    expect(verdict('{"error": "quota exceeded"}')).toBe(true);
    expect(verdict('{"content": "the word error: in a file"}')).toBe(false);
    expect(verdict('Error: plain text says nothing either way')).toBe(false);
    expect(deriveSpan(raw()).toolResultError).toBeUndefined();
  });

  it('takes the conversation id as the run id when no kc run id is present', () => {
    const conv = attrs({ 'gen_ai.conversation.id': 'conv-1', 'session.id': 's-1' });
    expect(deriveSpan(raw({ attributes: conv }))).toMatchObject({ runId: 'conv-1', conversationId: 'conv-1' });
    expect(deriveSpan(raw({ attributes: attrs({ ...conv, 'kc.run.id': 'r-1' }) }))).toMatchObject({ runId: 'r-1', conversationId: 'conv-1' });
  });

  it('reads the reported cost, currency, agent version, user and tool call id', () => {
    const s = deriveSpan(
      raw({
        attributes: attrs({
          'gen_ai.usage.cost.amount': '0.0123',
          'gen_ai.usage.cost.currency': 'EUR',
          'gen_ai.agent.version': '1.4.0',
          'enduser.id': 'u-7',
          'gen_ai.tool.call.id': 'call_42',
        }),
      }),
    );
    expect(s).toMatchObject({ costAmount: 0.0123, costCurrency: 'EUR', agentVersion: '1.4.0', user: 'u-7', toolCallId: 'call_42' });
    expect(deriveSpan(raw({ attributes: attrs({ 'gen_ai.usage.cost.amount': 'free' }) })).costAmount).toBeUndefined();
  });
});

describe('taskTypeFromTitle', () => {
  it('takes the first word of a title', () => {
    expect(taskTypeFromTitle('Refactor payment service')).toBe('Refactor');
    expect(taskTypeFromTitle('  Fix: login redirect')).toBe('Fix');
    expect(taskTypeFromTitle('"Add" retries')).toBe('Add');
  });

  it('is undefined for a title without a word', () => {
    expect(taskTypeFromTitle('')).toBeUndefined();
    expect(taskTypeFromTitle('  -- ')).toBeUndefined();
  });
});
