/**
 * Quantile sketch and latency detector costs: `npx tsx bench/sketch.bench.ts`.
 * Prints insert ns/span, merge cost per pane and per span, and the latency span operator's
 * throughput end to end (event clock, windows, judgement at every watermark). BENCH_SCALE scales
 * the values, spans, rounds and event time.
 */
import { from, lastValueFrom, asyncScheduler, count } from 'rxjs';
import { Registry } from 'prom-client';
import { QuantileSketch } from '../src/stats/quantile-sketch.js';
import { latencyAggregator, latencyConfigSchema, latencySpanOperator } from '../processors/latency.js';
import { eventClock } from '../src/windows/event-clock.js';
import { serviceSchema } from '../src/config/service-schema.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { makeSpan } from '../test/support/span-factory.js';
import { lognormal, seeded } from '../test/support/latency-traces.js';
import { scaled } from './support/measure.js';

function timeIt(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

const rand = seeded(42);
const values = Float64Array.from({ length: scaled(1_000_000, 10_000) }, () => lognormal(rand, 300, 1));

// warm-up so the JIT has compiled the paths measured
for (let i = 0; i < 3; i++) {
  const s = new QuantileSketch();
  for (let j = 0; j < Math.min(100_000, values.length); j++) s.add(values[j] as number);
}

{
  const s = new QuantileSketch();
  const ns = timeIt(() => {
    for (const v of values) s.add(v);
  });
  console.log(`sketch add:             ${(ns / values.length).toFixed(1)} ns/span (${values.length} lognormal values)`);
  const q = timeIt(() => {
    for (let i = 0; i < 10_000; i++) s.quantile(0.95);
  });
  console.log(`sketch quantile(0.95):  ${(q / 10_000 / 1000).toFixed(2)} µs/call`);
}

{
  const spans = Array.from({ length: Math.min(200_000, values.length) }, (_, i) => makeSpan({ name: 'execute_tool', tool: 'web_search', startMs: i, durationMs: values[i] as number }));
  const acc = latencyAggregator.create();
  const ns = timeIt(() => {
    for (const span of spans) latencyAggregator.add(acc, span);
  });
  console.log(`pane add (sketch + counts + slowest exemplars): ${(ns / spans.length).toFixed(1)} ns/span`);
}

for (const paneSize of [5, 20, 200, 2_000]) {
  const panes = Array.from({ length: 90 }, (_, p) => {
    const s = new QuantileSketch();
    for (let i = 0; i < paneSize; i++) s.add(values[(p * paneSize + i) % values.length] as number);
    return s;
  });
  const rounds = scaled(500, 5);
  const mergeWindow = () => {
    const window = new QuantileSketch();
    for (const pane of panes) window.merge(pane);
    return window;
  };
  for (let r = 0; r < 50; r++) mergeWindow(); // warm-up
  const ns = timeIt(() => {
    for (let r = 0; r < rounds; r++) mergeWindow();
  });
  const perPane = ns / rounds / panes.length;
  console.log(
    `merge 90 panes of ${String(paneSize).padStart(4)} spans into a 15m window: ${(perPane / 1000).toFixed(2)} µs/pane, ${(perPane / paneSize).toFixed(1)} ns/span merged`,
  );
}

{
  // end to end: 50 series (2 calls/s each) for 30 minutes of event time (scaled) through the event clock
  const settings = serviceSchema.parse({});
  const series = 50;
  const spans = [];
  const t0 = 1_800_000_000_000;
  const minutes = scaled(30, 2);
  for (let t = 0; t < minutes * 60_000; t += 500) {
    for (let s = 0; s < series; s++) {
      const d = lognormal(rand, 200, 0.5);
      spans.push(makeSpan({ name: 'execute_tool', tool: `tool_${s}`, provider: `p${s % 4}`, startMs: t0 + t - d, endMs: t0 + t }));
    }
  }
  const clockStart = process.hrtime.bigint();
  await lastValueFrom(from(spans).pipe(eventClock({ windows: settings.windows, scheduler: asyncScheduler, idleAdvance: false }), count()));
  const clockNs = Number(process.hrtime.bigint() - clockStart);
  console.log(`event clock alone (for comparison): ${(clockNs / spans.length).toFixed(0)} ns/span`);
  const ctx = { scheduler: asyncScheduler, metrics: new Registry(), logger: silentLogger, settings, mode: 'live' as const, id: 'bench' };
  const operator = latencySpanOperator(latencyConfigSchema.parse({}), ctx);
  const start = process.hrtime.bigint();
  const emitted = await lastValueFrom(
    from(spans).pipe(eventClock({ windows: settings.windows, scheduler: asyncScheduler, idleAdvance: false }), operator, count()),
  );
  const ns = Number(process.hrtime.bigint() - start);
  console.log(
    `latency span operator: ${spans.length} spans, ${series} tools (+4 provider series), ${minutes} min event time: ` +
      `${(ns / 1e6).toFixed(0)} ms, ${((spans.length / ns) * 1e9).toFixed(0)} spans/s, ${(ns / spans.length).toFixed(0)} ns/span (${emitted} observations)`,
  );
}
