import { describe, expect, it } from 'vitest';
import { serviceSchema } from '../config/service-schema.js';
import { applyHeapGrowth, heapGrowthFlag } from './heap-growth.js';

describe('service.memory.heap_growth', () => {
  it('becomes V8 heap growing percent: 1.5 → 50, 1.1 → 10, 4 → 300', () => {
    expect(heapGrowthFlag(1.5)).toBe('--heap-growing-percent=50');
    expect(heapGrowthFlag(1.1)).toBe('--heap-growing-percent=10');
    expect(heapGrowthFlag(4)).toBe('--heap-growing-percent=300');
  });

  it('is applied as one V8 flag', () => {
    const flags: string[] = [];
    applyHeapGrowth(1.25, (f) => flags.push(f));
    expect(flags).toEqual(['--heap-growing-percent=25']);
  });

  it('defaults to 1.5 and accepts 1.1 to 4 only', () => {
    expect(serviceSchema.parse({}).memory).toEqual({ heap_growth: 1.5 });
    expect(() => serviceSchema.parse({ memory: { heap_growth: 1 } })).toThrow();
    expect(() => serviceSchema.parse({ memory: { heap_growth: 5 } })).toThrow();
    expect(() => serviceSchema.parse({ memory: { heap_limit: 2 } })).toThrow();
  });
});
