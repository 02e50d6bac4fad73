/**
 * What a call costs (docs/input.md, Cost): the cost the instrumentation reports
 * (`gen_ai.usage.cost.amount`, in USD unless `gen_ai.usage.cost.currency` says otherwise), else
 * its tokens × the price table of `service.pricing`. Only model calls spend: agent and task spans
 * that carry their children's summed tokens are never counted again.
 */
import type { SpanRecord } from './span.js';

/** USD per million tokens. */
export interface ModelPrice {
  readonly input_per_mtok: number;
  /** input tokens served from a provider cache; unset = input_per_mtok */
  readonly cached_input_per_mtok?: number | undefined;
  readonly output_per_mtok: number;
}

/** model name or prefix → price (keys compared case-insensitively; the longest matching key wins) */
export type PricingTable = Readonly<Record<string, ModelPrice>>;

/** gen_ai operation names of model calls, the only spans that spend. */
export const MODEL_CALL_OPERATIONS: readonly string[] = ['chat', 'text_completion', 'generate_content', 'embeddings'];

/**
 * A model call: a model-call operation name, or (instrumentations that set no operation name) a
 * span naming a model and neither a tool nor an agent.
 */
export function isModelCall(span: Pick<SpanRecord, 'operationName' | 'model' | 'tool' | 'agent'>): boolean {
  if (span.operationName !== undefined) return MODEL_CALL_OPERATIONS.includes(span.operationName);
  return span.model !== undefined && span.tool === undefined && span.agent === undefined;
}

/** What one model call spent. */
export interface CallSpend {
  /** input + output tokens (cached and reasoning tokens are parts of these) */
  readonly tokens: number;
  /** USD; undefined when the call reports no USD cost and the price table does not know its model */
  readonly usd: number | undefined;
}

const nonNegative = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

/** Distinct model names whose price lookup is remembered (a bounded cache: names come from traffic). */
const MAX_CACHED_MODELS = 1_024;

/** The price table, with its lookups cached. */
export class PriceTable {
  private readonly entries: readonly (readonly [prefix: string, price: ModelPrice])[];
  private readonly cache = new Map<string, ModelPrice | null>();

  constructor(table: PricingTable) {
    // longest prefix first, so the first match is the most specific key
    this.entries = Object.entries(table)
      .map(([k, v]) => [k.toLowerCase(), v] as const)
      .sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : 1));
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** The price of a model: the longest table key the name starts with (case-insensitive). */
  priceOf(model: string): ModelPrice | undefined {
    const name = model.toLowerCase();
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.entries.find(([prefix]) => name.startsWith(prefix))?.[1];
    if (this.cache.size >= MAX_CACHED_MODELS) this.cache.clear();
    this.cache.set(name, found ?? null);
    return found;
  }

  /** USD of `input` (of which `cached` from a cache) and `output` tokens at `price`. */
  static costOf(price: ModelPrice, input: number, cached: number, output: number): number {
    const fromCache = Math.min(cached, input);
    return ((input - fromCache) * price.input_per_mtok + fromCache * (price.cached_input_per_mtok ?? price.input_per_mtok) + output * price.output_per_mtok) / 1_000_000;
  }

  /** The spend of a model call; undefined for any other span. */
  spend(span: SpanRecord): CallSpend | undefined {
    if (!isModelCall(span)) return undefined;
    const input = nonNegative(span.inputTokens);
    const output = nonNegative(span.outputTokens);
    const tokens = input + output;
    if (span.costAmount !== undefined && (span.costCurrency === undefined || span.costCurrency.toUpperCase() === 'USD')) return { tokens, usd: span.costAmount };
    const price = span.model !== undefined && !this.empty ? this.priceOf(span.model) : undefined;
    if (price === undefined || (span.inputTokens === undefined && span.outputTokens === undefined)) return { tokens, usd: undefined };
    return { tokens, usd: PriceTable.costOf(price, input, nonNegative(span.cachedInputTokens), output) };
  }

  /** USD a span cost: its spend's USD for a model call, undefined otherwise or when not known. */
  usd(span: SpanRecord): number | undefined {
    return this.spend(span)?.usd;
  }
}

const tables = new WeakMap<PricingTable, PriceTable>();

/** The PriceTable of a config's pricing section, shared by every processor reading the same settings. */
export function priceTableFor(table: PricingTable): PriceTable {
  let t = tables.get(table);
  if (t === undefined) tables.set(table, (t = new PriceTable(table)));
  return t;
}

/** USD as text, to the cent (4 decimals below a cent), locale-free: "$0.42", "$12.50", "$12", "$0.0031". */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return `$${usd}`;
  const a = Math.abs(usd);
  const digits = a === 0 || a >= 0.01 ? 2 : 4;
  return `$${usd.toFixed(digits).replace(/\.00$/, '')}`;
}
