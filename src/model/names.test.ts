import { describe, expect, it } from 'vitest';
import { aliasTableIssues, DEFAULT_NAME_SETTINGS, NameNormalizer } from './names.js';
import { deriveSpan } from './derive.js';
import { SpanKind, StatusCode, type RawSpan } from './span.js';
import { seriesSubjects, subjectKey } from './series.js';

function raw(attributes: Record<string, string>, name = 'chat', events: RawSpan['events'] = []): RawSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    name,
    kind: SpanKind.CLIENT,
    startMs: 0,
    endMs: 10,
    durationMs: 10,
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes,
    events,
    links: [],
    resource: { 'service.name': 'kc' },
    scopeName: 't',
  };
}

describe('NameNormalizer', () => {
  it('shows every spelling of a provider as the first one seen, case ignored', () => {
    const names = new NameNormalizer();
    expect(names.provider('Claude')).toBe('Claude');
    expect(names.provider('claude')).toBe('Claude');
    expect(names.provider(' CLAUDE ')).toBe('Claude');
    expect(names.provider('codex')).toBe('codex');
  });

  it('resolves aliases: claude and anthropic are one provider by default', () => {
    const names = new NameNormalizer();
    expect(names.provider('anthropic')).toBe('anthropic');
    expect(names.provider('Claude')).toBe('anthropic');
    // the renamed gen_ai.system values
    expect(names.provider('az.ai.openai')).toBe('az.ai.openai');
    expect(names.provider('azure.ai.openai')).toBe('az.ai.openai');
  });

  it('takes model aliases from its settings', () => {
    const names = new NameNormalizer({ ...DEFAULT_NAME_SETTINGS, model_aliases: { 'gpt-4o-2024-08-06': 'gpt-4o' } });
    expect(names.model('GPT-4o')).toBe('GPT-4o');
    expect(names.model('gpt-4o-2024-08-06')).toBe('GPT-4o');
    expect(names.model('gpt-4o-mini')).toBe('gpt-4o-mini');
  });

  it('past max_names keeps one name per spelling group, in lower case, and counts it', () => {
    const names = new NameNormalizer({ ...DEFAULT_NAME_SETTINGS, max_names: 1 });
    expect(names.provider('OpenAI')).toBe('OpenAI');
    expect(names.provider('Mistral')).toBe('mistral');
    expect(names.provider('MISTRAL')).toBe('mistral');
    expect(names.overflowed).toBe(2);
  });

  it('renames a span: provider, model, the operation key a model qualifies, fallback events', () => {
    const names = new NameNormalizer();
    const first = names.span(deriveSpan(raw({ 'gen_ai.provider.name': 'Claude', 'gen_ai.request.model': 'Sonnet' }, 'chat')));
    expect(first.operationKey).toBe('kc chat Sonnet');
    const second = names.span(
      deriveSpan(
        raw({ 'gen_ai.provider.name': 'claude', 'gen_ai.request.model': 'sonnet' }, 'chat', [
          { name: 'provider_fallback', timeMs: 5, attributes: { from: 'claude', to: 'codex', reason: 'rate limit' } },
        ]),
      ),
    );
    expect(second.provider).toBe('Claude');
    expect(second.model).toBe('Sonnet');
    expect(second.operationKey).toBe('kc chat Sonnet');
    expect(second.events[0]?.attributes).toEqual({ from: 'Claude', to: 'codex', reason: 'rate limit' });
    // one series per provider, whatever the spelling
    const dims = ['provider'] as const;
    expect(seriesSubjects(second, [...dims]).map(subjectKey)).toEqual(seriesSubjects(first, [...dims]).map(subjectKey));
  });

  it('leaves a span whose names are already shown as they are untouched (same object)', () => {
    const names = new NameNormalizer();
    const span = deriveSpan(raw({ 'gen_ai.provider.name': 'openai', 'gen_ai.tool.name': 'web_search', 'gen_ai.request.model': 'gpt-4o' }, 'execute_tool'));
    expect(names.span(span)).toBe(span);
    const upper = names.span(deriveSpan(raw({ 'gen_ai.provider.name': 'OpenAI', 'gen_ai.tool.name': 'web_search' }, 'execute_tool')));
    // a tool qualifies the operation key, so the key does not change with the provider
    expect(upper.provider).toBe('openai');
    expect(upper.operationKey).toBe('kc execute_tool web_search');
  });
});

describe('aliasTableIssues', () => {
  it('finds aliases equal but for case with different targets, and chains', () => {
    expect(aliasTableIssues({ claude: 'anthropic', 'az.ai.openai': 'azure.ai.openai' })).toEqual([]);
    expect(aliasTableIssues({ claude: 'anthropic', anthropic: 'anthropic' })).toEqual([]);
    expect(aliasTableIssues({ Claude: 'a', claude: 'b' }).map(([alias]) => alias)).toEqual(['claude']);
    const chain = aliasTableIssues({ claude: 'anthropic', anthropic: 'acme' });
    expect(chain).toHaveLength(1);
    expect(chain[0]?.[1]).toMatch(/itself an alias of "acme"/);
  });
});
