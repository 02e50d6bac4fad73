/**
 * Provider fallbacks of a trace (docs/painpoints.md provider_fallback), per "task": one logical unit of work
 * that could fall back from one provider to another.
 *
 * - A span carrying `provider_fallback` events (kc mapping: attributes from / to / reason) is a
 *   task with those fallbacks; retry chains directly under it are its attempts, not tasks of their own.
 * - Any other retry chain is a task; each provider change between its attempts is a fallback.
 * - Any other span with a provider, not an attempt of a chain, is a task without fallback.
 * The providers a task tried are its attempts' providers and the fallbacks' from / to.
 */
import type { AttrValue } from '../model/span.js';
import type { Trace, TraceNode } from '../model/trace.js';
import { FALLBACK_EVENT, type RetryChain, type ProviderChange } from './retry-chains.js';
import { walkTrace } from './trace-assembler.js';

export interface FallbackTask {
  readonly traceId: string;
  readonly runId: string;
  /** the span of the task: the span with the events, or the chain's first attempt */
  readonly spanId: string;
  readonly service: string;
  /** span name of the task */
  readonly operation: string;
  /** providers tried, in order of first use, each once */
  readonly providers: readonly string[];
  readonly fallbacks: readonly ProviderChange[];
  /** event time the task is counted at: the span's (or chain's) end */
  readonly endMs: number;
}

function text(v: AttrValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The fallbacks recorded as span events on a span (kc: from / to / reason; camelCase variants accepted). */
export function fallbackEvents(node: TraceNode): ProviderChange[] {
  const out: ProviderChange[] = [];
  for (const e of node.span.events) {
    if (e.name !== FALLBACK_EVENT) continue;
    const from = text(e.attributes['from']) ?? text(e.attributes['fromProvider']);
    const to = text(e.attributes['to']) ?? text(e.attributes['toProvider']);
    if (from === undefined || to === undefined) continue;
    const reason = text(e.attributes['reason']);
    out.push(reason === undefined ? { from, to } : { from, to, reason });
  }
  return out;
}

function addUnique(list: string[], value: string | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

/** The tasks of a trace with their fallbacks, given the trace's retry chains (findRetryChains). */
export function fallbackTasks(trace: Trace, chains: readonly RetryChain[]): FallbackTask[] {
  const chainsByParent = new Map<string, RetryChain[]>();
  const attemptIds = new Set<string>();
  for (const c of chains) {
    if (c.source === 'counted') continue; // its span is the task itself, handled as a span below
    for (const a of c.spans) attemptIds.add(a.span.spanId);
    const key = c.parentSpanId ?? '';
    let list = chainsByParent.get(key);
    if (list === undefined) chainsByParent.set(key, (list = []));
    list.push(c);
  }

  const tasks: FallbackTask[] = [];
  const covered = new Set<RetryChain>();
  for (const { node } of walkTrace(trace)) {
    const span = node.span;
    const events = fallbackEvents(node);
    if (events.length > 0) {
      const providers: string[] = [];
      for (const f of events) {
        addUnique(providers, f.from);
        addUnique(providers, f.to);
      }
      addUnique(providers, span.provider);
      for (const c of chainsByParent.get(span.spanId) ?? []) {
        covered.add(c);
        for (const a of c.spans) addUnique(providers, a.provider);
      }
      tasks.push({ traceId: trace.traceId, runId: span.runId, spanId: span.spanId, service: span.service, operation: span.name, providers, fallbacks: events, endMs: span.endMs });
      continue;
    }
    if (span.provider !== undefined && !attemptIds.has(span.spanId)) {
      tasks.push({
        traceId: trace.traceId,
        runId: span.runId,
        spanId: span.spanId,
        service: span.service,
        operation: span.name,
        providers: [span.provider],
        fallbacks: [],
        endMs: span.endMs,
      });
    }
  }
  for (const c of chains) {
    if (c.source === 'counted' || covered.has(c)) continue;
    const providers: string[] = [];
    for (const a of c.spans) addUnique(providers, a.provider);
    if (providers.length === 0) continue; // no provider: nothing to fall back from
    const first = c.spans[0]?.span;
    if (first === undefined) continue;
    tasks.push({
      traceId: c.traceId,
      runId: c.runId,
      spanId: first.spanId,
      service: first.service,
      operation: first.name,
      providers,
      fallbacks: c.providerChanges,
      endMs: c.endMs,
    });
  }
  return tasks;
}
