import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../src/model/span.js';
import type { Observation } from '../src/model/painpoint.js';
import { makeSpan, type SpanInit } from '../test/support/span-factory.js';
import { runOnSpans, testContext, testSettings } from '../test/support/detector-harness.js';
import { anomaly, anomalyConfigSchema, anomalyProcessorFactory } from './anomaly.js';

const MIN = 60_000;
// aligned to the minute, so each minute of calls is one judged window
const T0 = 1_700_000_040_000;

/**
 * `perMinute` chat calls in each minute `m` of `minutes`, with `tokens(m, i)` input tokens
 * (output fixed at 100); `undefined` tokens means the call reports none.
 */
function chat(minutes: number, perMinute: (m: number) => number, tokens: (m: number, i: number) => number | undefined, init: SpanInit = {}): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let m = 0; m < minutes; m++) {
    const n = perMinute(m);
    for (let i = 0; i < n; i++) {
      const t = tokens(m, i);
      out.push(
        makeSpan({
          name: 'chat',
          model: 'gpt-4o',
          provider: 'openai',
          startMs: T0 + m * MIN + Math.floor((i * MIN) / n),
          durationMs: 0,
          inputTokens: t,
          outputTokens: t === undefined ? undefined : 100,
          runId: 'run-1',
          ...init,
        }),
      );
    }
  }
  return out;
}

/** ±2 % deterministic noise around `base` */
const noisy = (base: number) => (m: number, i: number) => Math.round(base * (1 + 0.02 * Math.sin(m * 7 + i * 3)));

async function run(spans: SpanRecord[], overrides: Record<string, unknown> = {}): Promise<Observation[]> {
  return runOnSpans(spans, anomaly(anomalyConfigSchema.parse(overrides), testContext('live')));
}

const onModel = (obs: Observation[]) => obs.filter((o) => o.subject.model === 'gpt-4o' && o.subject.provider === undefined);

describe('anomaly', () => {
  it('has the documented defaults', () => {
    expect(anomalyConfigSchema.parse({})).toEqual({
      step: 60_000,
      metrics: ['tokens_per_call', 'call_rate'],
      min_history: 10,
      history_windows: 60,
      z_threshold: 4,
      z_medium: 8,
      consecutive: 2,
      ewma_lambda: 0.25,
      ewma_sigmas: 3,
      scale_floor_ratio: 0.25,
      min_calls: 20,
      min_baseline_calls: 5,
      max_series: 5000,
      max_exemplars: 5,
    });
    expect(anomalyProcessorFactory.type).toBe('anomaly');
  });

  it('fires on a 10× token jump lasting 3 windows after a stable history, as a medium cost anomaly', async () => {
    const spans = chat(30, () => 6, (m, i) => (m >= 20 && m < 23 ? 10 * noisy(1000)(m, i) : noisy(1000)(m, i)));
    const obs = onModel(await run(spans));
    expect(obs.length).toBe(2); // the 2nd and 3rd outlying windows
    const o = obs[0] as Observation;
    expect(o.kind).toBe('anomaly');
    expect(o.category).toBe('cost');
    expect(o.severity).toBe('medium');
    expect(o.time).toBe(T0 + 22 * MIN);
    expect(o.evidence.window).toBe('1m');
    expect(o.evidence.metrics).toMatchObject({ metric: 'tokens_per_call', consecutive_windows: 2, history: 21 });
    expect(o.evidence.metrics.value as number).toBeGreaterThan(9_000);
    expect(o.evidence.metrics.median as number).toBeCloseTo(1_100, -1);
    expect(o.evidence.metrics.robust_z as number).toBeGreaterThan(8);
    expect(o.evidence.metrics.wasted_tokens as number).toBeGreaterThan(6 * 8_000);
    expect(o.evidence.exemplar_trace_ids).toHaveLength(5);
    expect(o.title).toMatch(/^gpt-4o uses \d+ tokens per call over the last 1m, \d+(\.\d)?× its median of 11\d\d$/);
    expect(o.runIds).toEqual(['run-1']);
  });

  it('reports the jump on the provider series too (group-by)', async () => {
    const spans = chat(30, () => 6, (m, i) => (m >= 20 && m < 23 ? 10 : 1) * noisy(1000)(m, i));
    const obs = await run(spans);
    expect(obs.some((o) => o.subject.provider === 'openai')).toBe(true);
  });

  it('fires low through the EWMA on a sustained 70 % rise whose z stays under 4', async () => {
    const obs = onModel(await run(chat(30, () => 6, (m, i) => (m >= 20 ? 1.7 : 1) * noisy(1000)(m, i))));
    expect(obs.length).toBeGreaterThan(0);
    const o = obs[0] as Observation;
    expect(o.severity).toBe('low');
    expect(o.evidence.metrics.robust_z as number).toBeLessThan(4);
    expect(o.evidence.metrics.ewma as number).toBeGreaterThan(o.evidence.metrics.ewma_upper_limit as number);
  });

  it('does not fire on a single outlying window', async () => {
    const spans = chat(30, () => 6, (m, i) => (m === 20 ? 10 : 1) * noisy(1000)(m, i));
    expect(await run(spans)).toEqual([]);
  });

  it('does not fire on a constant series with small noise, nor on a 20 % step', async () => {
    expect(await run(chat(60, () => 6, noisy(1000)))).toEqual([]);
    expect(await run(chat(60, () => 6, (m, i) => (m >= 30 ? 1.2 : 1) * noisy(1000)(m, i)))).toEqual([]);
  });

  it('does not fire on a constant series with MAD 0 and a one-token change', async () => {
    expect(await run(chat(40, () => 6, (m) => (m >= 20 ? 1001 : 1000)))).toEqual([]);
  });

  it('does not fire before 10 windows of history', async () => {
    const spans = chat(20, () => 6, (m, i) => (m >= 6 && m < 9 ? 10 : 1) * noisy(1000)(m, i));
    expect(await run(spans)).toEqual([]);
  });

  it('does not fire on steadily growing context (an agent loop)', async () => {
    expect(await run(chat(90, () => 3, (m) => 2_000 + 50 * m))).toEqual([]);
  });

  it('fires on a call-rate surge over steady traffic, as performance', async () => {
    const spans = chat(30, (m) => (m >= 20 && m < 23 ? 100 : 10), () => undefined);
    const obs = onModel(await run(spans));
    expect(obs.length).toBeGreaterThan(0);
    const o = obs[0] as Observation;
    expect(o.category).toBe('performance');
    expect(o.evidence.metrics).toMatchObject({ metric: 'call_rate', value: 100, median: 10 });
    expect(o.title).toBe('gpt-4o is called 100 times over the last 1m, 10× its median of 10');
  });

  it('does not fire on hourly batches of calls', async () => {
    const spans = chat(180, (m) => (m % 60 < 3 ? 30 : 0), noisy(1000));
    expect(await run(spans)).toEqual([]);
  });

  it('ignores calls that report no tokens for token usage', async () => {
    const spans = chat(30, () => 6, (m, i) => (m >= 20 && i > 0 ? undefined : noisy(1000)(m, i)));
    expect(await run(spans)).toEqual([]);
  });

  it('never reports the __overflow__ series', async () => {
    const first = chat(30, () => 6, noisy(1000), { name: 'embed', model: 'small', provider: undefined });
    const jump = chat(30, () => 6, (m, i) => (m >= 20 ? 10 : 1) * noisy(1000)(m, i), { provider: undefined });
    expect(await run([...first, ...jump], { max_series: 1 })).toEqual([]);
    expect((await run([...first, ...jump])).length).toBeGreaterThan(0);
  });

  it('rejects a step that does not tile the panes', () => {
    const config = anomalyConfigSchema.parse({ step: '15s' });
    expect(() => anomaly(config, testContext('live'))).toThrow(/processors\.anomaly\.step/);
  });
});

describe('anomaly severity band', () => {
  // 1 000 tokens per call for 12 minutes (σ̂ = 250 by the scale floor), then z 8.4, 8.4, 7.6, 7.0
  const inputs = [3_000, 3_000, 2_800, 2_650];
  const spans = chat(16, () => 10, (m) => (m < 12 ? 900 : inputs[m - 12]));
  const at = (obs: Observation[], m: number) => onModel(obs).find((o) => o.time === T0 + (m + 1) * MIN && o.evidence.metrics.metric === 'tokens_per_call');

  it('holds medium while z stays within 10 % below z_medium, and states the tokens above the median', async () => {
    const obs = await run(spans);
    expect(at(obs, 13)?.severity).toBe('medium');
    expect(at(obs, 14)?.evidence.metrics.robust_z).toBeCloseTo(7.6, 1);
    expect(at(obs, 14)?.severity).toBe('medium');
    expect(at(obs, 15)?.evidence.metrics.robust_z).toBeCloseTo(7, 1);
    expect(at(obs, 15)?.severity).toBe('low');
    expect(at(obs, 13)?.description).toMatch(/; 21000 tokens above the median over 10 calls, 68 % of its 31000 tokens in the window\.$/);
  });

  it('without a band, z 7.6 is low', async () => {
    const settings = testSettings({ painpoints: { band: 0 } });
    const obs = await runOnSpans(spans, anomaly(anomalyConfigSchema.parse({}), testContext('live', settings)), settings);
    expect(at(obs, 14)?.severity).toBe('low');
  });
});
