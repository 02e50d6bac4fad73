/**
 * The `service` section of the config (docs/configuration.md): pipelines and the settings every component
 * shares — windows, series, the attribute mapping of the span model, telemetry, limits.
 */
import { z } from 'zod';
import { zDuration } from './duration.js';
import { DIMENSIONS } from '../model/series.js';
import { DEFAULT_ATTRIBUTE_MAPPING, type AttributeMapping } from '../model/derive.js';
import { serverSecurityShape } from '../security/server-security.js';
import { aliasTableIssues, DEFAULT_NAME_SETTINGS, nameKey, type NameSettings } from '../model/names.js';
import type { ModelPrice } from '../model/cost.js';
import { uiSchema } from './ui-schema.js';

export const windowsSchema = z
  .strictObject({
    /** pane width of the fine panes, and the period at which detectors judge */
    slide: zDuration.default(10_000),
    /** sliding windows built from fine panes */
    sizes: z.array(zDuration).min(1).default([60_000, 300_000, 900_000]),
    /** pane width of the coarse panes (a multiple of slide) */
    coarse_slide: zDuration.default(300_000),
    /** sliding windows built from coarse panes, for sparse series */
    coarse_sizes: z.array(zDuration).default([3_600_000, 21_600_000, 86_400_000]),
    /** watermark = max end time seen − allowed_lateness */
    allowed_lateness: zDuration.default(10_000),
    /**
     * detectors judge at every boundary of this width (a multiple of slide); unset = every slide.
     * Coarser judging is cheaper on long sparse inputs but can miss a spike shorter than it.
     */
    judge_every: zDuration.optional(),
    /** how often the wall clock is checked to advance an idle watermark */
    tick: zDuration.default(1_000),
    /**
     * live only: spans ending further than this ahead of the wall clock are dropped and counted,
     * since one span from a client with a wrong clock would otherwise make every later span late
     */
    max_future_skew: zDuration.default(300_000),
  })
  .refine((w) => w.coarse_slide % w.slide === 0, { message: 'coarse_slide must be a multiple of slide', path: ['coarse_slide'] })
  .refine((w) => w.judge_every === undefined || w.judge_every % w.slide === 0, { message: 'judge_every must be a multiple of slide', path: ['judge_every'] })
  .refine((w) => w.sizes.every((s) => s % w.slide === 0), { message: 'every size must be a multiple of slide', path: ['sizes'] })
  .refine((w) => w.coarse_sizes.every((s) => s % w.coarse_slide === 0), {
    message: 'every coarse size must be a multiple of coarse_slide',
    path: ['coarse_sizes'],
  });
export type WindowsSettings = z.output<typeof windowsSchema>;

export const seriesSchema = z.strictObject({
  /** group-by dimensions: a span also counts in the series service + span name + each value it carries */
  dimensions: z.array(z.enum(DIMENSIONS)).default([...DIMENSIONS]),
  /** per-processor cap on tracked series; spans of further series go to `__overflow__` */
  max_series: z.number().int().positive().default(5_000),
});
export type SeriesSettings = z.output<typeof seriesSchema>;

const keys = (defaults: readonly string[]) => z.array(z.string().min(1)).default([...defaults]);
const d = DEFAULT_ATTRIBUTE_MAPPING;

/** For each meaning of the span model, the attribute keys to look at (first present wins); defaults in src/model/derive.ts. */
export const attributesSchema = z.strictObject({
  run_id: keys(d.run_id),
  task_id: keys(d.task_id),
  task_type: keys(d.task_type),
  /** 1-based attempt keys; http.request.resend_count is listed in attempt_zero_based */
  attempt: keys(d.attempt),
  /** counts of resends (0 = first try): attempt = value + 1 */
  attempt_zero_based: keys(d.attempt_zero_based),
  agent: keys(d.agent),
  operation_name: keys(d.operation_name),
  tool: keys(d.tool),
  model: keys(d.model),
  provider: keys(d.provider),
  input_tokens: keys(d.input_tokens),
  output_tokens: keys(d.output_tokens),
  error_type: keys(d.error_type),
  http_status: keys(d.http_status),
  /** count a span as failed when it carries an error type attribute, even with status UNSET */
  failed_on_error_type: z.boolean().default(d.failed_on_error_type),
  finish_reasons: keys(d.finish_reasons),
  cached_input_tokens: keys(d.cached_input_tokens),
  reasoning_tokens: keys(d.reasoning_tokens),
  tool_call_id: keys(d.tool_call_id),
  /** hashed (normalized JSON), then dropped from the span record: never stored or exported */
  tool_call_arguments: keys(d.tool_call_arguments),
  tool_call_result: keys(d.tool_call_result),
  conversation_id: keys(d.conversation_id),
  cost_amount: keys(d.cost_amount),
  cost_currency: keys(d.cost_currency),
  agent_version: keys(d.agent_version),
  user: keys(d.user),
}) satisfies z.ZodType<AttributeMapping>;

/**
 * An alias table added to `defaults`: an entry replaces the default of the same alias (case is
 * ignored), and `alias: alias` undoes a default.
 */
const aliasTable = (defaults: Readonly<Record<string, string>>) =>
  z
    .record(z.string().trim().min(1), z.string().trim().min(1))
    .default({})
    .transform((table) => {
      const own = new Set(Object.keys(table).map(nameKey));
      const kept = Object.entries(defaults).filter(([alias]) => !own.has(nameKey(alias)));
      return { ...Object.fromEntries(kept), ...table };
    })
    .superRefine((table, ctx) => {
      for (const [alias, message] of aliasTableIssues(table)) ctx.addIssue({ code: 'custom', message, path: [alias] });
    });

/**
 * Provider and model names (docs/input.md, Names): values compared case-insensitively and through
 * these alias tables (alias → name), shown as the first spelling seen.
 */
export const namesSchema = z.strictObject({
  /** added to the defaults: claude → anthropic and the gen_ai.system values gen_ai.provider.name renamed */
  provider_aliases: aliasTable(DEFAULT_NAME_SETTINGS.provider_aliases),
  model_aliases: aliasTable(DEFAULT_NAME_SETTINGS.model_aliases),
  /** names remembered per kind with their first spelling; further names are shown in lower case (counted) */
  max_names: z.number().int().positive().default(DEFAULT_NAME_SETTINGS.max_names),
}) satisfies z.ZodType<NameSettings>;
export type NamesSettings = z.output<typeof namesSchema>;
/** USD per million tokens of one model (docs/configuration.md, Pricing). */
export const modelPriceSchema = z.strictObject({
  input_per_mtok: z.number().nonnegative(),
  /** input tokens served from a provider cache; unset = input_per_mtok */
  cached_input_per_mtok: z.number().nonnegative().optional(),
  output_per_mtok: z.number().nonnegative(),
}) satisfies z.ZodType<ModelPrice>;

/** model name or prefix → price; the longest key the model name starts with wins (case-insensitive) */
export const pricingSchema = z.record(z.string().min(1), modelPriceSchema);

/** The pain-point lifecycle shared by every detector (docs/painpoints.md). */
export const painpointsSchema = z.strictObject({
  /** an `updated` change when the key metric moves by more than this fraction (at most once per slide) */
  update_delta: z.number().positive().default(0.25),
  /** `resolved` when no detector has seen the condition for this long (event time) */
  resolve_after: zDuration.default(120_000),
  /**
   * severity rises at once but falls only after this many consecutive judgements at the lower
   * severity, so a metric hovering at a threshold does not flap between medium and high
   */
  severity_down_after: z.number().int().positive().default(3),
  /**
   * a metric that crossed a threshold (to fire, or to a higher severity) falls back only below the
   * threshold minus this fraction of it, so a value hovering at the line does not flap
   */
  band: z.number().min(0).max(0.5).default(0.1),
  /** cap on pain points tracked at once; further new ones are dropped and counted */
  max_active: z.number().int().positive().default(10_000),
});
export type PainPointSettings = z.output<typeof painpointsSchema>;

/** The problems stage (docs/painpoints.md, Problems): one cause, one alert. */
export const problemsSchema = z.strictObject({
  /** a latency_bottleneck seen within this much event time marks its operation as on the critical path */
  correlation_window: zDuration.default(900_000),
  /** excess is counted over a pain point's own window, and from at least this long before it was first seen (its detection delay) */
  onset_lead: zDuration.default(300_000),
  /** the longest stretch excess is counted over (a pain point judged over the whole input or 24 h reads this much) */
  max_interval: zDuration.default(21_600_000),
  /** the interval before that which excess is measured against */
  baseline: zDuration.default(3_600_000),
  /** share of a pain point's excess another must explain to make it a symptom */
  explain_share: z.number().gt(0).max(1).default(0.8),
  /** a link to the cause a pain point already had holds while its share stays above explain_share minus this */
  link_band: z.number().min(0).max(0.5).default(0.1),
  /** share of a behaviour's calls inside a problem's spans to list it as contributing */
  contributing_share: z.number().gt(0).max(1).default(0.5),
  /** pane width of the attribution index */
  pane: zDuration.default(60_000),
  /** distinct span tuples (service, name, dimension values, error class) the index tracks */
  max_tuples: z.number().int().positive().default(20_000),
  /** a problem with retry_exhaustion on an operation seen as a latency_bottleneck within the correlation window is high */
  exhaustion_on_critical_path: z.boolean().default(true),
  /** open problems tracked at once; further new ones are dropped and counted */
  max_open: z.number().int().positive().default(10_000),
});
export type ProblemSettings = z.output<typeof problemsSchema>;

/**
 * Default of `traces.max_buffered_spans`: about 40 MiB of compact spans (src/traces/buffered-span.ts),
 * 10 s of traffic at 10 000 spans/s (a trace waits its own length plus trace_idle plus up to one slide).
 */
export const DEFAULT_MAX_BUFFERED_SPANS = 100_000;

/** The trace assembler shared by trace-based detectors (as the Collector's tail_sampling buffers traces). */
export const tracesSchema = z.strictObject({
  /** a trace is complete when its root has ended and no span arrived for this long (event time) */
  trace_idle: zDuration.default(5_000),
  /** …or this long after its first span, whatever happens */
  decision_wait: zDuration.default(30_000),
  /** traces buffered at once; past it the oldest is completed early and counted */
  max_traces: z.number().int().positive().default(50_000),
  /** spans buffered at once over every trace (the assembler's memory); past it the oldest trace is completed early and counted */
  max_buffered_spans: z.number().int().positive().default(DEFAULT_MAX_BUFFERED_SPANS),
  max_spans_per_trace: z.number().int().positive().default(10_000),
  /**
   * spans naming no run held until the boundary that first judges them, to take their trace's run
   * (docs/input.md, Runs); past it the earliest are passed on early with the runs known then (counted)
   */
  max_held_spans: z.number().int().positive().default(50_000),
});
export type TracesSettings = z.output<typeof tracesSchema>;

/** The sidecar process's memory (docs/configuration.md, Memory); read by `sidelight run` only, never by the library. */
export const memorySchema = z.strictObject({
  /**
   * how far the JavaScript heap may grow past the memory in use before the next full collection
   * (V8's heap growing factor; V8 itself lets it reach 4× on a busy process). Lower keeps resident
   * memory close to what is in use at the cost of more collection work.
   */
  heap_growth: z.number().min(1.1).max(4).default(1.5),
  /**
   * V8's memory-saving mode: a page is compacted once a fifth of it is free space between live
   * objects (V8 alone waits for 70 %), so pages holding a few long-lived objects among dead spans
   * are given back; costs collection work
   */
  compact_heap: z.boolean().default(true),
});
export type MemorySettings = z.output<typeof memorySchema>;

export const pipelineSchema = z.strictObject({
  receivers: z.array(z.string()).min(1),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1),
});
export type PipelineSettings = z.output<typeof pipelineSchema>;

export const telemetrySchema = z.strictObject({
  /** host:port for /metrics, /healthz, /readyz; unset = served on the OTLP/HTTP receiver's port */
  endpoint: z.string().optional(),
  /** HTTPS and a bearer token for that endpoint (the health probes stay open) */
  ...serverSecurityShape,
  logs: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).prefault({}),
});

export const serviceSchema = z.strictObject({
  pipelines: z.record(z.string(), pipelineSchema).optional(),
  telemetry: telemetrySchema.prefault({}),
  windows: windowsSchema.prefault({}),
  series: seriesSchema.prefault({}),
  attributes: attributesSchema.prefault({}),
  names: namesSchema.prefault({}),
  painpoints: painpointsSchema.prefault({}),
  problems: problemsSchema.prefault({}),
  traces: tracesSchema.prefault({}),
  /** prices of model calls, for the cost of calls that report none (docs/configuration.md, Pricing); empty by default */
  pricing: pricingSchema.default({}),
  memory: memorySchema.prefault({}),
  /** the live page at /ui (docs/configuration.md) */
  ui: uiSchema.prefault({}),
  /** where state that outlives a restart lives (kc_runs ingest log, spool, SQLite default) */
  data_dir: z.string().default('./sidelight-data'),
  /**
   * bounded queue between receivers and the pipeline, in spans; full → 503 / UNAVAILABLE. It only
   * smooths bursts: past a few seconds of work, a backlog belongs to the client's retry (as with
   * the Collector's memory_limiter), not to whole decoded spans in memory
   */
  queue_size: z.number().int().positive().default(20_000),
});
export type ServiceSettings = z.output<typeof serviceSchema>;
