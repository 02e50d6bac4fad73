import { describe, expect, it } from 'vitest';
import { operationSubject, seriesSubjects, subjectKey, subjectLabel } from './series.js';
import { makeSpan } from '../../test/support/span-factory.js';
import type { Dimension } from './series.js';

describe('seriesSubjects and subjectKey caches', () => {
  it('shares one frozen subjects array per span and dimensions list, rebuilt for another list', () => {
    const span = makeSpan({ tool: 'web_search', model: 'gpt-4o' });
    const dims: Dimension[] = ['tool', 'model'];
    const first = seriesSubjects(span, dims);
    expect(seriesSubjects(span, dims)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.map(subjectKey)).toEqual([
      'service="kc-orchestrator",operation="execute_tool",tool="web_search"',
      'service="kc-orchestrator",operation="execute_tool",model="gpt-4o"',
    ]);
    const other = seriesSubjects(span, ['model']);
    expect(other).not.toBe(first);
    expect(other).toHaveLength(2);
    expect(seriesSubjects(span, [])).toHaveLength(1);
  });

  it('finds the same subjects for spans of one operation whatever field tells them apart, asked in any order', () => {
    const dims: Dimension[] = ['provider', 'agent'];
    const a = makeSpan({ model: 'gpt-4o', provider: 'openai', agent: 'coder' });
    const b = makeSpan({ model: 'gpt-4o', provider: 'azure', agent: 'coder' });
    const c = makeSpan({ model: 'gpt-4o', provider: 'openai' });
    expect(a.operationKey).toBe(b.operationKey);
    const [sa, sb, sc] = [a, b, c].map((s) => seriesSubjects(s, dims));
    // asked again, in another order and through fresh copies with the same fields: the same arrays
    expect(seriesSubjects({ ...c }, dims)).toBe(sc);
    expect(seriesSubjects({ ...a }, dims)).toBe(sa);
    expect(seriesSubjects({ ...b }, dims)).toBe(sb);
    expect(sa?.map(subjectKey)).toEqual([
      'service="kc-orchestrator",operation="execute_tool",model="gpt-4o"',
      'service="kc-orchestrator",operation="execute_tool",provider="openai"',
      'service="kc-orchestrator",operation="execute_tool",agent="coder"',
    ]);
    expect(sb?.map(subjectKey)[1]).toBe('service="kc-orchestrator",operation="execute_tool",provider="azure"');
    expect(sc?.map(subjectKey)).toHaveLength(2);
    expect(operationSubject({ ...b })).toBe(operationSubject(a));
  });

  it('gives equal subjects the same key whether cached or not', () => {
    const a = { service: 's', operation: 'op', tool: 't' };
    expect(subjectKey(a)).toBe(subjectKey({ ...a }));
    expect(subjectKey(a)).toBe(subjectKey(a));
  });
});

describe('the agent_version dimension', () => {
  it('names a series by the agent and its version', () => {
    const span = makeSpan({ name: 'invoke_agent', agent: 'coder' });
    const versioned = { ...span, agentVersion: '1.4.0' };
    expect(seriesSubjects(versioned, ['agent', 'agent_version']).map(subjectKey)).toEqual([
      'service="kc-orchestrator",operation="invoke_agent"',
      'service="kc-orchestrator",operation="invoke_agent",agent="coder"',
      'service="kc-orchestrator",operation="invoke_agent",agent="coder",agent_version="1.4.0"',
    ]);
    expect(subjectLabel({ service: 's', agent: 'coder', agent_version: '1.4.0' })).toBe('coder 1.4.0');
    // no version attribute: no such series
    expect(seriesSubjects(span, ['agent', 'agent_version'])).toHaveLength(2);
  });
});
