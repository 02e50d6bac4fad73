import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { Registry } from 'prom-client';
import type { Observation, Severity } from '../model/painpoint.js';
import type { PainPointChange } from '../model/events.js';
import { painPointLifecycle, type LifecycleInput } from './lifecycle.js';
import { painPointId } from './ids.js';
import { serviceSchema } from '../config/service-schema.js';

const T0 = 1_700_000_000_000;
const settings = serviceSchema.parse({}).painpoints;
const subject = { service: 'kc', operation: 'execute_tool', tool: 'web_search' };

function obs(time: number, rate: number, severity: Severity = 'medium', runIds: string[] = ['r1']): Observation {
  return {
    kind: 'failure_rate',
    subject,
    severity,
    category: 'reliability',
    title: `web_search fails ${Math.round(rate * 100)} % of calls`,
    description: 'd',
    evidence: { window: '5m', metrics: { failure_rate: rate }, exemplar_trace_ids: [] },
    keyMetric: rate,
    time,
    runIds,
  };
}

function harness(s = settings) {
  const input = new Subject<LifecycleInput>();
  const out: PainPointChange[] = [];
  const registry = new Registry();
  input.pipe(painPointLifecycle(s, registry)).subscribe((c) => out.push(c));
  return {
    // one-shot observations (as judging every boundary makes them), each replayed at its boundary
    observe: (o: Observation) => {
      input.next({ type: 'observation', observation: o, detector: 0 });
      input.next({ type: 'watermark', time: o.time });
    },
    watermark: (time: number) => input.next({ type: 'watermark', time }),
    states: () => out.map((c) => `${c.painpoint.state}:${c.painpoint.severity}`),
    out,
    registry,
  };
}

describe('painPointLifecycle', () => {
  it('opens a pain point once with its deterministic id and the observation time', () => {
    const h = harness();
    h.observe(obs(T0, 0.4));
    h.observe(obs(T0 + 10_000, 0.41));
    expect(h.states()).toEqual(['open:medium']);
    const pp = h.out[0]!.painpoint;
    expect(pp.id).toBe(painPointId('failure_rate', subject));
    expect(pp.id).toMatch(/^pp-[0-9a-f]{16}$/);
    expect(pp.first_seen).toBe(new Date(T0).toISOString());
  });

  it('emits updated when the severity changes', () => {
    const h = harness();
    h.observe(obs(T0, 0.4));
    h.observe(obs(T0 + 10_000, 0.42, 'high'));
    expect(h.states()).toEqual(['open:medium', 'updated:high']);
  });

  it('lowers the severity only after severity_down_after consecutive lower judgements', () => {
    const h = harness();
    h.observe(obs(T0, 0.4, 'high'));
    h.observe(obs(T0 + 10_000, 0.4, 'medium'));
    h.observe(obs(T0 + 20_000, 0.4, 'high')); // back up: the streak starts again
    h.observe(obs(T0 + 30_000, 0.4, 'medium'));
    h.observe(obs(T0 + 40_000, 0.4, 'medium'));
    expect(h.states()).toEqual(['open:high']);
    h.observe(obs(T0 + 50_000, 0.4, 'medium'));
    expect(h.states()).toEqual(['open:high', 'updated:medium']);
  });

  it('emits updated when the key metric moves by more than update_delta, at most once per boundary', () => {
    const h = harness();
    h.observe(obs(T0, 0.4));
    h.observe(obs(T0, 0.6)); // same boundary as the open: no second change
    h.observe(obs(T0 + 10_000, 0.45)); // +12.5 % from the emitted 0.4: below the delta
    h.observe(obs(T0 + 20_000, 0.55)); // +37.5 %
    expect(h.states()).toEqual(['open:medium', 'updated:medium']);
    expect(h.out[1]!.painpoint.last_seen).toBe(new Date(T0 + 20_000).toISOString());
  });

  it('resolves after resolve_after of event time without observations, once', () => {
    const h = harness();
    h.observe(obs(T0, 0.4));
    h.watermark(T0 + 110_000);
    expect(h.states()).toEqual(['open:medium']);
    h.watermark(T0 + 120_000);
    h.watermark(T0 + 130_000);
    expect(h.states()).toEqual(['open:medium', 'resolved:medium']);
  });

  it('opens again when the problem returns after being resolved', () => {
    const h = harness();
    h.observe(obs(T0, 0.4));
    h.watermark(T0 + 200_000);
    h.observe(obs(T0 + 300_000, 0.5));
    expect(h.out.map((c) => c.painpoint.state)).toEqual(['open', 'resolved', 'open']);
    expect(h.out[2]!.painpoint.first_seen).toBe(new Date(T0 + 300_000).toISOString());
  });

  it('collects run ids across observations, sorted and capped', () => {
    const h = harness();
    h.observe(obs(T0, 0.4, 'medium', ['r2']));
    h.observe(obs(T0 + 10_000, 0.4, 'high', ['r1', 'r2']));
    expect(h.out[1]!.painpoint.run_ids).toEqual(['r1', 'r2']);
  });

  it('drops new pain points past max_active and counts them', async () => {
    const h = harness({ ...settings, max_active: 1 });
    h.observe(obs(T0, 0.4));
    h.observe({ ...obs(T0, 0.4), subject: { ...subject, tool: 'other' } });
    expect(h.out).toHaveLength(1);
    expect(await h.registry.getSingleMetricAsString('sidelight_painpoints_dropped_total')).toContain('sidelight_painpoints_dropped_total 1');
  });

  it('emits the record the observations since the last change add up to: latest text, last impact seen, last_seen of the latest', () => {
    const h = harness();
    h.observe(obs(T0, 0.4)); // open, no impact
    const impact = { score: 12, affected_runs: 1, affected_traces: 2, wasted_ms: 3, wasted_tokens: 0 };
    h.observe({ ...obs(T0 + 10_000, 0.41), impact }); // not emitted: a small move
    h.observe({ ...obs(T0 + 20_000, 0.42), title: 'latest title' }); // no impact of its own
    h.observe(obs(T0 + 30_000, 0.9)); // a large move: updated
    expect(h.states()).toEqual(['open:medium', 'updated:medium']);
    const pp = h.out[1]!.painpoint;
    expect(pp.title).toBe('web_search fails 90 % of calls');
    expect(pp.impact).toEqual(impact);
    expect(pp.last_seen).toBe(new Date(T0 + 30_000).toISOString());
    // key order as when each observation was copied into the record in turn: impact joined last
    expect(Object.keys(pp)).toEqual([
      'id', 'kind', 'severity', 'category', 'state', 'subject', 'title', 'description', 'evidence', 'first_seen', 'last_seen', 'run_ids', 'impact',
    ]);
    expect(h.out[0]!.painpoint.impact).toBeUndefined(); // an emitted record is never changed afterwards
    h.watermark(T0 + 30_000 + settings.resolve_after);
    expect(h.out[2]!.painpoint.state).toBe('resolved');
    expect(h.out[2]!.painpoint.impact).toEqual(impact);
  });
});

describe('painPointLifecycle with standing observations', () => {
  const standing = { source: 'series-a', gridMs: 10_000, rank: 0, index: 0 };
  function standingHarness(s = settings) {
    const input = new Subject<LifecycleInput>();
    const out: PainPointChange[] = [];
    input.pipe(painPointLifecycle(s, undefined, { clockStepMs: 10_000 })).subscribe((c) => out.push(c));
    return {
      observe: (o: Observation) => input.next({ type: 'observation', observation: o, standing, detector: 0 }),
      clear: (time: number) => input.next({ type: 'clear', kind: 'failure_rate', subject, time, source: standing.source, detector: 0 }),
      watermark: (time: number) => input.next({ type: 'watermark', time }),
      states: () => out.map((c) => `${c.painpoint.state}:${c.painpoint.severity}@${(Date.parse(c.painpoint.last_seen) - T0) / 1000}`),
    };
  }

  it('keeps a standing observation open through boundaries without input, and resolves resolve_after past the boundary before its clear', () => {
    const h = standingHarness();
    h.observe(obs(T0, 0.4));
    h.watermark(T0 + 3_600_000); // an hour of boundaries: still seen at each
    expect(h.states()).toEqual(['open:medium@0']);
    h.clear(T0 + 3_600_000 + 10_000);
    h.watermark(T0 + 3_600_000 + 110_000);
    expect(h.states()).toEqual(['open:medium@0']);
    h.watermark(T0 + 3_600_000 + 120_000);
    // last seen at the boundary before the clear; resolved 120 s after it
    expect(h.states()).toEqual(['open:medium@0', 'resolved:medium@3600']);
  });

  it('lowers the severity of a standing lower observation after severity_down_after boundaries, without new input', () => {
    const h = standingHarness();
    h.observe(obs(T0, 0.6, 'high'));
    h.observe(obs(T0 + 10_000, 0.6, 'medium'));
    h.watermark(T0 + 10_000);
    expect(h.states()).toEqual(['open:high@0']);
    h.watermark(T0 + 60_000);
    // the lower judgement stands at 10 s, 20 s, 30 s: the third lowers the severity
    expect(h.states()).toEqual(['open:high@0', 'updated:medium@30']);
  });

  it('emits an update held back at its own boundary at the next one', () => {
    const h = standingHarness();
    h.observe(obs(T0, 0.4));
    h.observe({ ...obs(T0, 0.9), subject }); // same boundary as the open: held back
    h.watermark(T0 + 30_000);
    expect(h.states()).toEqual(['open:medium@0', 'updated:medium@10']);
  });
});
