/**
 * webhook: a JSON POST of `{painpoint, recommendations}` per change to `url` (or, with
 * max_batch_size > 1, `{changes: [{painpoint, recommendations}, …]}` per batch), through the shared
 * delivery layer (queue, retries with backoff, Retry-After, spool). Changes below `min_severity`
 * or in a state not listed in `states` are not sent.
 */
import { z } from 'zod';

/** `${env:TENANT}` reads back as a number when the variable is digits: a header is text either way. */
const headerValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
import { zDuration } from '../src/config/duration.js';
import type { PainPointChange } from '../src/model/events.js';
import { SEVERITY_RANK } from '../src/model/painpoint.js';
import type { ComponentContext, ExporterFactory } from '../src/component/contracts.js';
import { systemClock, type DeliveryClock } from './delivery/clock.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { postWithClassification } from './delivery/http-sender.js';
import { exporterMetrics } from './delivery/metrics.js';
import { deliverySettingsOf, deliveryShape } from './delivery/settings.js';
import { sidelightVersion } from './otlp-common.js';
import { painPointChangeCodec, painPointJson } from './painpoint-json.js';
import type { QueuedExporter } from './otlp-common.js';

export const webhookConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), headerValue).default({}),
  timeout: zDuration.default(10_000),
  compression: z.enum(['gzip', 'none']).default('none'),
  min_severity: z.enum(['low', 'medium', 'high']).default('low'),
  states: z.array(z.enum(['open', 'updated', 'resolved'])).min(1).default(['open', 'updated', 'resolved']),
  ...deliveryShape,
  /** 1 = one POST per change with the change as body; more = `{changes: […]}` bodies */
  max_batch_size: z.number().int().positive().default(1),
});
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

export function webhookBody(batch: readonly PainPointChange[], batched: boolean): string {
  const one = (c: PainPointChange) => ({ painpoint: painPointJson(c.painpoint), recommendations: c.recommendations });
  return JSON.stringify(batched ? { changes: batch.map(one) } : one(batch[0] as PainPointChange));
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
  const delivery = new DeliveryQueue<PainPointChange>({
    exporterId: ctx.id,
    settings: deliverySettingsOf(config, ctx),
    metrics: exporterMetrics(ctx.metrics),
    logger: ctx.logger,
    clock,
    codec: painPointChangeCodec,
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
      const p = change.painpoint;
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
