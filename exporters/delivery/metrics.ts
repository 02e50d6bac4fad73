/** Exporter metrics, created once per registry and shared by every exporter of a Sidelight instance. */
import { Counter, Gauge, type Registry } from 'prom-client';

export type DropReason = 'queue_full' | 'spool_full' | 'rejected' | 'retries_exhausted' | 'shutdown' | 'closed' | 'write_error' | 'buffer_full';

export interface ExporterMetrics {
  queueDepth: Gauge<'exporter'>;
  spoolItems: Gauge<'exporter'>;
  spoolBytes: Gauge<'exporter'>;
  sent: Counter<'exporter'>;
  dropped: Counter<'exporter' | 'reason'>;
  retries: Counter<'exporter'>;
  spooled: Counter<'exporter'>;
  spoolCorrupt: Counter<'exporter'>;
  errors: Counter<'exporter'>;
  pruned: Counter<'exporter'>;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'exporter'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'exporter'>;
  return new Gauge({ name, help, labelNames: ['exporter'], registers: [registry] });
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function exporterMetrics(registry: Registry): ExporterMetrics {
  return {
    queueDepth: gauge(registry, 'sidelight_exporter_queue_depth', 'Changes waiting in the memory of an exporter (without a write-ahead log: its queue; with one: the decoded ones).'),
    spoolItems: gauge(registry, 'sidelight_exporter_spool_items', 'Changes in the write-ahead log of an exporter, not yet acknowledged by the backend.'),
    spoolBytes: gauge(registry, 'sidelight_exporter_spool_bytes', 'Bytes of the changes in the write-ahead log of an exporter, not yet acknowledged.'),
    sent: counter(registry, 'sidelight_exporter_sent_total', 'Pain-point changes an exporter delivered.', ['exporter']),
    dropped: counter(registry, 'sidelight_exporter_dropped_total', 'Pain-point changes an exporter dropped, by reason.', ['exporter', 'reason']),
    retries: counter(registry, 'sidelight_exporter_retries_total', 'Failed send attempts that were retried.', ['exporter']),
    spooled: counter(registry, 'sidelight_exporter_spooled_total', 'Changes committed to the write-ahead log of an exporter.', ['exporter']),
    spoolCorrupt: counter(
      registry,
      'sidelight_exporter_spool_corrupt_total',
      'Torn or damaged parts of a write-ahead log skipped (each also logged with the file and position).',
      ['exporter'],
    ),
    errors: counter(registry, 'sidelight_exporter_errors_total', 'Errors an exporter caught (write, send, storage).', ['exporter']),
    pruned: counter(registry, 'sidelight_exporter_pruned_total', 'Oldest history rows a store exporter deleted to stay under its cap.', ['exporter']),
  };
}
