/**
 * Runs detectors in tests the way the pipeline does: spans (sorted by end time) through the event
 * clock without idle advance, so results depend only on the data.
 */
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { Registry } from 'prom-client';
import type { SpanRecord } from '../../src/model/span.js';
import type { Observation } from '../../src/model/painpoint.js';
import type { PipelineEvent } from '../../src/model/events.js';
import { eventClock } from '../../src/windows/event-clock.js';
import { serviceSchema, type ServiceSettings } from '../../src/config/service-schema.js';
import type { ComponentContext } from '../../src/component/contracts.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { asyncScheduler } from 'rxjs';

export function testSettings(overrides: Record<string, unknown> = {}): ServiceSettings {
  return serviceSchema.parse(overrides);
}

export function testContext(mode: 'live' | 'offline' = 'offline', settings: ServiceSettings = testSettings()): ComponentContext {
  return { scheduler: asyncScheduler, metrics: new Registry(), logger: silentLogger, settings, mode, id: 'test' };
}

/** Feeds spans (sorted by end time) through the event clock into `operator` and collects its output. */
export async function runOnSpans<T>(
  spans: readonly SpanRecord[],
  operator: OperatorFunction<PipelineEvent, T>,
  settings: ServiceSettings = testSettings(),
): Promise<T[]> {
  const sorted = [...spans].sort((a, b) => a.endMs - b.endMs);
  return lastValueFrom(
    from(sorted).pipe(eventClock({ windows: settings.windows, scheduler: asyncScheduler, idleAdvance: false }), operator, toArray()),
  );
}

export type { Observation };
