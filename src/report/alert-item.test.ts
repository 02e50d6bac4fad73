import { describe, expect, it } from 'vitest';
import { buildGroupRecommendation } from '../recommendations/build.js';
import { painPointPerKind } from '../../test/fixtures/report/painpoints.js';
import type { PainPointRecord } from '../model/painpoint.js';
import { alertItemFromPainPoint, compareAlertItems, implementationSteps, operationKeyOfSubject } from './alert-item.js';

const [failure, spike] = painPointPerKind() as [PainPointRecord, PainPointRecord];

describe('alertItemFromPainPoint', () => {
  it('makes the pain point its own root, with its impact, evidence, exemplars and fix', () => {
    const rec = buildGroupRecommendation([failure]).recommendation;
    const item = alertItemFromPainPoint(failure, rec);
    expect(item).toMatchObject({
      id: failure.id,
      source: 'painpoint',
      severity: 'high',
      state: 'open',
      title: 'web_search fails 52 % of calls',
      root: { id: failure.id, kind: 'failure_rate', subject: failure.subject, title: failure.title },
      symptoms: [],
      contributing: [],
      runCount: 2,
      firstSeen: '2026-11-26T10:00:00.000Z',
      exemplarTraceIds: ['00000000000000000000000000000001', '00000000000000000000000000000002'],
      operationKey: 'kc-orchestrator execute_tool web_search web_search',
    });
    expect(item.evidence?.metrics).toContainEqual(['wilson_lower', '0.427']);
    expect(item.recommendation?.task).toBe(rec.task);
    expect(item.recommendation?.steps.flatMap((g) => g.steps).length).toBeGreaterThan(0);
    expect(alertItemFromPainPoint(failure).recommendation).toBeUndefined();
  });

  it('orders by severity, then impact score, then first seen', () => {
    const items = [alertItemFromPainPoint({ ...failure, severity: 'low' }), alertItemFromPainPoint(spike), alertItemFromPainPoint(failure)];
    expect(items.sort(compareAlertItems).map((i) => [i.id, i.severity])).toEqual([
      [failure.id, 'high'],
      [spike.id, 'high'],
      [failure.id, 'low'],
    ]);
  });
});

describe('implementationSteps', () => {
  it('reads numbered steps, and headed groups of a recommendation covering several pain points', () => {
    expect(implementationSteps('1. Do a.\n2. Do b.')).toEqual([{ steps: ['Do a.', 'Do b.'] }]);
    expect(implementationSteps('failure_rate on web_search (pp-1):\n1. Do a.\n\nretry_storm on web_search (pp-2):\n1. Do c.')).toEqual([
      { heading: 'failure_rate on web_search (pp-1)', steps: ['Do a.'] },
      { heading: 'retry_storm on web_search (pp-2)', steps: ['Do c.'] },
    ]);
  });
});

describe('operationKeyOfSubject', () => {
  it('names the operation key of an operation, tool, model or task-type series, and none for provider or agent series', () => {
    expect(operationKeyOfSubject({ service: 'kc', operation: 'execute_tool web_search', tool: 'web_search' })).toBe('kc execute_tool web_search web_search');
    expect(operationKeyOfSubject({ service: 'kc', operation: 'execute_tool web_search', tool: 'web_search', error_class: 'rate_limit' })).toBe('kc execute_tool web_search web_search');
    expect(operationKeyOfSubject({ service: 'kc', operation: 'invoke_agent coder' })).toBe('kc invoke_agent coder');
    expect(operationKeyOfSubject({ service: 'kc', operation: 'chat', provider: 'openai' })).toBeUndefined();
    expect(operationKeyOfSubject({ service: 'kc', operation: 'invoke_agent', agent: 'coder' })).toBeUndefined();
    expect(operationKeyOfSubject({ service: 'kc', error_class: 'timeout' })).toBeUndefined();
  });
});
