/**
 * prom-client's metric classes (Counter, Gauge, Registry) for the analysis engine, without the rest
 * of the package.
 *
 * prom-client's index loads every metric type, the push gateway (node:http, node:https), cluster
 * aggregation, the default process metrics and @opentelemetry/api for exemplars; that was about a
 * third of `import('sidelight')` (bench/native.bench.ts), on the path of a kc process's first call,
 * for an offline analysis that never serves /metrics. These are the very classes the package
 * exports (its index requires the same files), so metrics made here and there share registries
 * and `instanceof`. prom-client has no `exports` map and is pinned exactly: its lib/ layout is what
 * this reads. The sidecar, which serves /metrics, imports `prom-client` itself.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
