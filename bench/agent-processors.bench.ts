/**
 * CPU cost of the agent-behaviour processors (silent_failure, agent_loop, budget) in an offline
 * analysis, on two inputs:
 *
 * - kc history: ~8 000 kc events over 10 days (~37 runs) as the kc mapping makes them — task and
 *   attempt spans with a provider and no model, tool or tool-call attributes, so the processors
 *   only reject spans; this is their cost for kc today;
 * - agent traffic: 1 500 agent runs made with the OpenTelemetry SDK (model turns with finish
 *   reasons and usage, tool calls with arguments and results, a few cut-off answers and stuck
 *   runs), priced from a table, with two budgets (per agent in USD, per run in tokens).
 *
 * For each: the median CPU time (user + system of this process) of BENCH_REPEATS (default 5)
 * analyses after one warm-up, for a baseline
 * (categorize only), each processor added alone, and the default processor list with and without
 * the three. Reported as ms and µs per span over the baseline. Nothing is asserted; the machine
 * is shared, so read differences of a few percent as noise.
 */
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import type { SpanRecord } from '../src/model/span.js';
import { generateKcHistory } from '../test/fixtures/kc/generate-runs.js';
import { recordTraces, type SpanTree } from '../test/support/readable-to-record.js';
import { agentRun, chat, healthySteps, loopSteps, type Step } from '../test/support/agent-loop-workload.js';

const REPEATS = Math.max(1, Number(process.env['BENCH_REPEATS'] ?? 5));
/** BENCH_SCALE < 1 shrinks every input (CI's smoke run) */
const SCALE = Number(process.env['BENCH_SCALE'] ?? 1);

const PRICING = { 'gpt-4o': { input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 } };
const BUDGETS = [
  { per: 'agent', max_cost_usd: 5, window: '15m' },
  { per: 'run', max_tokens: 200_000, window: '1h' },
];
const DEFAULTS = ['failure_rate', 'error_cluster', 'retry_patterns', 'provider_fallback', 'latency', 'repeated_calls', 'sequential_fanout', 'anomaly', 'operation_metrics'];
const AGENT = ['silent_failure', 'agent_loop', 'budget'];

function kcSpans(): SpanRecord[] {
  const runs = kcRunDataSchema.parse(generateKcHistory({ events: Math.round(8_000 * SCALE), days: 10 * Math.min(1, SCALE * 4), seed: 7 }));
  return runs.flatMap((run) => kcRunToSpans(run.events, { runId: run.runId }));
}

/** 1 500 agent runs 2 s apart: healthy ones, one in 50 stuck, one answer in 40 cut off at its limit. */
function agentSpans(): SpanRecord[] {
  const runs = Math.max(20, Math.round(1_500 * SCALE));
  const trees: SpanTree[] = [];
  for (let i = 0; i < runs; i++) {
    const steps: Step[] = i % 50 === 7 ? loopSteps(6) : healthySteps(i).map((s) => ('chat' in s && i % 40 === 3 ? chat({ finish: ['length'], outputTokens: 4_096 }) : s));
    trees.push(agentRun({ runId: `run-${i}`, start: Date.parse('2026-11-20T10:00:00.000Z') + i * 2_000, stepMs: 800, steps }));
  }
  return recordTraces(trees);
}

function processorsOf(names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries([...names, 'categorize'].map((n) => [n, n === 'budget' ? { budgets: BUDGETS } : {}]));
}

/** Median CPU ms of the analyses of `spans` with the processors `names` (and categorize). */
async function medianMs(spans: readonly SpanRecord[], names: readonly string[]): Promise<{ ms: number; painpoints: number }> {
  const config = { processors: processorsOf(names), service: { pricing: PRICING } };
  let painpoints = 0;
  await analyzeSpans(spans, { config });
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    // CPU time of this process (user + system), less disturbed by other processes than wall time
    const t0 = process.cpuUsage();
    const r = await analyzeSpans(spans, { config });
    const used = process.cpuUsage(t0);
    times.push((used.user + used.system) / 1_000);
    painpoints = r.painpoints.length;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)] as number, painpoints };
}

async function report(name: string, spans: readonly SpanRecord[]): Promise<void> {
  process.stdout.write(`\n${name}: ${spans.length} spans\n`);
  const base = await medianMs(spans, []);
  const line = (label: string, r: { ms: number; painpoints: number }, over: number) =>
    process.stdout.write(`  ${label.padEnd(34)} ${r.ms.toFixed(0).padStart(6)} ms  (+${(r.ms - over).toFixed(0)} ms, ${(((r.ms - over) * 1_000) / spans.length).toFixed(2)} µs/span)  ${r.painpoints} pain points\n`);
  process.stdout.write(`  ${'baseline (categorize only)'.padEnd(34)} ${base.ms.toFixed(0).padStart(6)} ms CPU\n`);
  for (const p of AGENT) line(`+ ${p}`, await medianMs(spans, [p]), base.ms);
  line('+ all three', await medianMs(spans, AGENT), base.ms);
  const without = await medianMs(spans, DEFAULTS);
  const withAll = await medianMs(spans, [...DEFAULTS, ...AGENT]);
  process.stdout.write(`  ${'default list without the three'.padEnd(34)} ${without.ms.toFixed(0).padStart(6)} ms\n`);
  line('default list with the three', withAll, without.ms);
  process.stdout.write(`  the three add ${(((withAll.ms - without.ms) / without.ms) * 100).toFixed(1)} % to the default list\n`);
}

await report('kc history (10 days, kc mapping)', kcSpans());
await report('agent traffic (OTel GenAI spans, priced, two budgets)', agentSpans());
