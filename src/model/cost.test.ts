import { describe, expect, it } from 'vitest';
import { formatUsd, isModelCall, PriceTable, priceTableFor } from './cost.js';
import { makeSpan } from '../../test/support/span-factory.js';
import type { SpanRecord } from './span.js';

const chat = (over: Partial<SpanRecord> = {}): SpanRecord =>
  ({ ...makeSpan({ name: 'chat gpt-4o', operationName: 'chat', model: 'gpt-4o', inputTokens: 10_000, outputTokens: 1_000 }), ...over }) as SpanRecord;

const TABLE = {
  'gpt-4o': { input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 },
  'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'Claude-Sonnet-4': { input_per_mtok: 3, cached_input_per_mtok: 0.3, output_per_mtok: 15 },
};

describe('isModelCall', () => {
  it('is a model-call operation name, or a model without a tool or agent when no operation name is set', () => {
    expect(isModelCall(chat())).toBe(true);
    expect(isModelCall(chat({ operationName: 'embeddings' }))).toBe(true);
    expect(isModelCall(chat({ operationName: 'invoke_agent', agent: 'coder' }))).toBe(false);
    expect(isModelCall(chat({ operationName: 'execute_tool', tool: 'grep' }))).toBe(false);
    expect(isModelCall(chat({ operationName: undefined }))).toBe(true);
    expect(isModelCall(chat({ operationName: undefined, agent: 'coder' }))).toBe(false);
    expect(isModelCall(makeSpan({ provider: 'codex' }))).toBe(false);
  });
});

describe('PriceTable', () => {
  const prices = new PriceTable(TABLE);

  it('takes the longest key the model name starts with, case-insensitively', () => {
    expect(prices.priceOf('gpt-4o-2024-08-06')).toBe(TABLE['gpt-4o']);
    expect(prices.priceOf('gpt-4o-mini-2024-07-18')).toBe(TABLE['gpt-4o-mini']);
    expect(prices.priceOf('claude-sonnet-4-20250514')).toBe(TABLE['Claude-Sonnet-4']);
    expect(prices.priceOf('o3')).toBeUndefined();
  });

  it('prices a model call from its tokens: cached input at the cached price, the rest at the input price', () => {
    expect(prices.spend(chat())).toEqual({ tokens: 11_000, usd: (10_000 * 2.5 + 1_000 * 10) / 1e6 });
    const cached = prices.spend(chat({ cachedInputTokens: 8_000 }));
    expect(cached?.usd).toBeCloseTo((2_000 * 2.5 + 8_000 * 1.25 + 1_000 * 10) / 1e6, 12);
    // no cached price: cached input costs the input price
    expect(prices.spend(chat({ model: 'gpt-4o-mini', cachedInputTokens: 8_000 }))?.usd).toBeCloseTo((10_000 * 0.15 + 1_000 * 0.6) / 1e6, 12);
  });

  it('prefers the cost the call reports in USD; another currency falls back to the table', () => {
    expect(prices.spend(chat({ costAmount: 0.5 }))?.usd).toBe(0.5);
    expect(prices.spend(chat({ costAmount: 0.5, costCurrency: 'usd' }))?.usd).toBe(0.5);
    expect(prices.spend(chat({ costAmount: 0.5, costCurrency: 'EUR' }))?.usd).toBeCloseTo(0.035, 12);
    expect(new PriceTable({}).spend(chat({ costAmount: 0.5, costCurrency: 'EUR' }))).toEqual({ tokens: 11_000, usd: undefined });
  });

  it('leaves the cost unknown for a model it has no price for, and spends nothing on agent or tool spans', () => {
    expect(prices.spend(chat({ model: 'o3' }))).toEqual({ tokens: 11_000, usd: undefined });
    expect(prices.spend(chat({ operationName: 'invoke_agent', agent: 'coder', inputTokens: 90_000 }))).toBeUndefined();
    expect(prices.usd(chat({ operationName: 'execute_tool', tool: 'grep' }))).toBeUndefined();
  });

  it('is shared per pricing section', () => {
    expect(priceTableFor(TABLE)).toBe(priceTableFor(TABLE));
  });
});

describe('formatUsd', () => {
  it('writes cents, or 4 decimals below a cent', () => {
    expect([formatUsd(12), formatUsd(12.5), formatUsd(0.42), formatUsd(0.0031), formatUsd(0)]).toEqual(['$12', '$12.50', '$0.42', '$0.0031', '$0']);
  });
});
