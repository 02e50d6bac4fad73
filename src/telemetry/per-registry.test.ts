import { describe, expect, it } from 'vitest';
import { Counter, Registry } from './prom.js';
import { perRegistry } from './per-registry.js';

describe('perRegistry', () => {
  const counter = perRegistry((registry) => new Counter({ name: 'sidelight_test_total', help: 'test', registers: [registry] }));

  it('makes the metrics once per registry and shares them', async () => {
    const registry = new Registry();
    counter(registry).inc();
    counter(registry).inc(2);
    expect(counter(registry)).toBe(counter(registry));
    expect((await registry.getSingleMetricAsString('sidelight_test_total')).split('\n')).toContain('sidelight_test_total 3');
  });

  it('keeps registries apart', async () => {
    const a = new Registry();
    const b = new Registry();
    counter(a).inc();
    expect(counter(a)).not.toBe(counter(b));
    expect((await b.getSingleMetricAsString('sidelight_test_total')).split('\n')).toContain('sidelight_test_total 0');
  });
});
