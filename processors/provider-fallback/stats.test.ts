import { describe, expect, it } from 'vitest';
import { subjectKey } from '../../src/model/series.js';
import { FallbackSubjects } from './stats.js';

describe('FallbackSubjects', () => {
  it('gives one subject list per (service, operation, provider), with the key a new object would have', () => {
    const subjects = new FallbackSubjects();
    const a = subjects.of('svc', 'chat', 'openai');
    expect(subjects.of('svc', 'chat', 'openai')).toBe(a);
    expect(subjects.of('svc', 'chat', 'anthropic')).not.toBe(a);
    expect(a.map(subjectKey)).toEqual([subjectKey({ service: 'svc', operation: 'chat', provider: 'openai' })]);
  });

  it('starts again past its cap, counted, and still answers', () => {
    const subjects = new FallbackSubjects();
    const first = subjects.of('svc', 'op', 'p0');
    for (let i = 1; i <= 4_096; i++) subjects.of('svc', 'op', `p${i}`);
    expect(subjects.restarts).toBe(1);
    const again = subjects.of('svc', 'op', 'p0');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
