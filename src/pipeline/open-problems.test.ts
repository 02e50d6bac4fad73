import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PainPointRecord } from '../model/painpoint.js';
import { painPointPerKind } from '../../test/fixtures/report/painpoints.js';
import { problemChangeOf } from '../../test/fixtures/problems.js';
import { OpenProblems } from './open-problems.js';

const kinds = painPointPerKind();
const of = (kind: string) => kinds.find((pp) => pp.kind === kind) as PainPointRecord;

async function gauge(registry: Registry): Promise<Record<string, number>> {
  const text = await registry.getSingleMetricAsString('sidelight_problems_open');
  return Object.fromEntries([...text.matchAll(/^sidelight_problems_open\{severity="(\w+)"\} (\d+)$/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

describe('OpenProblems (/metrics)', () => {
  it('counts open problems by their current severity, per pipeline, until they resolve or merge', async () => {
    const registry = new Registry();
    const open = new OpenProblems(registry, 10);
    expect(await gauge(registry)).toEqual({ high: 0, medium: 0, low: 0 });
    const failure = { root: of('failure_rate') };
    const regression = { root: of('latency_regression') };
    open.observe('traces', problemChangeOf(failure));
    open.observe('traces', problemChangeOf(regression));
    // the same problem in another pipeline is another open problem
    open.observe('kc', problemChangeOf(failure));
    // a pain-point change is not a problem
    open.observe('traces', { painpoint: of('slow_tail'), recommendations: [] });
    expect(await gauge(registry)).toEqual({ high: 2, medium: 1, low: 0 });

    open.observe('traces', problemChangeOf(failure, { state: 'updated', severity: 'low' }));
    expect(await gauge(registry)).toEqual({ high: 1, medium: 1, low: 1 });
    open.observe('traces', problemChangeOf(failure, { state: 'resolved', severity: 'low' }));
    open.observe('traces', problemChangeOf(regression, { state: 'merged', merged_into: problemChangeOf(failure).problem.id }));
    expect(await gauge(registry)).toEqual({ high: 1, medium: 0, low: 0 });
    expect(open.size).toBe(1);
    const changes = await registry.getSingleMetricAsString('sidelight_problem_changes_total');
    expect(changes).toContain('sidelight_problem_changes_total{state="open"} 3');
    expect(changes).toContain('sidelight_problem_changes_total{state="merged"} 1');
  });

  it('tracks at most its cap and counts the problems left out', async () => {
    const registry = new Registry();
    const open = new OpenProblems(registry, 1);
    open.observe('traces', problemChangeOf({ root: of('failure_rate') }));
    open.observe('traces', problemChangeOf({ root: of('retry_storm') }));
    expect(await gauge(registry)).toEqual({ high: 1, medium: 0, low: 0 });
    expect(await registry.getSingleMetricAsString('sidelight_problems_untracked_total')).toContain('sidelight_problems_untracked_total 1');
    // a second instance on the same registry shares the metrics instead of registering them twice
    expect(() => new OpenProblems(registry, 1)).not.toThrow();
  });
});
