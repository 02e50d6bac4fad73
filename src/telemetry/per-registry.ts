/**
 * One set of metrics per prom-client Registry, made at first use: several components on one
 * registry (two pipelines, or tests) share it, since a registry refuses a metric name twice.
 */
import type { Registry } from './prom.js';

export function perRegistry<T>(make: (registry: Registry) => T): (registry: Registry) => T {
  // weak: a registry dropped by its owner (a test, a stopped service) takes its metrics with it
  const made = new WeakMap<Registry, T>();
  return (registry) => {
    let m = made.get(registry);
    if (m === undefined) {
      m = make(registry);
      made.set(registry, m);
    }
    return m;
  };
}
