/**
 * webhook: a JSON POST per change to `url` — `{problem, members, recommendations}` for a problem
 * change, `{painpoint, recommendations}` for a pain-point change (which ones: `emit`, problems by
 * default) — or, with max_batch_size > 1, `{changes: […]}` per batch, through the shared delivery
 * layer (queue, retries with backoff, Retry-After, spool). Changes below `min_severity` or in a
 * state not listed in `states` are not sent.
 */
import { z } from 'zod';

/** `${env:TENANT}` reads back as a number when the variable is digits: a header is text either way. */
const headerValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
import { zDuration } from '../src/config/duration.js';
import { isProblemChange, type OutputChange } from '../src/model/events.js';
import { SEVERITY_RANK } from '../src/model/painpoint.js';
import type { ComponentContext, ExporterFactory } from '../src/component/contracts.js';
import { systemClock, type DeliveryClock } from './delivery/clock.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { postWithClassification } from './delivery/http-sender.js';
import { exporterMetrics } from './delivery/metrics.js';
import { deliverySettingsOf, deliveryShape } from './delivery/settings.js';
import { sidelightVersion } from './otlp-common.js';
import { painPointJson } from './painpoint-json.js';
import { outputChangeCodec, problemJson } from './problem-json.js';
import { emits, emitSetting } from './emit.js';
import type { QueuedExporter } from './otlp-common.js';

export const webhookConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), headerValue).default({}),
  timeout: zDuration.default(10_000),
  compression: z.enum(['gzip', 'none']).default('none'),
  min_severity: z.enum(['low', 'medium', 'high']).default('low'),
  /** `merged`: a problem that proved to be part of another */
  states: z.array(z.enum(['open', 'updated', 'resolved', 'merged'])).min(1).default(['open', 'updated', 'resolved', 'merged']),
  /** which changes are posted: problems, painpoints or both */
  emit: emitSetting('problems'),
  ...deliveryShape,
  /** 1 = one POST per change with the change as body; more = `{changes: […]}` bodies */
  max_batch_size: z.number().int().positive().default(1),
});
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

function changeBody(c: OutputChange): object {
  return isProblemChange(c)
    ? { problem: problemJson(c.problem), members: c.members.map(painPointJson), recommendations: c.recommendations }
    : { painpoint: painPointJson(c.painpoint), recommendations: c.recommendations };
}

export function webhookBody(batch: readonly OutputChange[], batched: boolean): string {
  return JSON.stringify(batched ? { changes: batch.map(changeBody) } : changeBody(batch[0] as OutputChange));
}

export function createWebhookExporter(
  config: WebhookConfig,
  ctx: ComponentContext,
  deps: { readonly clock?: DeliveryClock } = {},
): Omit<QueuedExporter, 'target'> {
  const clock = deps.clock ?? systemClock;
  const batched = config.max_batch_size > 1;
  const headers = { 'user-agent': `sidelight/${sidelightVersion()}`, ...config.headers, 'content-type': 'application/json' };
  const minRank = SEVERITY_RANK[config.min_severity];
  const states = new Set<string>(config.states);
  const delivery = new DeliveryQueue<OutputChange>({
    exporterId: ctx.id,
    settings: deliverySettingsOf(config, ctx),
    metrics: exporterMetrics(ctx.metrics),
    logger: ctx.logger,
    clock,
    codec: outputChangeCodec,
    send: (batch, abort) =>
      postWithClassification(
        { url: config.url, body: webhookBody(batch, batched), headers, compression: config.compression, timeoutMs: config.timeout },
        abort,
        () => clock.now(),
      ),
  });
  return {
    delivery,
    export(change) {
      if (!emits(config.emit, change)) return;
      const p = isProblemChange(change) ? change.problem : change.painpoint;
      if (SEVERITY_RANK[p.severity] < minRank || !states.has(p.state)) return;
      delivery.push(change);
    },
    shutdown: () => delivery.shutdown(),
  };
}

export const webhookExporterFactory: ExporterFactory<WebhookConfig> = {
  type: 'webhook',
  configSchema: webhookConfigSchema,
  create: (config, ctx) => createWebhookExporter(config, ctx),
};
