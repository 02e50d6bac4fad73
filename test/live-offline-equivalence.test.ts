/**
 * Live = offline (docs/engine.md, Live and offline): one realistic workload — an agent
 * orchestrator's traffic through an incident (a rate-limited tool retried without backoff, a slow
 * model, background noise, a quiet stretch), made with the OpenTelemetry JS SDK — is received live
 * by the real sidecar over OTLP/HTTP and analyzed offline from an OTLP/JSON file of the same spans.
 *
 * Live runs on a virtual clock: the sidecar's event clock reads a VirtualTimeScheduler, so its idle
 * watermark follows virtual time, and the client ends its spans and sends them in batches paced in
 * that time, each batch a moment after its spans ended, as a batching exporter would. Virtual time
 * advances only once the previous batch has been answered and the ingest queue has handed every span
 * to the pipeline, so nothing depends on wall-clock speed.
 *
 * The one difference the engine has by design is the idle watermark: live, a quiet sidecar closes
 * windows as (virtual) time passes; offline only data moves the watermark. The workload has a quiet
 * stretch so the live sidecar does close windows on its own, and the changes are the same: a
 * boundary closes with the same contents whenever it closes, as long as no span arrives late. The
 * parts that read more than a boundary's own panes read them as of the boundary, so they agree too:
 * the run of a span that names none (only the agent's root span names its run here), the traces
 * (a researcher's tasks last longer than decision_wait and are cut alike), and the problems
 * stage's index and groupings (docs/engine.md, Live and offline).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import type { Counter } from 'prom-client';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { parseConfigObject } from '../src/config-file/load.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { startService, type Service } from '../src/pipeline/service.js';
import { readInputs } from '../src/analyze/inputs.js';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { isProblemChange, type PainPointChange } from '../src/model/events.js';
import type { ProblemChange } from '../src/model/problem.js';
import { createOtelClient, type OtelClient } from './support/otel-client.js';
import { incidentWorkload } from './support/incident-workload.js';
import type { SpanTree } from './support/readable-to-record.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
/** the SDK batch processor's default delay: one request per 5 s of spans */
const BATCH_EVERY = 5_000;
/** a batch reaches the sidecar this long after the last span in it ended */
const DELIVERY_DELAY = 1_500;

let service: Service | undefined;
let client: OtelClient | undefined;

afterEach(async () => {
  await client?.shutdown();
  await service?.shutdown();
  client = service = undefined;
});

/** Runs the virtual clock (the event clock's idle ticks) up to `frame`, and stops there. */
function advanceTo(scheduler: VirtualTimeScheduler, frame: number): void {
  if (frame <= scheduler.now()) return;
  scheduler.schedule(() => undefined, frame - scheduler.now());
  scheduler.maxFrames = frame;
  scheduler.flush();
}

/**
 * A researcher working through sources for about a minute every three minutes until `until`
 * (minutes): traces longer than the trace assembler's decision_wait (30 s), judged in pieces live
 * and offline alike.
 */
function longTasks(start: number, until: number): SpanTree[] {
  const trees: SpanTree[] = [];
  for (let at = start + 40_000, n = 0; at < start + until * 60_000; at += 180_000, n++) {
    const children: SpanTree[] = [];
    let t = at + 5;
    for (let i = 0; i < 6; i++) {
      const d = 8_000 + ((n * 7 + i * 3) % 5) * 500;
      children.push({ name: 'execute_tool fetch_url', start: t, end: t + d, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'fetch_url' } });
      t += d + 20;
    }
    trees.push({ name: 'invoke_agent researcher', start: at, end: t + 5, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher', 'kc.run.id': `run-r${n % 2}` }, children });
  }
  return trees;
}

const problemChange = (c: ProblemChange) => `${c.problem.state} ${c.problem.severity} ${c.problem.root.kind} ${JSON.stringify(c.problem.root.subject)}`;
const change = (c: PainPointChange) => `${c.painpoint.state} ${c.painpoint.kind} ${c.painpoint.severity} ${c.painpoint.evidence.window} ${JSON.stringify(c.painpoint.subject)}`;

describe('live = offline', () => {
  it('gives the same windowed pain-point changes live through the sidecar as offline, offline adding only window-all ones', async () => {
    // 26 minutes: web_search rate-limited in minutes 5–11, claude-sonnet-4 five times slower in 8–14,
    // a researcher's minute-long tasks until 15, no task starting in 17–21 (the live watermark moves
    // on its own there), traffic again to 26
    const trees = [...incidentWorkload({ start: T0, minutes: 26, rateLimited: [5, 11], slowModel: [8, 14], quiet: [17, 21] }), ...longTasks(T0, 14)];
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-live-offline-'));
    const config = parseConfigObject(
      {
        receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
        exporters: { jsonl: { path: join(dir, 'painpoints.jsonl') } },
        service: { data_dir: join(dir, 'data') },
      },
      components,
      DEFAULT_CONFIG,
    );
    // virtual frame f is event time T0 + f: the clock a live client and sidecar share
    const scheduler = new VirtualTimeScheduler();
    const live: { at: number; change: PainPointChange }[] = [];
    const liveProblems: ProblemChange[] = [];
    service = await startService(config, {
      scheduler,
      logger: silentLogger,
      onChange: (c) => (isProblemChange(c) ? liveProblems.push(c) : live.push({ at: scheduler.now(), change: c })),
    });
    const http = service.endpoints.find((e) => e.startsWith('http://'))!;
    const [pipeline] = service.pipelines;
    const processed = service.metrics.getSingleMetric('sidelight_spans_processed_total') as Counter;
    // only flush() exports: one request per batch, whatever the wall clock does meanwhile
    client = createOtelClient(http, 'http/protobuf', 'kc-orchestrator', { scheduledDelayMillis: 3_600_000, maxExportBatchSize: 10_000 });

    const pending = client.openTrees(trees);
    let ended = 0;
    for (let cut = T0 + BATCH_EVERY; ended < pending.length; cut += BATCH_EVERY) {
      advanceTo(scheduler, cut - T0 + DELIVERY_DELAY);
      const before = ended;
      while (ended < pending.length && pending[ended]!.endMs <= cut) pending[ended++]!.end();
      if (ended === before) continue;
      await client.flush(); // resolves once the sidecar has answered: the spans are in its queue
      await pipeline!.queue.drained();
      // every span so far went through the event clock: none late, none lost
      expect((await processed.get()).values[0]?.value).toBe(ended);
    }
    await service.shutdown();

    // offline: `sidelight analyze`'s reading of an OTLP/JSON file of the same spans, then the engine
    const file = join(dir, 'spans.otlp.json');
    writeFileSync(file, Buffer.from(JsonTraceSerializer.serializeRequest(client.finished()) as Uint8Array));
    const read = await readInputs([file]);
    expect(read.spans).toHaveLength(pending.length);
    const analyzed = await analyzeSpans(read.spans);
    const offline = analyzed.changes;

    const liveChanges = live.map((l) => l.change);
    const windowed = offline.filter((c) => c.painpoint.evidence.window !== 'all');
    const whole = offline.filter((c) => c.painpoint.evidence.window === 'all');
    // the same changes in the same order: state, kind, subject, severity, window
    expect(liveChanges.map(change)).toEqual(windowed.map(change));
    // and the same records, timestamps, figures and evidence included
    expect(liveChanges.map((c) => c.painpoint)).toEqual(windowed.map((c) => c.painpoint));
    // offline only adds the whole-input judgements, after every windowed change
    expect(offline.slice(windowed.length)).toEqual(whole);
    expect(live.every((l) => l.change.painpoint.evidence.window !== 'all')).toBe(true);

    // problems: the same changes in the same order (state, severity, root kind and subject)…
    const problemsWindowed = analyzed.problemChanges.slice(0, liveProblems.length);
    expect(liveProblems.map(problemChange)).toEqual(problemsWindowed.map(problemChange));
    // …and the same records, but for recommendation ids: offline leaves the streaming recommend
    // stage out and makes one recommendation per problem over the final records (analyzeSpans)
    const record = (c: ProblemChange) => ({ ...c.problem, recommendation_ids: [] });
    expect(liveProblems.map(record)).toEqual(problemsWindowed.map(record));
    // offline only adds the problem changes of its whole-input findings, after the windowed ones
    for (const c of analyzed.problemChanges.slice(liveProblems.length)) expect(c.members.some((m) => m.evidence.window === 'all'), problemChange(c)).toBe(true);

    // a meaningful workload: both faults found, live, and resolved once they are over
    const seen = new Set(liveChanges.map((c) => `${c.painpoint.state} ${c.painpoint.kind} ${c.painpoint.subject.tool ?? c.painpoint.subject.model ?? ''}`));
    for (const k of ['open retry_storm web_search', 'open retry_no_backoff web_search', 'open failure_spike web_search', 'open latency_regression claude-sonnet-4'])
      expect(seen).toContain(k);
    for (const k of ['resolved retry_storm web_search', 'resolved latency_regression claude-sonnet-4']) expect(seen).toContain(k);
    const roots = new Set(liveProblems.filter((c) => c.problem.severity !== 'low').map((c) => c.problem.root.subject.tool ?? c.problem.root.subject.model));
    expect(roots).toContain('web_search');
    expect(roots).toContain('claude-sonnet-4');
    // runs came from the traces: the tool calls name no run, yet they count in their agent's run
    const runsBelowTraces = (c: PainPointChange) => {
      const m = c.painpoint.evidence.metrics;
      return typeof m['affected_runs'] === 'number' && typeof m['affected_traces'] === 'number' && m['affected_runs'] < m['affected_traces'];
    };
    expect(liveChanges.some(runsBelowTraces)).toBe(true);
    // the idle watermark did work: changes were emitted live during the quiet stretch, before any
    // span of the traffic after it arrived (the sidecar closed windows on virtual time alone)
    const quietFrom = 17 * 60_000 + 30_000;
    const resumed = Math.min(...trees.filter((t) => t.start >= T0 + 21 * 60_000).map((t) => t.start)) - T0;
    expect(live.filter((l) => l.at > quietFrom && l.at < resumed).length).toBeGreaterThan(0);
  }, 180_000);
});
