import { describe, expect, it } from 'vitest';
import { uiSchema } from '../config/ui-schema.js';
import type { PainPointRecord } from '../model/painpoint.js';
import { buildGroupRecommendation } from '../recommendations/build.js';
import { alertItemFromPainPoint, type AlertItem } from '../report/alert-item.js';
import { painPointPerKind, record } from '../../test/fixtures/report/painpoints.js';
import { LiveState, type ResolvedHistory } from './live-state.js';

const HOUR = 3_600_000;

function stateAt(clock: { now: number }, overrides: Record<string, unknown> = {}, store?: ResolvedHistory) {
  const dropped: string[] = [];
  const state = new LiveState({
    settings: uiSchema.parse(overrides),
    now: () => clock.now,
    windows: ['1m', '5m', '15m'],
    onDropped: (what) => dropped.push(what),
    ...(store ? { store } : {}),
  });
  return { state, dropped };
}

const [failure, spike, cluster] = painPointPerKind() as [PainPointRecord, PainPointRecord, PainPointRecord];

describe('LiveState', () => {
  it('lists open items most severe first and moves a resolved one to the resolved list', () => {
    const clock = { now: 0 };
    const { state } = stateAt(clock);
    state.applyPainPointChange({ painpoint: cluster, recommendations: [] });
    state.applyPainPointChange({ painpoint: failure, recommendations: [] });
    expect(state.openItems().map((i) => [i.id, i.severity])).toEqual([
      [failure.id, 'high'],
      [cluster.id, 'medium'],
    ]);
    expect(state.counts()).toEqual({ high: 1, medium: 1, low: 0 });
    state.applyPainPointChange({ painpoint: { ...failure, state: 'resolved' }, recommendations: [] });
    expect(state.openItems().map((i) => i.id)).toEqual([cluster.id]);
    expect(state.resolvedItems().map((i) => [i.id, i.state])).toEqual([[failure.id, 'resolved']]);
  });

  it('shows a recommendation on every open member of its group, and keeps it on later changes that carry none', () => {
    const { state } = stateAt({ now: 0 });
    state.applyPainPointChange({ painpoint: failure, recommendations: [] });
    const rec = buildGroupRecommendation([failure, spike]).recommendation;
    const changed = state.applyPainPointChange({ painpoint: spike, recommendations: [rec] });
    // the spike's own item first, then the failure, which now shows the same fix
    expect(changed.map((i) => [i.id, i.recommendation?.id])).toEqual([
      [spike.id, rec.id],
      [failure.id, rec.id],
    ]);
    // the recommend processor attaches a recommendation once: an update without one keeps it
    state.applyPainPointChange({ painpoint: { ...failure, state: 'updated', title: 'web_search fails 60 % of calls' }, recommendations: [] });
    const item = state.openItems().find((i) => i.id === failure.id) as AlertItem;
    expect(item.title).toBe('web_search fails 60 % of calls');
    expect(item.recommendation?.task.id).toBe(rec.task.id);
  });

  it('shows at most max_open items and counts the new ones left out', () => {
    const { state, dropped } = stateAt({ now: 0 }, { max_open: 2 });
    for (const pp of painPointPerKind().slice(0, 4)) state.applyPainPointChange({ painpoint: pp, recommendations: [] });
    expect(state.openItems()).toHaveLength(2);
    expect(dropped).toEqual(['open', 'open']);
    // a change of a shown item still applies
    const shown = state.openItems()[0] as AlertItem;
    state.applyItem({ ...shown, title: 'changed' });
    expect(state.openItems().map((i) => i.title)).toContain('changed');
  });

  it('keeps resolved items of the resolved window only, newest first, and caps them at max_resolved', () => {
    const clock = { now: 0 };
    const { state } = stateAt(clock, { max_resolved: 2 });
    const resolve = (pp: PainPointRecord) => state.applyPainPointChange({ painpoint: { ...pp, state: 'resolved' }, recommendations: [] });
    resolve(failure);
    clock.now = 2 * HOUR;
    resolve(spike);
    clock.now = 3 * HOUR;
    resolve(cluster);
    expect(state.resolvedItems().map((i) => i.id)).toEqual([cluster.id, spike.id]);
    clock.now = 2 * HOUR + 24 * HOUR + 1;
    expect(state.resolvedItems().map((i) => i.id)).toEqual([cluster.id]);
  });

  it('adds the store\'s resolved items of the window, once each, never one that is open again', () => {
    const clock = { now: 100 * HOUR };
    const asked: number[] = [];
    const stored = [alertItemFromPainPoint({ ...spike, state: 'resolved' }), alertItemFromPainPoint({ ...failure, state: 'resolved' })];
    const { state } = stateAt(clock, {}, { resolvedSince: (since) => (asked.push(since), stored) });
    state.applyPainPointChange({ painpoint: { ...cluster, state: 'resolved' }, recommendations: [] });
    state.applyPainPointChange({ painpoint: failure, recommendations: [] });
    expect(state.resolvedItems().map((i) => i.id)).toEqual([cluster.id, spike.id]);
    expect(asked).toEqual([76 * HOUR]);
  });

  it('orders operations by trouble: an open item on it first, then its current failure rate', () => {
    const { state } = stateAt({ now: 0 });
    const op = (key: string, failures: number) => ({
      key,
      service: 'kc-orchestrator',
      operation: key,
      windows: ['1m', '5m', '15m'].map((window) => ({ window, calls: 10, failures, retriesPerMinute: 0, p95Ms: 100 })),
    });
    state.history.record(10_000, [op('quiet', 0), op('kc-orchestrator execute_tool web_search web_search', 1), op('failing', 5)]);
    expect(state.operationOrder()).toEqual(['failing', 'kc-orchestrator execute_tool web_search web_search', 'quiet']);
    state.applyPainPointChange({ painpoint: failure, recommendations: [] });
    expect(state.troubleOf('kc-orchestrator execute_tool web_search web_search')).toBe('high');
    expect(state.operationOrder()).toEqual(['kc-orchestrator execute_tool web_search web_search', 'failing', 'quiet']);
  });

  it('takes problem-shaped items through applyItem, merged ones leaving the open list', () => {
    const { state } = stateAt({ now: 0 });
    const base = alertItemFromPainPoint(record('failure_rate', { service: 's', operation: 'op', tool: 't' }, 'high', 'reliability', 't fails', { window: '1m', metrics: {}, exemplar_trace_ids: [] }));
    const problem: AlertItem = { ...base, id: 'pb-0123456789abcdef', source: 'problem', symptoms: [{ id: spike.id, kind: spike.kind, subject: spike.subject }] };
    state.applyItem(problem);
    expect(state.openItems().map((i) => i.id)).toEqual(['pb-0123456789abcdef']);
    state.applyItem({ ...problem, state: 'merged', mergedInto: 'pb-fedcba9876543210' });
    expect(state.openItems()).toEqual([]);
    expect(state.resolvedItems().map((i) => [i.id, i.state, i.mergedInto])).toEqual([['pb-0123456789abcdef', 'merged', 'pb-fedcba9876543210']]);
  });
});
