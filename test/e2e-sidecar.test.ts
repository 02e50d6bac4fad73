/**
 * End to end, with real parts: the OpenTelemetry JS SDK exports spans over OTLP/HTTP to a running
 * Sidelight on an ephemeral loopback port; the pain points land in a real JSONL file. The
 * service runs on a virtual clock that is never advanced, so only the data's own time moves
 * the watermark and the test does not depend on wall-clock speed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { silentLogger } from '../src/telemetry/logger.js';
import type { PainPointRecord } from '../src/model/painpoint.js';
import { isProblemChange, type PainPointChange } from '../src/model/events.js';
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

async function startSidecar() {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-e2e-'));
  const out = join(dir, 'painpoints.jsonl');
  const config = parseConfigObject(
    {
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
      exporters: { jsonl: { path: out } },
      service: { data_dir: join(dir, 'data') },
    },
    components,
    DEFAULT_CONFIG,
  );
  const changes: PainPointChange[] = [];
  service = await startService(config, { scheduler: new VirtualTimeScheduler(), logger: silentLogger, onChange: (c) => isProblemChange(c) || changes.push(c) });
  const http = service.endpoints.find((e) => e.startsWith('http://'))!;
  return { http, out, changes };
}

const readRecords = (path: string): PainPointRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PainPointRecord);

describe('the sidecar end to end', () => {
  it('turns a tool failing 40 % of the time into exactly one open failure_rate pain point, and nothing for healthy tools', async () => {
    const { http, out } = await startSidecar();
    client = createOtelClient(http, 'http/protobuf');
    client.sendTrees(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 2 }));
    await client.flush();
    await service!.shutdown();

    const records = readRecords(out);
    const opens = records.filter((r) => r.state === 'open');
    expect(opens.map((r) => [r.kind, r.subject, r.severity])).toEqual([
      ['failure_rate', { service: 'kc-orchestrator', operation: 'execute_tool web_search', tool: 'web_search' }, 'medium'],
    ]);
    const pp = opens[0]!;
    expect(pp.id).toMatch(/^pp-[0-9a-f]{16}$/);
    expect(pp.evidence.metrics.failure_rate).toBeCloseTo(0.4, 1);
    expect(pp.evidence.exemplar_trace_ids.length).toBeGreaterThan(0);
    expect(pp.title).toMatch(/web_search fails \d+ % of calls/);
    // every record in the file is about web_search: nothing for read_file, the LLM calls or the agent
    expect(new Set(records.map((r) => r.subject.tool))).toEqual(new Set(['web_search']));
  });

  it('drops a span stamped far in the future, counted, so it cannot make every later span late', async () => {
    const { http, changes } = await startSidecar();
    client = createOtelClient(http, 'http/protobuf');
    const future = Date.now() + 86_400_000;
    client.span({ name: 'execute_tool clock_skewed', start: future, end: future + 10 });
    await client.flush();
    client.sendTrees(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 2 }));
    await client.flush();
    const metrics = await service!.metrics.getSingleMetricAsString('sidelight_future_spans_dropped_total');
    await service!.shutdown();
    expect(metrics).toContain('sidelight_future_spans_dropped_total 1');
    expect(changes.map((c) => `${c.painpoint.state} ${c.painpoint.kind}`)).toContain('open failure_rate');
  });

  it('publishes per-operation metrics for every pipeline on /metrics, computed when scraped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-e2e-'));
    const config = parseConfigObject(
      {
        receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
        processors: { failure_rate: {}, operation_metrics: {} },
        exporters: { jsonl: { path: join(dir, 'painpoints.jsonl') } },
        service: {
          data_dir: join(dir, 'data'),
          pipelines: {
            traces: { receivers: ['otlp'], processors: ['failure_rate', 'operation_metrics'], exporters: ['jsonl'] },
            audit: { receivers: ['otlp'], processors: ['operation_metrics'], exporters: ['jsonl'] },
          },
        },
      },
      components,
      DEFAULT_CONFIG,
    );
    service = await startService(config, { scheduler: new VirtualTimeScheduler(), logger: silentLogger });
    const http = service.endpoints.find((e) => e.startsWith('http://'))!;
    client = createOtelClient(http, 'http/protobuf');
    client.sendTrees(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 2 }));
    await client.flush();

    // Panes ending at or before the watermark the data implies (max end − 10 s lateness, on 10 s panes) are closed.
    const webSearch = client.records().filter((s) => s.operationKey === 'kc-orchestrator execute_tool web_search web_search');
    const maxEnd = Math.max(...client.records().map((s) => s.endMs));
    const boundary = Math.floor((maxEnd - 10_000) / 10_000) * 10_000;
    const closed = webSearch.filter((s) => s.endMs < boundary);
    const failedShare = closed.filter((s) => s.failed).length / closed.length;
    const text = await (await fetch(`${http}/metrics`)).text();
    for (const pipeline of ['traces', 'audit']) {
      const labels = `pipeline="${pipeline}",service="kc-orchestrator",operation="execute_tool web_search",key="kc-orchestrator execute_tool web_search web_search",window="15m"`;
      expect(text).toContain(`sidelight_operation_calls{${labels}} ${closed.length}\n`);
      expect(text).toContain(`sidelight_operation_failure_rate{${labels}} ${failedShare}\n`);
    }
    expect(closed.length).toBeGreaterThan(100);

    await service!.shutdown();
    // input ended: every pane closed, so the last figures hold every call
    const after = await service!.metrics.getSingleMetricAsString('sidelight_operation_calls');
    expect(after).toContain(`sidelight_operation_calls{pipeline="audit",service="kc-orchestrator",operation="execute_tool web_search",key="kc-orchestrator execute_tool web_search web_search",window="15m"} ${webSearch.length}\n`);
  });

  it('finds the same pain points live over OTLP as offline over the same spans', async () => {
    const { http, changes } = await startSidecar();
    client = createOtelClient(http, 'http/json');
    client.sendTrees(agentWorkload({ start: T0, tasks: 200, every: 1_500, failEveryFive: 2 }));
    await client.flush();
    await service!.shutdown();

    const offline = await analyzeSpans(client.records());
    const summary = (list: readonly PainPointRecord[]) => [...new Map(list.map((p) => [p.id, `${p.kind} ${p.severity}`])).entries()].sort();
    expect(summary(changes.map((c) => c.painpoint))).toEqual(summary(offline.painpoints));
    expect(offline.painpoints.map((p) => p.kind)).toEqual(['failure_rate']);
    expect(offline.recommendations).toHaveLength(1);
    expect(offline.recommendations[0]!.pain_point_ids).toEqual([offline.painpoints[0]!.id]);
  });
});
