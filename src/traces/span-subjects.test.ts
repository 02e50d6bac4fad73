import { describe, expect, it } from 'vitest';
import { seriesSubjects, type Dimension } from '../model/series.js';
import type { SpanRecord } from '../model/span.js';
import { SubjectsByFields } from './span-subjects.js';

const base: SpanRecord = {
  traceId: 't1',
  spanId: 's1',
  name: 'execute_tool',
  kind: 1,
  startMs: 0,
  endMs: 10,
  durationMs: 10,
  statusCode: 0,
  statusMessage: '',
  attributes: {},
  events: [],
  links: [],
  resource: {},
  scopeName: 'test',
  service: 'agent',
  operationKey: 'agent/execute_tool',
  runId: 't1',
  failed: false,
  tool: 'web_search',
  provider: 'openai',
};

const dimensions: Dimension[] = ['provider', 'agent', 'agent_version'];

describe('SubjectsByFields', () => {
  it('gives what seriesSubjects gives for every span, asking it once per set of fields', () => {
    let made = 0;
    const cache = new SubjectsByFields((span) => {
      made++;
      return seriesSubjects(span, dimensions);
    });
    const spans: SpanRecord[] = [
      base,
      { ...base, spanId: 's2' },
      { ...base, spanId: 's3', provider: 'anthropic' },
      { ...base, spanId: 's4', agent: 'coder', agentVersion: '1.4' },
      { ...base, spanId: 's5', agent: 'coder', agentVersion: '1.5' },
      { ...base, spanId: 's6', tool: undefined, model: 'gpt-4o' },
      { ...base, spanId: 's7', service: 'other' },
      { ...base, spanId: 's8', provider: 'anthropic' },
    ];
    for (const span of spans) expect(cache.of(span)).toEqual(seriesSubjects(span, dimensions));
    expect(made).toBe(6);
  });

  it('starts over past its cap, counting it', () => {
    const cache = new SubjectsByFields((span) => span.tool, 2);
    for (const tool of ['a', 'b', 'c', 'a']) expect(cache.of({ ...base, tool })).toBe(tool);
    expect(cache.resets).toBe(1);
  });
});
