/**
 * `service.memory.heap_growth` for the sidecar process (docs/configuration.md, Memory). V8 lets a
 * busy heap grow to 4× what is in use before a full collection; the sidecar holds its spans for
 * seconds (queue, trace assembler), so nearly all of its garbage reaches the old generation, and
 * resident memory would be about 3× the memory in use. The factor is read at every full collection,
 * so setting it once at start takes effect from the next one. Only `sidelight run` applies it: a
 * library never changes its host's garbage collector.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag for a growth factor (1.5 → 50 %). */
export function heapGrowthFlag(factor: number): string {
  return `--heap-growing-percent=${Math.round((factor - 1) * 100)}`;
}

export function applyHeapGrowth(factor: number, set: (flag: string) => void = setFlagsFromString): void {
  set(heapGrowthFlag(factor));
}
