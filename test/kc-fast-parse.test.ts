/**
 * The fast path for kc run data (src/kc/fast-parse.ts) outputs exactly what the zod schemas
 * output — same values, same key order — or declines, and zod then names what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kcEventSchema } from '../src/kc/events.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { fastKcEvent, fastKcRunData } from '../src/kc/fast-parse.js';
import { generateKcHistory } from './fixtures/kc/generate-runs.js';

const RUNS_DIR = fileURLToPath(new URL('./fixtures/kc/runs', import.meta.url));

function fixtureEvents(): unknown[] {
  const out: unknown[] = [];
  for (const run of readdirSync(RUNS_DIR)) {
    const text = readFileSync(join(RUNS_DIR, run, 'events.jsonl'), 'utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') out.push(JSON.parse(line));
  }
  return out;
}

const edgeCases: unknown[] = [
  { eventType: 'task_execution', timestamp: 1_700_000_000_000, taskId: 7, success: false, executionTime: 0, error: null, extra: { nested: true } },
  { extra: 1, eventType: 'task_execution', timestamp: '2026-01-01T00:00:00Z', runId: 42, taskId: 'T1', taskTitle: 'Fix it', provider: 'codex', success: true, executionTime: 12.5, retryCount: 2, fallbackCount: 1 },
  { eventType: 'provider_fallback', timestamp: '2026-01-01T00:00:01Z', fromProvider: 'codex', toProvider: 'claude', reason: null },
  { eventType: 'run_completion', timestamp: '2026-01-01T00:00:02Z', providersUsed: ['a', 'b'], tasksFailed: 0 },
  { eventType: 'run_start', timestamp: 1, options: { verbose: true }, platform: 'linux' },
  { eventType: 'task_selection', timestamp: 2, taskId: 'T9' },
  { eventType: 'heartbeat', timestamp: 3, load: 0.5 },
];

const malformed: unknown[] = [
  { eventType: 'task_execution', timestamp: 'yesterday', taskId: 'T1', success: true, executionTime: 1 },
  { eventType: 'task_execution', timestamp: 1, taskId: 'T1', success: 'yes', executionTime: 1 },
  { eventType: 'task_execution', timestamp: 1, taskId: 'T1', success: true, executionTime: -5 },
  { eventType: 'task_execution', timestamp: 1, taskId: '', success: true, executionTime: 1 },
  { eventType: 'task_execution', timestamp: 1, success: true, executionTime: 1 },
  { eventType: 'task_execution', timestamp: 1, taskId: 'T', success: true, executionTime: 1, retryCount: 1.5 },
  { eventType: 'provider_fallback', timestamp: 1, fromProvider: 'a' },
  { eventType: '', timestamp: 1 },
  { timestamp: 1 },
  JSON.parse('{"eventType":"heartbeat","timestamp":1,"__proto__":{"polluted":true}}'),
  'not an object',
];

describe('kc fast parse', () => {
  it('outputs what the zod schema outputs, key order included, for recorded and generated kc events', () => {
    const events = [...fixtureEvents(), ...edgeCases, ...generateKcHistory({ events: 2_000, days: 2 }).flatMap((r) => r.events)];
    expect(events.length).toBeGreaterThan(1_500);
    for (const e of events) {
      const fast = fastKcEvent(e);
      expect(fast, JSON.stringify(e)).toBeDefined();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(kcEventSchema.parse(e)));
    }
  });

  it('declines every event zod rejects, so zod names the wrong field', () => {
    for (const e of malformed) {
      expect(fastKcEvent(e), JSON.stringify(e)).toBeUndefined();
    }
    expect(kcEventSchema.safeParse(malformed[2]).success).toBe(false);
  });

  it('outputs runData as the zod schema does, and declines runData with one bad event', () => {
    const runs = generateKcHistory({ events: 1_000, days: 1 });
    expect(JSON.stringify(fastKcRunData(runs))).toBe(JSON.stringify(kcRunDataSchema.parse(runs)));
    const numericId = [{ runId: 12, events: [], summary: { ok: true }, note: 'x' }];
    expect(JSON.stringify(fastKcRunData(numericId))).toBe(JSON.stringify(kcRunDataSchema.parse(numericId)));
    const bad = [{ runId: 'r', events: [...runs[0]!.events, malformed[1]] }];
    expect(fastKcRunData(bad)).toBeUndefined();
    expect(kcRunDataSchema.safeParse(bad).success).toBe(false);
    expect(fastKcRunData({ runId: 'r' })).toBeUndefined();
  });
});
