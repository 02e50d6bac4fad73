/**
 * How soon a running sidecar reports an agent stuck in a loop: the wall time from the end of the
 * call that completes the loop (the third identical tool call) to the agent_loop pain point, on
 * the real clock. BENCH_LOOPS (default 6) stuck agents, staggered so their third calls fall at
 * different points of the 10 s judging grid, each calling its own tool with the same arguments
 * once a second under an invocation span that stays open; the OpenTelemetry SDK exports over
 * OTLP/HTTP as an application would (batched, 20 ms delay). Run with the default settings and
 * with `windows.allowed_lateness: 1s`.
 *
 * Where the time goes: the loop is judged at the 10 s boundary after the call ends (0–10 s), once
 * the watermark (newest end time − allowed_lateness, advanced by the wall clock when idle) passes
 * it (+ allowed_lateness, default 10 s), checked every `windows.tick` (1 s). Nothing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Span } from '@opentelemetry/api';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { isProblemChange } from '../src/model/events.js';
import { startService } from '../src/pipeline/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { createOtelClient } from '../test/support/otel-client.js';

const LOOPS = Math.max(1, Number(process.env['BENCH_LOOPS'] ?? 6));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(label: string, windows: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sidelight-bench-loop-'));
  const config = parseConfigObject(
    {
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
      exporters: { jsonl: { path: join(dir, 'painpoints.jsonl') } },
      service: { data_dir: join(dir, 'data'), windows },
    },
    components,
    DEFAULT_CONFIG,
  );
  const reported = new Map<string, number>();
  const service = await startService(config, {
    logger: silentLogger,
    onChange: (c) => {
      if (isProblemChange(c)) return;
      const tool = c.painpoint.subject.tool;
      if (c.painpoint.kind === 'agent_loop' && c.painpoint.state === 'open' && tool !== undefined && !reported.has(tool)) reported.set(tool, Date.now());
    },
  });
  const http = service.endpoints.find((e) => e.startsWith('http://')) as string;
  const client = createOtelClient(http, 'http/protobuf', 'bench-agent');
  const thirdEnded = new Map<string, number>();
  const roots: Span[] = [];

  const stuck = async (k: number) => {
    await sleep(k * 1_700);
    const tool = `read_file_${k}`;
    const root = client.span({ name: 'invoke_agent coder', start: Date.now(), end: 0, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder', 'kc.run.id': `bench-${k}` }, open: true });
    roots.push(root);
    for (let n = 1; n <= 4; n++) {
      await sleep(800);
      const end = Date.now();
      client.span(
        { name: `execute_tool ${tool}`, start: end - 200, end, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.arguments': '{"path": "src/payment.ts"}' } },
        root,
      );
      if (n === 3) thirdEnded.set(tool, end);
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, (_, k) => stuck(k)));
  const deadline = Date.now() + 60_000;
  while (reported.size < LOOPS && Date.now() < deadline) await sleep(100);

  const latencies = [...thirdEnded].map(([tool, end]) => ((reported.get(tool) ?? Number.NaN) - end) / 1_000).sort((a, b) => a - b);
  const ok = latencies.filter((x) => Number.isFinite(x));
  process.stdout.write(
    `${label}: ${ok.length}/${LOOPS} loops reported; third call → pain point: ` +
      `min ${ok[0]?.toFixed(1)} s, median ${ok[Math.floor(ok.length / 2)]?.toFixed(1)} s, max ${ok[ok.length - 1]?.toFixed(1)} s ` +
      `(each: ${latencies.map((x) => x.toFixed(1)).join(', ')})\n`,
  );
  for (const r of roots) r.end();
  await client.shutdown();
  await service.shutdown();
  rmSync(dir, { recursive: true, force: true });
}

await measure('defaults (slide 10s, allowed_lateness 10s, tick 1s)', {});
await measure('allowed_lateness 1s', { allowed_lateness: '1s' });
