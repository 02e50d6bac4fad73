/**
 * The evidence model against what the detectors really write: every default detector runs over
 * realistic workloads (OTLP traces made with the OpenTelemetry SDK, generated kc runs), and every pain
 * point they emit must have metrics its kind's schema accepts (strictly: no field the schema does
 * not name, none it requires missing). Between them the workloads make every kind fire.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSpans } from '../src/library/analyze-spans.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { parseKcEventLine } from '../src/kc/run-files.js';
import { PAIN_POINT_KINDS, type PainPointKind } from '../src/model/painpoint.js';
import type { SpanRecord } from '../src/model/span.js';
import { evidenceMetricsSchema } from '../src/model/evidence/index.js';
import { EVERY_KIND_WORKLOADS } from './support/every-kind-workloads.js';
import { AGENT_CONFIG, denseAgentSpans } from './support/agent-signals-workload.js';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';

interface Checked {
  readonly kinds: ReadonlySet<PainPointKind>;
  /** "kind id: what the schema rejected", one per emitted change whose metrics do not parse */
  readonly invalid: readonly string[];
}

async function check(spans: readonly SpanRecord[], config?: Record<string, unknown>): Promise<Checked> {
  const { changes } = await analyzeSpans(spans, config ? { config } : {});
  const kinds = new Set<PainPointKind>();
  const invalid: string[] = [];
  for (const { painpoint: pp } of changes) {
    kinds.add(pp.kind);
    const result = evidenceMetricsSchema(pp.kind).safeParse(pp.evidence.metrics);
    if (!result.success) invalid.push(`${pp.kind} ${pp.id}: ${result.error.message}`);
  }
  return { kinds, invalid };
}

function generatedKcSpans(): SpanRecord[] {
  const runs = generateKcRuns({ runs: 8, tasksPerRun: 30, timeScale: 0.05 });
  return runs.flatMap((r) => kcRunToSpans(r.events.map((e, i) => parseKcEventLine(JSON.stringify(e), i + 1)), { runId: r.runId }));
}

describe('evidence metrics as the detectors write them', () => {
  const results = new Map<string, Checked>();
  const workloads: [string, () => SpanRecord[], Record<string, unknown>?][] = [
    ...Object.entries(EVERY_KIND_WORKLOADS),
    ['generated kc runs', generatedKcSpans],
    // the agent kinds, budgets and prices configured
    ['agent signals', denseAgentSpans, AGENT_CONFIG],
  ];

  // Analyzed once up front, so each test below (and the coverage check) holds however tests are filtered.
  beforeAll(async () => {
    for (const [name, make, config] of workloads) results.set(name, await check(make(), config));
  }, 180_000);

  it.each(workloads.map(([name]) => name))('match their kind schema on the %s workload', (name) => {
    const checked = results.get(name);
    expect(checked?.kinds.size).toBeGreaterThan(0);
    expect(checked?.invalid).toEqual([]);
  });

  it('are checked for every kind: the workloads between them make each kind fire', () => {
    const seen = new Set([...results.values()].flatMap((r) => [...r.kinds]));
    expect([...seen].sort()).toEqual([...PAIN_POINT_KINDS].sort());
    expect(results.get('generated kc runs')?.kinds).toContain('provider_fallback');
  });
});
