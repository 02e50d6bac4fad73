/** Sidelight's own counters for the OTLP receivers (docs/outputs.md), registered once per Prometheus registry. */
import { Counter, type Registry } from 'prom-client';

export interface ReceiverMetrics {
  /** every answered request, by transport (http / grpc), path and status (HTTP code or gRPC code name) */
  readonly requests: Counter<'transport' | 'path' | 'status'>;
  readonly spansReceived: Counter;
  readonly spansRejected: Counter;
  /** bytes as received on the wire, before any decompression */
  readonly bytesReceived: Counter;
  /** spans refused because the ingest queue was full (answered 503 / UNAVAILABLE) */
  readonly spansRefused: Counter;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  // several receivers share one registry (and tests build many): reuse a metric that exists
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function receiverMetrics(registry: Registry): ReceiverMetrics {
  return {
    requests: counter(registry, 'sidelight_receiver_requests_total', 'OTLP export requests answered, by transport, path and status', [
      'transport',
      'path',
      'status',
    ]),
    spansReceived: counter(registry, 'sidelight_receiver_spans_received_total', 'Valid spans decoded from OTLP export requests'),
    spansRejected: counter(registry, 'sidelight_receiver_spans_rejected_total', 'Spans rejected as invalid (bad ids, missing times)'),
    bytesReceived: counter(registry, 'sidelight_receiver_bytes_received_total', 'Request body bytes received on the wire, before decompression'),
    spansRefused: counter(registry, 'sidelight_receiver_refused_spans_total', 'Valid spans refused because the ingest queue was full'),
  };
}
