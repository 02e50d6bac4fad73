/**
 * Provider and model names (docs/input.md, Names): one provider is never split into two series by
 * spelling. A value is compared case-insensitively and through the configured alias table
 * (`service.names`), and every spelling of one name is shown as the first spelling seen.
 */
import type { AttrValue, Attributes, SpanEvent, SpanRecord } from './span.js';

export interface NameSettings {
  /** alias → name, compared case-insensitively (`claude: anthropic`) */
  readonly provider_aliases: Readonly<Record<string, string>>;
  readonly model_aliases: Readonly<Record<string, string>>;
  /** names remembered per kind for their display spelling; past it a name shows in lower case */
  readonly max_names: number;
}

/**
 * Default provider aliases: the values of the deprecated `gen_ai.system` that
 * `gen_ai.provider.name` renamed, and kc-orchestrator's name for Anthropic's CLI.
 */
export const DEFAULT_PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  claude: 'anthropic',
  'az.ai.openai': 'azure.ai.openai',
  'az.ai.inference': 'azure.ai.inference',
  gemini: 'gcp.gemini',
  vertex_ai: 'gcp.vertex_ai',
  xai: 'x_ai',
};

export const DEFAULT_NAME_SETTINGS: NameSettings = { provider_aliases: DEFAULT_PROVIDER_ALIASES, model_aliases: {}, max_names: 10_000 };

/** The comparison key of a spelling: trimmed, lower case. */
export function nameKey(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * The problems of an alias table, each as [alias, message]: two aliases equal but for case that
 * name different targets, or an alias whose target is itself an alias of something else (aliases
 * resolve in one step, so a chain would silently stop halfway).
 */
export function aliasTableIssues(table: Readonly<Record<string, string>>): [string, string][] {
  const issues: [string, string][] = [];
  const targetOf = new Map<string, { alias: string; target: string }>();
  for (const [alias, target] of Object.entries(table)) {
    const key = nameKey(alias);
    const known = targetOf.get(key);
    if (known !== undefined && nameKey(known.target) !== nameKey(target)) {
      issues.push([alias, `"${alias}" and "${known.alias}" are the same name (case is ignored) but map to "${known.target}" and "${target}"`]);
    }
    targetOf.set(key, { alias, target });
  }
  for (const [alias, target] of Object.entries(table)) {
    const next = targetOf.get(nameKey(target));
    if (next !== undefined && nameKey(next.target) !== nameKey(target)) {
      issues.push([alias, `"${alias}" maps to "${target}", which is itself an alias of "${next.target}": map it to "${next.target}"`]);
    }
  }
  return issues;
}

/** One kind of name (providers, or models): alias resolution and the first spelling seen. */
class NameTable {
  private readonly aliases = new Map<string, string>();
  /** comparison key → display spelling */
  private readonly display = new Map<string, string>();
  /** spelling → display spelling, for the spellings already met (the common case: one lookup) */
  private readonly seen = new Map<string, string>();
  /** names past max_names, shown in lower case */
  overflowed = 0;

  constructor(
    aliases: Readonly<Record<string, string>>,
    private readonly max: number,
  ) {
    for (const [alias, target] of Object.entries(aliases)) this.aliases.set(nameKey(alias), nameKey(target));
  }

  name(value: string): string {
    const known = this.seen.get(value);
    if (known !== undefined) return known;
    const lower = nameKey(value);
    const key = this.aliases.get(lower) ?? lower;
    let shown = this.display.get(key);
    if (shown === undefined) {
      if (this.display.size >= this.max) {
        // still one series per name, only the spelling is lost
        this.overflowed++;
        return key;
      }
      shown = value.trim();
      this.display.set(key, shown);
    }
    if (this.seen.size < this.max * 4) this.seen.set(value, shown);
    return shown;
  }
}

/** Span events whose attributes name providers (kc's fallbacks: from / to). */
const PROVIDER_EVENT_KEYS: Readonly<Record<string, readonly string[]>> = {
  provider_fallback: ['from', 'to', 'fromProvider', 'toProvider'],
};

/**
 * The names of one pipeline: stateful (the first spelling seen is the display name), so one
 * instance sees every span of a stream, in order.
 */
export class NameNormalizer {
  private readonly providers: NameTable;
  private readonly models: NameTable;

  constructor(settings: NameSettings = DEFAULT_NAME_SETTINGS) {
    this.providers = new NameTable(settings.provider_aliases, settings.max_names);
    this.models = new NameTable(settings.model_aliases, settings.max_names);
  }

  provider(value: string): string {
    return this.providers.name(value);
  }

  model(value: string): string {
    return this.models.name(value);
  }

  /** names past max_names (shown in lower case) */
  get overflowed(): number {
    return this.providers.overflowed + this.models.overflowed;
  }

  /**
   * The span with its provider and model (and the operation key a model qualifies, and the
   * providers its fallback events name) in their display spelling; the span itself when nothing changes.
   */
  span(span: SpanRecord): SpanRecord {
    const provider = span.provider === undefined ? undefined : this.provider(span.provider);
    const model = span.model === undefined ? undefined : this.model(span.model);
    const events = this.events(span.events);
    if (provider === span.provider && model === span.model && events === span.events) return span;
    const out: { -readonly [K in keyof SpanRecord]: SpanRecord[K] } = { ...span, events };
    if (provider !== undefined) out.provider = provider;
    if (model !== undefined && model !== span.model) {
      out.model = model;
      // the operation key's qualifier is the first of tool / model / task type
      if (span.tool === undefined) out.operationKey = `${span.service} ${span.name} ${model}`;
    }
    return out;
  }

  private events(events: readonly SpanEvent[]): readonly SpanEvent[] {
    let out: SpanEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as SpanEvent;
      const keys = PROVIDER_EVENT_KEYS[e.name];
      if (keys === undefined) continue;
      let attributes: Record<string, AttrValue> | undefined;
      for (const key of keys) {
        const v = e.attributes[key];
        if (typeof v !== 'string' || v === '') continue;
        const named = this.provider(v);
        if (named === v) continue;
        attributes ??= Object.assign(Object.create(null) as Record<string, AttrValue>, e.attributes);
        attributes[key] = named;
      }
      if (attributes === undefined) continue;
      out ??= [...events];
      out[i] = { ...e, attributes: attributes as Attributes };
    }
    return out ?? events;
  }
}
