/**
 * An exporter that throws is a bug, not bad input: the service logs it, counts it per exporter on
 * /metrics, and keeps delivering every change to the other exporters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { z } from 'zod';
import { parseConfigObject } from '../src/config-file/load.js';
import type { ComponentRegistry, ExporterFactory } from '../src/component/contracts.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { isProblemChange, type OutputChange } from '../src/model/events.js';
import { captureLog } from './exporters-support.js';
import { createOtelClient, type OtelClient } from './support/otel-client.js';
import { agentWorkload } from './support/agent-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
let service: Service | undefined;
let client: OtelClient | undefined;

afterEach(async () => {
  await client?.shutdown();
  await service?.shutdown();
  client = service = undefined;
});

const brokenExporterFactory: ExporterFactory<Record<string, never>> = {
  type: 'broken',
  configSchema: z.strictObject({}),
  create: () => ({
    export() {
      throw new Error('broken on purpose');
    },
    shutdown: () => Promise.reject(new Error('cannot flush')),
  }),
};

describe('the service and a throwing exporter', () => {
  it('counts each exception per exporter on /metrics, logs it, and still feeds the other exporters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-exporter-failures-'));
    const out = join(dir, 'painpoints.jsonl');
    const registry: ComponentRegistry = { ...components, exporters: new Map([...components.exporters, ['broken', brokenExporterFactory as ExporterFactory<unknown>]]) };
    const config = parseConfigObject(
      {
        receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
        processors: { failure_rate: {} },
        exporters: { broken: {}, jsonl: { path: out } },
        service: { data_dir: join(dir, 'data') },
      },
      registry,
      DEFAULT_CONFIG,
    );
    const log = captureLog();
    const changes: OutputChange[] = [];
    service = await startService(config, { scheduler: new VirtualTimeScheduler(), logger: log.logger, onChange: (c) => changes.push(c) });
    const http = service.endpoints.find((e) => e.startsWith('http://'))!;
    client = createOtelClient(http, 'http/protobuf');
    client.sendTrees(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 2 }));
    await client.flush();
    const beforeShutdown = await (await fetch(`${http}/metrics`)).text();
    await service.shutdown();

    const emittedBefore = Number(/^sidelight_exporter_failures_total\{exporter="broken"\} (\d+)$/m.exec(beforeShutdown)?.[1] ?? 'NaN');
    expect(emittedBefore).toBeGreaterThan(0);
    expect(changes.length).toBeGreaterThan(0);
    // one per change exported, plus the failed shutdown
    const total = await service.metrics.getSingleMetricAsString('sidelight_exporter_failures_total');
    expect(total).toContain(`sidelight_exporter_failures_total{exporter="broken"} ${changes.length + 1}`);
    expect(total).not.toContain('exporter="jsonl"');
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    // jsonl writes pain points to its path (problems, when a pipeline emits them, to problems_path)
    expect(lines).toHaveLength(changes.filter((c) => !isProblemChange(c)).length);
    const errors = log.lines.filter((l) => l.startsWith('error '));
    expect(errors.filter((l) => /^error exporter broken failed on p[pb]-[0-9a-f]{16}: Error: broken on purpose$/.test(l))).toHaveLength(changes.length);
    expect(errors).toContain('error exporter broken failed to shut down: Error: cannot flush');
  });
});
