/**
 * `service.memory` for the sidecar process (docs/configuration.md, Memory). The sidecar holds each
 * span for seconds (ingest queue, trace assembler), so nearly all of its garbage reaches V8's old
 * generation, where two defaults tuned for short-lived pages keep resident memory at two to three
 * times what is in use: a busy heap may grow to 4× the live objects before a full collection, and
 * a page is compacted only once 70 % of it is free, so pages holding a few long-lived objects among
 * the dead stay committed. Measured on the sidecar bench: resident memory then creeps past 450 MiB
 * with 130 MiB in use; with both settings below it stays near 300 MiB.
 *
 * Both are V8 flags read at every full collection, so setting them once at start takes effect from
 * the next one. Only `sidelight run` applies them: a library never changes its host's collector.
 */
import { setFlagsFromString } from 'node:v8';
import type { MemorySettings } from '../config/service-schema.js';

/** The V8 flags for `service.memory`. */
export function heapFlags(memory: MemorySettings): string[] {
  // heap growth factor 1.5 → 50 %
  const flags = [`--heap-growing-percent=${Math.round((memory.heap_growth - 1) * 100)}`];
  // V8's memory-saving mode: compaction from 20 % free space per page (and a conservative heap growth, which the flag above overrides)
  if (memory.compact_heap) flags.push('--optimize-for-size');
  return flags;
}

export function applyHeapSettings(memory: MemorySettings, set: (flag: string) => void = setFlagsFromString): void {
  for (const flag of heapFlags(memory)) set(flag);
}
