import { describe, expect, it } from 'vitest';
import { Subject as RxSubject } from 'rxjs';
import { Registry } from '../telemetry/prom.js';
import type { Logger } from '../telemetry/logger.js';
import { problemsSchema } from '../config/service-schema.js';
import { isProblemChange, type OutputChange } from '../model/events.js';
import type { PainPointKind, PainPointRecord, Subject } from '../model/painpoint.js';
import { painPointId } from '../painpoints/ids.js';
import { AttributionIndex, type IntervalFigures } from './attribution-index.js';
import { makeSpan } from '../../test/support/span-factory.js';
import { problemsStage, type ProblemsInput } from './stage.js';

const T0 = Date.UTC(2026, 10, 26, 9);
const MIN = 60_000;

const READ_AFTER_CHANGE = "attribution index: an interval's figures read after its panes changed";

/** An index whose reads of figures throw while `failing` is set (as its read-after-change check does). */
class FailingIndex extends AttributionIndex {
  failing = false;
  override interval(from: number, to: number): IntervalFigures {
    if (this.failing) throw new Error(READ_AFTER_CHANGE);
    return super.interval(from, to);
  }
}

function pp(kind: PainPointKind, subject: Subject, state: PainPointRecord['state'] = 'open'): PainPointRecord {
  return {
    id: painPointId(kind, subject),
    kind,
    severity: 'medium',
    category: 'reliability',
    state,
    subject,
    title: `${kind} on ${subject.service}`,
    description: '',
    evidence: { window: '5m', metrics: {}, exemplar_trace_ids: [] },
    first_seen: new Date(T0).toISOString(),
    last_seen: new Date(T0).toISOString(),
    run_ids: [],
  };
}

function stage() {
  const index = new FailingIndex({ paneMs: MIN, retentionMs: 120 * MIN, maxTuples: 1_000 });
  // spans of both pain points' series, so grouping reads their figures
  for (const [service, name] of [['api', 'search'], ['db', 'query']] as const) for (let i = 0; i < 30; i++) index.addSpan(makeSpan({ service, name, startMs: T0 - 2 * MIN + i * 1_000, durationMs: 200, failed: i % 3 === 0 }));
  const registry = new Registry();
  const logged: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (m) => logged.push(m) };
  const input = new RxSubject<ProblemsInput>();
  const out: OutputChange[] = [];
  let error: unknown;
  input.pipe(problemsStage(problemsSchema.parse({}), index, registry, logger)).subscribe({ next: (c) => out.push(c), error: (e: unknown) => (error = e) });
  const failures = async () => (await registry.getSingleMetric('sidelight_problems_failures_total')?.get())?.values[0]?.value ?? 0;
  return { index, input, out, logged, failures, error: () => error };
}

describe('problems stage', () => {
  it('keeps pain-point changes flowing when grouping throws, counts each failure and logs each kind once', async () => {
    const s = stage();
    const a = pp('failure_rate', { service: 'api', operation: 'search' });
    const b = pp('latency_regression', { service: 'db', operation: 'query' });
    s.index.failing = true;
    s.input.next({ painpoint: a, recommendations: [] });
    s.input.next({ type: 'watermark', time: T0 + MIN });
    s.input.next({ painpoint: b, recommendations: [] });
    s.input.next({ type: 'watermark', time: T0 + 2 * MIN });
    // both pain-point changes passed, no problem came out, the stream is still open
    expect(s.out.map((c) => ('painpoint' in c ? c.painpoint.id : 'problem'))).toEqual([a.id, b.id]);
    expect(s.error()).toBeUndefined();
    expect(await s.failures()).toBe(2);
    expect(s.logged).toHaveLength(1);
    expect(s.logged[0]).toContain(READ_AFTER_CHANGE);

    // once grouping works again, what changed meanwhile is grouped at the next boundary
    s.index.failing = false;
    s.input.next({ type: 'watermark', time: T0 + 3 * MIN });
    const problems = s.out.filter(isProblemChange);
    expect(problems.map((c) => [c.problem.state, c.problem.root.id]).sort()).toEqual([
      ['open', a.id],
      ['open', b.id],
    ].sort());
    expect(await s.failures()).toBe(2);

    // and a later failure of the same kind is counted, not logged again; changes still pass
    s.index.failing = true;
    const resolved = { ...a, state: 'resolved' as const };
    s.input.next({ painpoint: resolved, recommendations: [] });
    s.input.next({ type: 'end' });
    expect(s.out.at(-1)).toEqual({ painpoint: resolved, recommendations: [] });
    expect(await s.failures()).toBe(3);
    expect(s.logged).toHaveLength(1);
    expect(s.error()).toBeUndefined();
  });

  it('without a failure groups at the watermark where a pain point changed', async () => {
    const s = stage();
    const a = pp('failure_rate', { service: 'api', operation: 'search' });
    s.input.next({ painpoint: a, recommendations: [] });
    expect(s.out.filter(isProblemChange)).toHaveLength(0);
    s.input.next({ type: 'watermark', time: T0 + MIN });
    expect(s.out.filter(isProblemChange).map((c) => c.problem.state)).toEqual(['open']);
    expect(await s.failures()).toBe(0);
    expect(s.logged).toHaveLength(0);
  });
});
