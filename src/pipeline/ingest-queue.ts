/**
 * The bounded queue between receivers and the pipeline (docs/architecture.md, Bad input and overload): receivers answer at once, the
 * pipeline drains in slices so one large request cannot starve the event loop. When full, push
 * refuses the whole batch (the receiver answers 503 / UNAVAILABLE with Retry-After) and counts it.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { SpanSink } from '../component/contracts.js';
import { perRegistry } from '../telemetry/per-registry.js';

/** spans processed per event-loop turn before yielding to I/O */
const SLICE = 2_000;

interface QueueMetrics {
  readonly depth: Gauge<'pipeline'>;
  readonly refused: Counter<'pipeline'>;
}
const queueMetrics = perRegistry((registry): QueueMetrics => ({
  depth: new Gauge({ name: 'sidelight_queue_depth_spans', help: 'Spans waiting between receivers and the pipeline', labelNames: ['pipeline'], registers: [registry] }),
  refused: new Counter({ name: 'sidelight_queue_refused_spans_total', help: 'Spans refused because the queue was full', labelNames: ['pipeline'], registers: [registry] }),
}));

export class IngestQueue implements SpanSink {
  private readonly batches: (readonly SpanRecord[])[] = [];
  private offset = 0;
  private size = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly metrics: QueueMetrics;
  refused = 0;

  constructor(
    private readonly capacity: number,
    private readonly deliver: (span: SpanRecord) => void,
    registry: Registry,
    private readonly name = 'traces',
  ) {
    this.metrics = queueMetrics(registry);
  }

  get depth(): number {
    return this.size;
  }

  canAccept(count: number): boolean {
    return this.size + count <= this.capacity;
  }

  /** Counts a batch refused because this or a sibling pipeline's queue was full. */
  refuse(count: number): void {
    this.refused += count;
    this.metrics.refused.inc({ pipeline: this.name }, count);
  }

  push(spans: readonly SpanRecord[]): boolean {
    if (spans.length === 0) return true;
    if (!this.canAccept(spans.length)) {
      this.refuse(spans.length);
      return false;
    }
    this.batches.push(spans);
    this.size += spans.length;
    this.metrics.depth.set({ pipeline: this.name }, this.size);
    this.schedule();
    return true;
  }

  /** Resolves once everything queued so far has been delivered. */
  drained(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drainSlice());
  }

  private drainSlice(): void {
    this.scheduled = false;
    let budget = SLICE;
    while (budget > 0 && this.batches.length > 0) {
      const batch = this.batches[0] as readonly SpanRecord[];
      while (budget > 0 && this.offset < batch.length) {
        this.deliver(batch[this.offset] as SpanRecord);
        this.offset++;
        this.size--;
        budget--;
      }
      if (this.offset >= batch.length) {
        this.batches.shift();
        this.offset = 0;
      }
    }
    this.metrics.depth.set({ pipeline: this.name }, this.size);
    if (this.size > 0) this.schedule();
    else {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
