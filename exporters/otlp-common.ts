/**
 * What the otlp_traces and otlp_logs exporters share: the endpoint / protocol / headers /
 * compression / timeout settings with the OTel SDK's environment variables as fallback, the
 * pain point as OTLP attributes, exemplar span contexts, and the Sidelight resource.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** `${env:TENANT}` reads back as a number when the variable is digits: a header is text either way. */
const headerValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { zDuration } from '../src/config/duration.js';
import type { PainPointRecord, Subject } from '../src/model/painpoint.js';
import type { ProblemRecord } from '../src/model/problem.js';
import type { Recommendation } from '../src/model/recommendation.js';
import type { Logger } from '../src/telemetry/logger.js';
import type { OutputChange } from '../src/model/events.js';
import type { ComponentContext, Exporter } from '../src/component/contracts.js';
import { systemClock, type DeliveryClock } from './delivery/clock.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { postWithClassification } from './delivery/http-sender.js';
import { exporterMetrics } from './delivery/metrics.js';
import { deliverySettingsOf, deliveryShape } from './delivery/settings.js';
import { outputChangeCodec } from './problem-json.js';
import { emits, emitSetting } from './emit.js';

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export type OtlpSignal = 'traces' | 'logs';

/**
 * Keys left unset fall back to OTEL_EXPORTER_OTLP_<SIGNAL>_* then OTEL_EXPORTER_OTLP_*, then the
 * SDK defaults (endpoint http://localhost:4318, http/protobuf, timeout 10 s); compression defaults
 * to gzip (the Collector's otlphttp default).
 */
export const otlpHttpShape = {
  /** base URL (`/v1/<signal>` appended unless the path already ends with it) */
  endpoint: z
    .string()
    .min(1)
    .refine((e) => URL.canParse(withScheme(e)), { message: 'expected a URL such as http://127.0.0.1:4318' })
    .optional(),
  protocol: z.enum(OTLP_PROTOCOLS).optional(),
  headers: z.record(z.string(), headerValue).optional(),
  compression: z.enum(['gzip', 'none']).optional(),
  timeout: zDuration.optional(),
  /** extra resource attributes next to service.name = sidelight and service.version */
  resource: z.record(z.string(), z.string()).default({}),
  /** which changes are sent: problems (one span / log record per problem change), painpoints or both */
  emit: emitSetting('problems'),
  ...deliveryShape,
};

export const otlpHttpConfigSchema = z.strictObject(otlpHttpShape);
export type OtlpHttpConfig = z.output<typeof otlpHttpConfigSchema>;

export interface OtlpHttpTarget {
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
}

const DEFAULT_BASE = 'http://localhost:4318';
const DEFAULT_TIMEOUT_MS = 10_000;

function withScheme(endpoint: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
}

/** `http://host:4318` → `http://host:4318/v1/traces`; a path already ending in /v1/traces is kept. */
export function signalUrl(base: string, signal: OtlpSignal): string {
  const url = new URL(withScheme(base));
  const suffix = `/v1/${signal}`;
  if (!url.pathname.replace(/\/+$/, '').endsWith(suffix)) {
    url.pathname = url.pathname.replace(/\/+$/, '') + suffix;
  }
  return url.toString();
}

/** `k1=v1,k2=v2` with URL-encoded values, as the OTel SDK parses OTEL_EXPORTER_OTLP_HEADERS. */
export function parseEnvHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!value) return out;
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (key === '') continue;
    try {
      out[key] = decodeURIComponent(raw);
    } catch {
      out[key] = raw;
    }
  }
  return out;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Config first, then the signal's env var, then the generic one, then the default. */
export function resolveOtlpTarget(config: OtlpHttpConfig, signal: OtlpSignal, env: Env = process.env, logger?: Logger): OtlpHttpTarget {
  const sig = signal.toUpperCase();
  const pick = (name: string): string | undefined => {
    const v = env[`OTEL_EXPORTER_OTLP_${sig}_${name}`] ?? env[`OTEL_EXPORTER_OTLP_${name}`];
    return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
  };

  let url: string;
  const signalEndpoint = env[`OTEL_EXPORTER_OTLP_${sig}_ENDPOINT`]?.trim();
  const genericEndpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (config.endpoint !== undefined) url = signalUrl(config.endpoint, signal);
  // the SDK uses a signal-specific endpoint as given, and appends /v1/<signal> to the generic one
  else if (signalEndpoint) url = new URL(withScheme(signalEndpoint)).toString();
  else if (genericEndpoint) url = signalUrl(genericEndpoint, signal);
  else url = signalUrl(DEFAULT_BASE, signal);

  let protocol: OtlpProtocol = config.protocol ?? 'http/protobuf';
  if (config.protocol === undefined) {
    const p = pick('PROTOCOL');
    if (p === 'http/json' || p === 'http/protobuf') protocol = p;
    else if (p !== undefined) logger?.warn(`otlp_${signal}: OTEL_EXPORTER_OTLP protocol ${p} is not supported here; using http/protobuf`);
  }

  let compression: 'gzip' | 'none' = config.compression ?? 'gzip';
  if (config.compression === undefined) {
    const c = pick('COMPRESSION');
    if (c === 'gzip' || c === 'none') compression = c;
  }

  let timeoutMs = config.timeout ?? DEFAULT_TIMEOUT_MS;
  if (config.timeout === undefined) {
    const t = Number(pick('TIMEOUT'));
    if (Number.isFinite(t) && t > 0) timeoutMs = t;
  }

  // as in the SDK: generic headers, overridden by the signal's, overridden by config
  const headers: Record<string, string> = {
    ...parseEnvHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']),
    ...parseEnvHeaders(env[`OTEL_EXPORTER_OTLP_${sig}_HEADERS`]),
    ...(config.headers ?? {}),
  };
  return { url, protocol, headers, compression, timeoutMs };
}

export function contentTypeOf(protocol: OtlpProtocol): string {
  return protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
}

/** Epoch ms (possibly fractional) → OTel HrTime [seconds, nanoseconds]. */
export function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1_000);
  return [seconds, Math.round((ms - seconds * 1_000) * 1e6)];
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

export interface ExemplarContext {
  readonly traceId: string;
  readonly spanId: string;
  /** the span id was derived from the trace id (no exemplar span id was recorded) */
  readonly synthetic: boolean;
}

/**
 * Span contexts of the exemplar traces. OTLP links need a span id: the exemplar's span id when
 * evidence has one, else the first 16 hex of sha256(traceId), marked synthetic. Invalid ids are skipped.
 */
export function exemplarContexts(evidence: PainPointRecord['evidence']): ExemplarContext[] {
  return contextsOf(evidence.exemplar_trace_ids, (_traceId, i) => evidence.exemplar_span_ids?.[i]);
}

function contextsOf(traceIds: readonly string[], spanIdOf: (traceId: string, index: number) => string | undefined): ExemplarContext[] {
  const out: ExemplarContext[] = [];
  const seen = new Set<string>();
  traceIds.forEach((raw, i) => {
    const traceId = raw.toLowerCase();
    if (!HEX32.test(traceId) || /^0+$/.test(traceId) || seen.has(traceId)) return;
    seen.add(traceId);
    const given = spanIdOf(traceId, i)?.toLowerCase();
    if (given !== undefined && HEX16.test(given) && !/^0+$/.test(given)) {
      out.push({ traceId, spanId: given, synthetic: false });
    } else {
      out.push({ traceId, spanId: createHash('sha256').update(traceId).digest('hex').slice(0, 16), synthetic: true });
    }
  });
  return out;
}

/**
 * Span contexts of a problem's exemplar traces: the record's (the root's first, then the
 * symptoms'), else its root's and symptoms' own exemplars; span ids from the members' evidence
 * where a member recorded one for that trace.
 */
export function problemExemplarContexts(problem: ProblemRecord, members: readonly PainPointRecord[]): ExemplarContext[] {
  const spanIds = new Map<string, string>();
  const linked = new Set([problem.root.id, ...problem.symptoms.map((m) => m.id)]);
  const fromMembers: string[] = [];
  const ordered = [...members].sort((a, b) => Number(b.id === problem.root.id) - Number(a.id === problem.root.id));
  for (const m of ordered) {
    m.evidence.exemplar_trace_ids.forEach((t, i) => {
      const span = m.evidence.exemplar_span_ids?.[i];
      if (span !== undefined && !spanIds.has(t.toLowerCase())) spanIds.set(t.toLowerCase(), span);
      if (linked.has(m.id)) fromMembers.push(t);
    });
  }
  const traceIds = problem.exemplar_trace_ids.length > 0 ? problem.exemplar_trace_ids : fromMembers;
  return contextsOf(traceIds, (traceId) => spanIds.get(traceId));
}

/** The pain point's fields as OTLP attributes (shared by spans and log records). */
export function painPointAttributes(p: PainPointRecord, recommendations: readonly Recommendation[]): Attributes {
  const a: Record<string, AttributeValue> = Object.create(null) as Record<string, AttributeValue>;
  a['sidelight.painpoint.id'] = p.id;
  a['sidelight.painpoint.kind'] = p.kind;
  a['sidelight.painpoint.severity'] = p.severity;
  a['sidelight.painpoint.category'] = p.category;
  a['sidelight.painpoint.state'] = p.state;
  a['sidelight.painpoint.title'] = p.title;
  a['sidelight.painpoint.description'] = p.description;
  a['sidelight.painpoint.first_seen'] = p.first_seen;
  a['sidelight.painpoint.last_seen'] = p.last_seen;
  if (p.run_ids.length > 0) a['sidelight.painpoint.run_ids'] = [...p.run_ids];
  subjectAttributes(p.subject, a);
  a['sidelight.evidence.window'] = p.evidence.window;
  for (const [metric, value] of Object.entries(p.evidence.metrics)) {
    const key = `sidelight.evidence.${metric}`;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) a[key] = value;
    } else if (typeof value === 'string' || typeof value === 'boolean') {
      a[key] = value;
    } else if (Array.isArray(value)) {
      a[key] = (value as readonly number[]).filter((v) => Number.isFinite(v));
    } else if (value !== null && typeof value === 'object') {
      // breakdown tables flatten to one attribute per label
      for (const [label, n] of Object.entries(value as Readonly<Record<string, number>>)) {
        if (typeof n === 'number' && Number.isFinite(n)) a[`${key}.${label}`] = n;
      }
    }
  }
  if (p.evidence.exemplar_trace_ids.length > 0) a['sidelight.evidence.exemplar_trace_ids'] = [...p.evidence.exemplar_trace_ids];
  if (p.impact !== undefined) {
    for (const [field, value] of Object.entries(p.impact)) {
      if (typeof value === 'number' && Number.isFinite(value)) a[`sidelight.impact.${field}`] = value;
    }
  }
  if (recommendations.length > 0) a['sidelight.recommendation.ids'] = recommendations.map((r) => r.id);
  return a;
}

/** `sidelight.subject.<field>` for each field of the subject. */
export function subjectAttributes(subject: Subject, into: Record<string, AttributeValue>, prefix = 'sidelight.subject'): Record<string, AttributeValue> {
  for (const [field, value] of Object.entries(subject)) {
    if (typeof value === 'string') into[`${prefix}.${field}`] = value;
  }
  return into;
}

/** The problem's fields and its root's subject as OTLP attributes (shared by spans and log records). */
export function problemAttributes(p: ProblemRecord, recommendations: readonly Recommendation[]): Attributes {
  const a: Record<string, AttributeValue> = Object.create(null) as Record<string, AttributeValue>;
  a['sidelight.problem.id'] = p.id;
  a['sidelight.problem.severity'] = p.severity;
  a['sidelight.problem.state'] = p.state;
  a['sidelight.problem.title'] = p.title;
  a['sidelight.problem.root_kind'] = p.root.kind;
  a['sidelight.problem.root_id'] = p.root.id;
  a['sidelight.problem.category'] = p.category;
  a['sidelight.problem.description'] = p.description;
  a['sidelight.problem.first_seen'] = p.first_seen;
  a['sidelight.problem.last_seen'] = p.last_seen;
  a['sidelight.problem.symptoms'] = p.symptoms.length;
  a['sidelight.problem.contributing'] = p.contributing.length;
  if (p.merged_into !== undefined) a['sidelight.problem.merged_into'] = p.merged_into;
  if (p.run_ids.length > 0) a['sidelight.problem.run_ids'] = [...p.run_ids];
  subjectAttributes(p.root.subject, a);
  for (const [field, value] of Object.entries(p.impact)) {
    if (typeof value === 'number' && Number.isFinite(value)) a[`sidelight.impact.${field}`] = value;
  }
  const recIds = recommendations.length > 0 ? recommendations.map((r) => r.id) : p.recommendation_ids;
  if (recIds.length > 0) a['sidelight.recommendation.ids'] = [...recIds];
  return a;
}

let cachedVersion: string | undefined;

/** Sidelight's version from its package.json (found walking up from this file, in src or dist). */
export function sidelightVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0';
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sidelight' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // no package.json here: keep walking up
    }
    dir = path.dirname(dir);
  }
  return cachedVersion;
}

export function sidelightResource(extra: Readonly<Record<string, string>>): Resource {
  return resourceFromAttributes({ 'service.name': 'sidelight', 'service.version': sidelightVersion(), ...extra });
}

export const INSTRUMENTATION_SCOPE = { name: 'sidelight', version: sidelightVersion() } as const;

export interface OtlpExporterDeps {
  /** delivery timers (tests inject tiny or fake ones) */
  readonly clock?: DeliveryClock;
  /** environment for the OTEL_EXPORTER_OTLP_* fallbacks; process.env by default */
  readonly env?: Env;
}

export interface QueuedExporter extends Exporter {
  /** the exporter's delivery queue (stats, idle) */
  readonly delivery: DeliveryQueue<OutputChange>;
  readonly target: OtlpHttpTarget;
}

/** Partial-success answers still count as delivered; the rejected count is logged. */
export interface OtlpPartialSuccess {
  rejected: number;
  message: string;
}

/**
 * An OTLP/HTTP exporter: changes queue in the delivery layer, each batch is serialized by
 * otlp-transformer and POSTed with undici. The SDK's exporter classes are not used because they
 * retry on their own, which would hide Retry-After and drops from Sidelight's counters and could
 * double-deliver a batch the delivery layer retries too.
 */
export function createOtlpHttpExporter(
  signal: OtlpSignal,
  config: OtlpHttpConfig,
  ctx: ComponentContext,
  deps: OtlpExporterDeps,
  serialize: (batch: readonly OutputChange[], protocol: OtlpProtocol) => Uint8Array | undefined,
  partialSuccess: (answer: Uint8Array, protocol: OtlpProtocol) => OtlpPartialSuccess | undefined,
): QueuedExporter {
  const target = resolveOtlpTarget(config, signal, deps.env ?? process.env, ctx.logger);
  const metrics = exporterMetrics(ctx.metrics);
  const clock = deps.clock ?? systemClock;
  const headers = { ...target.headers, 'content-type': contentTypeOf(target.protocol) };
  const delivery = new DeliveryQueue<OutputChange>({
    exporterId: ctx.id,
    settings: deliverySettingsOf(config, ctx),
    metrics,
    logger: ctx.logger,
    clock,
    codec: outputChangeCodec,
    send: async (batch, abort) => {
      let body: Uint8Array | undefined;
      try {
        body = serialize(batch, target.protocol);
      } catch (err) {
        return { ok: false, retryable: false, reason: `cannot serialize: ${String(err)}` };
      }
      if (body === undefined) return { ok: false, retryable: false, reason: 'serializer produced no body' };
      const post = { url: target.url, body, headers, compression: target.compression, timeoutMs: target.timeoutMs };
      return postWithClassification(post, abort, () => clock.now(), (answer) => {
        if (answer.body.length === 0) return;
        try {
          const partial = partialSuccess(answer.body, target.protocol);
          if (partial && partial.rejected > 0) {
            ctx.logger.warn(`exporter ${ctx.id}: backend rejected ${partial.rejected} of ${batch.length} ${signal}: ${partial.message}`);
          }
        } catch {
          // an unreadable success answer still means the batch was accepted
        }
      });
    },
  });
  ctx.logger.debug(`exporter ${ctx.id}: ${target.protocol} to ${target.url}`);
  return {
    delivery,
    target,
    export: (change) => {
      if (emits(config.emit, change)) delivery.push(change);
    },
    shutdown: () => delivery.shutdown(),
  };
}
