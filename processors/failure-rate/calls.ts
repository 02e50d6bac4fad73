/**
 * Which spans are calls and which are further attempts of a call (docs/painpoints.md, A retried
 * call counts once). The attempts of one call are not independent trials: a page that answered
 * 503 mostly answers 503 again, so 8 failed attempts of 3 calls are 3 failures, not 8, and the
 * Wilson bound is taken over calls. A span is another attempt of an earlier call when it says so
 * (an attempt number ≥ 2) or when it is a structural retry (docs/input.md): the previous sibling
 * under the same parent with the same operation key failed, and this one starts after it ended
 * (with the same tool-call id, when both carry one), with no model call of another operation run
 * between them (the turn moved on: src/traces/retry-chains.ts).
 */
import { Counter, type Registry } from '../../src/telemetry/prom.js';
import type { SpanRecord } from '../../src/model/span.js';
import { isModelCall } from '../../src/model/cost.js';
import { movedOn } from '../../src/traces/retry-chains.js';
import { perRegistry } from '../../src/telemetry/per-registry.js';
import { RecencyMap } from '../../src/model/recency-map.js';

/** How one span counts: a call of its own (and whether it failed), or another attempt of one. */
export interface CallCount {
  /** 1 when the span is a call of its own, 0 when it is another attempt of an earlier call */
  readonly calls: 0 | 1;
  /** 1 when the span is a call of its own that failed */
  readonly failures: 0 | 1;
}

export const FIRST_ATTEMPT_OK: CallCount = { calls: 1, failures: 0 };
export const FIRST_ATTEMPT_FAILED: CallCount = { calls: 1, failures: 1 };
export const LATER_ATTEMPT: CallCount = { calls: 0, failures: 0 };

/** Every span a call of its own (no retry is recognised): what a test or a bare aggregator uses. */
export const everySpanACall = (span: SpanRecord): CallCount => (span.failed ? FIRST_ATTEMPT_FAILED : FIRST_ATTEMPT_OK);

/** What is kept of a span to compare the next with (not the span: its attributes would stay held). */
type Kept = { -readonly [K in 'failed' | 'attempt' | 'operationKey' | 'startMs' | 'endMs' | 'toolCallId']: SpanRecord[K] };
const keep = (s: SpanRecord): Kept => ({ failed: s.failed, attempt: s.attempt, operationKey: s.operationKey, startMs: s.startMs, endMs: s.endMs, toolCallId: s.toolCallId });
/** Overwrites what is kept of a key with a newer span: no object per span once the key is known. */
function keepOver(k: Kept, s: SpanRecord): Kept {
  k.failed = s.failed;
  k.attempt = s.attempt;
  k.operationKey = s.operationKey;
  k.startMs = s.startMs;
  k.endMs = s.endMs;
  k.toolCallId = s.toolCallId;
  return k;
}

const evictions = perRegistry((registry): Counter => new Counter({
  name: 'sidelight_failure_rate_calls_forgotten_total',
  help: 'Sibling groups failure_rate forgot past processors.failure_rate.max_tracked_calls (a retry of one counts as a call of its own)',
  registers: [registry],
}));

/**
 * The last span seen per (trace, parent, operation key), at most `max` of them (the oldest
 * forgotten first, counted): enough to tell a retry from a new call as spans arrive.
 */
export class CallTracker {
  // RecencyMaps: at the cap every new key evicts, and a Map evicted from its front slows down as it lives
  private readonly last = new RecencyMap<Kept>();
  /** the latest-ending model call per (trace, parent): a turn between a failure and its would-be retry */
  private readonly turns = new RecencyMap<Kept>();
  private readonly forgotten: Counter | undefined;
  private lastSpan: SpanRecord | undefined;
  private lastCount: CallCount = FIRST_ATTEMPT_OK;

  constructor(
    private readonly max: number,
    registry?: Registry,
  ) {
    this.forgotten = registry ? evictions(registry) : undefined;
  }

  /** How `span` counts; asked once per series the span is in, so the last answer is kept for the same span. */
  count(span: SpanRecord): CallCount {
    if (span === this.lastSpan) return this.lastCount;
    this.lastSpan = span;
    this.lastCount = this.classify(span);
    return this.lastCount;
  }

  get size(): number {
    return this.last.size;
  }

  private classify(span: SpanRecord): CallCount {
    const own = span.failed ? FIRST_ATTEMPT_FAILED : FIRST_ATTEMPT_OK;
    if (span.attempt !== undefined) return span.attempt >= 2 ? LATER_ATTEMPT : own;
    if (span.parentSpanId === undefined) return own;
    const parent = `${span.traceId}\u0000${span.parentSpanId}`;
    const key = `${parent}\u0000${span.operationKey}`;
    const prev = this.last.get(key);
    const turn = this.turns.get(parent);
    const retry =
      prev !== undefined &&
      prev.failed &&
      span.startMs >= prev.endMs &&
      (prev.toolCallId === undefined || span.toolCallId === undefined || prev.toolCallId === span.toolCallId) &&
      (turn === undefined || !movedOn([turn], prev, span));
    // the latest sibling is what the next one is compared with (a span arriving late, ending before it, is not)
    if (prev === undefined || span.endMs >= prev.endMs) this.remember(this.last, key, prev === undefined ? keep(span) : keepOver(prev, span));
    if (isModelCall(span) && (turn === undefined || span.endMs >= turn.endMs)) this.remember(this.turns, parent, turn === undefined ? keep(span) : keepOver(turn, span));
    return retry ? LATER_ATTEMPT : own;
  }

  /** Sets a key as the newest, forgetting (and counting) the oldest past the cap. */
  private remember<V>(map: RecencyMap<V>, key: string, value: V): void {
    map.set(key, value);
    if (map.size > this.max) {
      map.evictOldest();
      this.forgotten?.inc();
    }
  }
}
