/**
 * /metrics for problems (docs/outputs.md, Metrics and health): open problems by severity, fed from
 * the problem changes the pipelines emit, and problem changes by state. The open set is capped
 * (a problem needs an open root pain point, so `max_active` pain points per pipeline bound it);
 * a problem beyond the cap is not counted in the gauge, and counted as dropped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { isProblemChange, type OutputChange } from '../model/events.js';
import type { Severity } from '../model/painpoint.js';

interface Metrics {
  readonly open: Gauge<'severity'>;
  readonly changes: Counter<'state'>;
  readonly dropped: Counter;
}

function metricsOf(registry: Registry): Metrics {
  const existing = registry.getSingleMetric('sidelight_problems_open') as Gauge<'severity'> | undefined;
  if (existing) {
    return {
      open: existing,
      changes: registry.getSingleMetric('sidelight_problem_changes_total') as Counter<'state'>,
      dropped: registry.getSingleMetric('sidelight_problems_untracked_total') as Counter,
    };
  }
  const open = new Gauge({ name: 'sidelight_problems_open', help: 'Open problems (one per cause) by severity', labelNames: ['severity'], registers: [registry] });
  for (const s of ['high', 'medium', 'low'] as const) open.set({ severity: s }, 0);
  return {
    open,
    changes: new Counter({ name: 'sidelight_problem_changes_total', help: 'Problem state changes emitted', labelNames: ['state'], registers: [registry] }),
    dropped: new Counter({ name: 'sidelight_problems_untracked_total', help: 'Open problems left out of sidelight_problems_open because its cap was reached', registers: [registry] }),
  };
}

export class OpenProblems {
  /** pipeline + problem id → severity of the open (or updated) problem */
  private readonly open = new Map<string, Severity>();
  private readonly counts: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  private readonly metrics: Metrics;

  constructor(
    registry: Registry,
    private readonly cap: number,
  ) {
    this.metrics = metricsOf(registry);
  }

  get size(): number {
    return this.open.size;
  }

  /** Takes every change a pipeline emits; pain-point changes are ignored. */
  observe(pipeline: string, change: OutputChange): void {
    if (!isProblemChange(change)) return;
    const p = change.problem;
    this.metrics.changes.inc({ state: p.state });
    const key = `${pipeline}\u0000${p.id}`;
    const before = this.open.get(key);
    if (before !== undefined) {
      this.counts[before]--;
      this.open.delete(key);
    }
    if (p.state === 'open' || p.state === 'updated') {
      if (this.open.size >= this.cap) this.metrics.dropped.inc();
      else {
        this.open.set(key, p.severity);
        this.counts[p.severity]++;
      }
    }
    for (const s of ['high', 'medium', 'low'] as const) this.metrics.open.set({ severity: s }, this.counts[s]);
  }
}
