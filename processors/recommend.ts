/**
 * The recommend processor (docs/outputs.md, Recommendations): attaches to each pain-point change the recommendation of the
 * group of open pain points it belongs to (src/recommendations/build.ts groups by root and builds
 * the kc task), and emits each recommendation content once:
 * - a recommendation whose task contentHash was already emitted is not attached again
 *   (bounded LRU of hashes, `dedupe_cache_size`, evictions counted);
 * - near-identical titles (lowercase, numbers stripped, whitespace folded) join one group led by
 *   the highest-priority pain point, so they come out as one recommendation;
 * - a resolved change carries no recommendations, and its pain point leaves the open set.
 * Open pain points are capped (`max_open_painpoints`); beyond it the least recently changed one
 * is forgotten (counted).
 */
import { defer, map, type OperatorFunction } from 'rxjs';
import { Counter, Gauge } from '../src/telemetry/prom.js';
import { z } from 'zod';
import type { PainPointChange } from '../src/model/events.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { ProcessorFactory } from '../src/component/contracts.js';
import { buildGroupRecommendation, leadTitle, type RecommendationOptions } from '../src/recommendations/build.js';
import { groupPainPoints } from '../src/recommendations/grouping.js';
import { DEFAULT_IMPACT_LEVELS } from '../src/recommendations/impact.js';
import { perRegistry } from '../src/telemetry/per-registry.js';

export const recommendConfigSchema = z.strictObject({
  /** window the acceptance criteria are judged over, as written in them */
  acceptance_window: z.string().min(1).default('15 m'),
  /** impact score thresholds of the recommendation impact level (below moderate: minor) */
  impact_levels: z
    .strictObject({
      moderate: z.number().nonnegative().default(DEFAULT_IMPACT_LEVELS.moderate),
      major: z.number().nonnegative().default(DEFAULT_IMPACT_LEVELS.major),
      critical: z.number().nonnegative().default(DEFAULT_IMPACT_LEVELS.critical),
    })
    .prefault({})
    .refine((l) => l.moderate <= l.major && l.major <= l.critical, { message: 'impact levels must be moderate ≤ major ≤ critical' }),
  /** open pain points kept for grouping; the least recently changed is forgotten beyond it */
  max_open_painpoints: z.number().int().positive().default(10_000),
  /** task content hashes remembered to suppress re-emitting the same recommendation */
  dedupe_cache_size: z.number().int().positive().default(10_000),
});
export type RecommendConfig = z.output<typeof recommendConfigSchema>;

export interface RecommendHooks {
  onEmitted?(): void;
  onDuplicate?(): void;
  onDedupeEvicted?(): void;
  onOpenEvicted?(): void;
  onOpenSize?(size: number): void;
}

interface OpenEntry {
  readonly painpoint: PainPointRecord;
  /** the recommendation title this pain point leads with, computed once per change */
  readonly title: string;
}

/** The state of one subscription: the open pain points and the hashes already emitted. */
export class RecommendationTracker {
  /** Map order = least recently changed first, for eviction */
  private readonly open = new Map<string, OpenEntry>();
  /** Map used as an LRU set of emitted task content hashes */
  private readonly emitted = new Map<string, true>();
  private readonly options: RecommendationOptions;

  constructor(
    private readonly config: RecommendConfig,
    private readonly hooks: RecommendHooks = {},
  ) {
    this.options = { acceptanceWindow: config.acceptance_window, impactLevels: config.impact_levels };
  }

  get openCount(): number {
    return this.open.size;
  }

  process(change: PainPointChange): PainPointChange {
    const pp = change.painpoint;
    if (pp.state === 'resolved') {
      this.open.delete(pp.id);
      this.hooks.onOpenSize?.(this.open.size);
      return { painpoint: pp, recommendations: [] };
    }
    this.remember(pp);
    const recommendation = this.recommendationFor(pp.id);
    if (!recommendation) return { painpoint: pp, recommendations: [] };
    const hash = recommendation.task.contentHash;
    if (this.emitted.has(hash)) {
      this.emitted.delete(hash);
      this.emitted.set(hash, true);
      this.hooks.onDuplicate?.();
      return { painpoint: pp, recommendations: [] };
    }
    this.emitted.set(hash, true);
    while (this.emitted.size > this.config.dedupe_cache_size) {
      this.emitted.delete(this.emitted.keys().next().value as string);
      this.hooks.onDedupeEvicted?.();
    }
    this.hooks.onEmitted?.();
    return { painpoint: pp, recommendations: [recommendation] };
  }

  private remember(pp: PainPointRecord): void {
    this.open.delete(pp.id);
    this.open.set(pp.id, { painpoint: pp, title: leadTitle(pp, this.options) });
    while (this.open.size > this.config.max_open_painpoints) {
      this.open.delete(this.open.keys().next().value as string);
      this.hooks.onOpenEvicted?.();
    }
    this.hooks.onOpenSize?.(this.open.size);
  }

  private recommendationFor(id: string): Recommendation | undefined {
    const entries = [...this.open.values()];
    const titles = new Map(entries.map((e) => [e.painpoint.id, e.title]));
    const groups = groupPainPoints(
      entries.map((e) => e.painpoint),
      (pp) => titles.get(pp.id) ?? pp.title,
    );
    const group = groups.find((g) => g.some((pp) => pp.id === id));
    return group ? buildGroupRecommendation(group, this.options).recommendation : undefined;
  }
}

/** The operator; each subscription has its own open set and dedupe cache. */
export function recommend(config: RecommendConfig, hooks: RecommendHooks = {}): OperatorFunction<PainPointChange, PainPointChange> {
  return (source) =>
    defer(() => {
      const tracker = new RecommendationTracker(config, hooks);
      return source.pipe(map((change) => tracker.process(change)));
    });
}

interface RecommendMetrics {
  readonly emitted: Counter<'processor'>;
  readonly duplicates: Counter<'processor'>;
  readonly evicted: Counter<'processor' | 'cache'>;
  readonly open: Gauge<'processor'>;
}

const recommendMetrics = perRegistry((registry): RecommendMetrics => ({
  emitted: new Counter({ name: 'sidelight_recommendations_emitted_total', help: 'Recommendations attached to pain-point changes', labelNames: ['processor'], registers: [registry] }),
  duplicates: new Counter({
    name: 'sidelight_recommendations_duplicates_total',
    help: 'Recommendations not attached because the same content was already emitted',
    labelNames: ['processor'],
    registers: [registry],
  }),
  evicted: new Counter({
    name: 'sidelight_recommend_evictions_total',
    help: 'Entries forgotten because a recommend cap was reached (cache = open_painpoints | dedupe)',
    labelNames: ['processor', 'cache'],
    registers: [registry],
  }),
  open: new Gauge({ name: 'sidelight_recommend_open_painpoints', help: 'Open pain points held for grouping', labelNames: ['processor'], registers: [registry] }),
}));

export const recommendProcessorFactory: ProcessorFactory<RecommendConfig> = {
  type: 'recommend',
  stage: 'recommend',
  configSchema: recommendConfigSchema,
  create(config, ctx) {
    const metrics = recommendMetrics(ctx.metrics);
    const processor = ctx.id;
    return recommend(config, {
      onEmitted: () => metrics.emitted.inc({ processor }),
      onDuplicate: () => metrics.duplicates.inc({ processor }),
      onDedupeEvicted: () => metrics.evicted.inc({ processor, cache: 'dedupe' }),
      onOpenEvicted: () => metrics.evicted.inc({ processor, cache: 'open_painpoints' }),
      onOpenSize: (size) => metrics.open.set({ processor }, size),
    });
  },
};
