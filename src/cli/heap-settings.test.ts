import { describe, expect, it } from 'vitest';
import { serviceSchema } from '../config/service-schema.js';
import { applyHeapSettings, heapFlags } from './heap-settings.js';

describe('service.memory', () => {
  it('becomes V8 flags: heap_growth 1.5 → heap growing percent 50, compact_heap → the memory-saving mode', () => {
    expect(heapFlags({ heap_growth: 1.5, compact_heap: true })).toEqual(['--heap-growing-percent=50', '--optimize-for-size']);
    expect(heapFlags({ heap_growth: 1.1, compact_heap: false })).toEqual(['--heap-growing-percent=10']);
    expect(heapFlags({ heap_growth: 4, compact_heap: false })).toEqual(['--heap-growing-percent=300']);
  });

  it('applies every flag', () => {
    const flags: string[] = [];
    applyHeapSettings({ heap_growth: 1.25, compact_heap: true }, (f) => flags.push(f));
    expect(flags).toEqual(['--heap-growing-percent=25', '--optimize-for-size']);
  });

  it('defaults to heap_growth 1.5 with compaction, and accepts a growth of 1.1 to 4 only', () => {
    expect(serviceSchema.parse({}).memory).toEqual({ heap_growth: 1.5, compact_heap: true });
    expect(() => serviceSchema.parse({ memory: { heap_growth: 1 } })).toThrow();
    expect(() => serviceSchema.parse({ memory: { heap_growth: 5 } })).toThrow();
    expect(() => serviceSchema.parse({ memory: { heap_limit: 2 } })).toThrow();
  });
});
