import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exporterFactories } from '../exporters/index.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'exporters', 'testdata');
const load = (file: string) => parse(fs.readFileSync(path.join(testdata, file), 'utf8')) as Record<string, unknown>;
const factory = (type: string) => exporterFactories.find((f) => f.type === type);

describe('exporter configs', () => {
  it('parses every setting of every exporter from testdata/config.yaml, durations in ms', () => {
    const config = load('config.yaml');
    const parsed = Object.fromEntries(Object.entries(config).map(([type, c]) => [type, factory(type)?.configSchema.parse(c)]));
    expect(parsed.otlp_traces).toMatchObject({
      timeout: 5_000,
      retry_on_failure: { enabled: true, initial_interval: 500, max_interval: 10_000, max_elapsed_time: 120_000, multiplier: 2, randomization_factor: 0.2 },
      spool_fsync: false,
      spool_commit_interval: 5,
      shutdown_timeout: 3_000,
      resource: { 'deployment.environment.name': 'staging' },
      emit: 'problems',
    });
    expect(parsed.jsonl).toMatchObject({ problems_path: './sidelight-out/problems.jsonl', emit: 'painpoints' });
    expect(parsed.stdout).toMatchObject({ format: 'json', emit: 'both' });
    expect(parsed.otlp_logs).toMatchObject({ protocol: 'http/json', queue_size: 1_000, shutdown_timeout: 5_000, emit: 'problems' });
    expect(parsed.webhook).toMatchObject({ min_severity: 'medium', states: ['open', 'resolved', 'merged'], max_batch_size: 10, timeout: 10_000, emit: 'problems' });
    expect(parsed.sqlite).toEqual({ path: './sidelight-data/sidelight.db', max_history_rows: 50_000, queue_size: 2_000, emit: 'problems' });
  });

  it('defaults emit to problems for the alerting outputs and to both for the record outputs', () => {
    const defaults = Object.fromEntries(exporterFactories.map((f) => [f.type, (f.configSchema.parse(f.type === 'webhook' ? { url: 'http://127.0.0.1:9/' } : {}) as { emit: string }).emit]));
    expect(defaults).toEqual({ jsonl: 'both', sqlite: 'both', stdout: 'problems', webhook: 'problems', otlp_traces: 'problems', otlp_logs: 'problems' });
    const bad = factory('stdout')?.configSchema.safeParse({ emit: 'alerts' });
    expect(bad?.error?.issues[0]?.path).toEqual(['emit']);
  });

  it('names the path of a misspelt key (testdata/bad-typo.yaml)', () => {
    const result = factory('otlp_traces')?.configSchema.safeParse(load('bad-typo.yaml').otlp_traces);
    expect(result?.success).toBe(false);
    const issue = result?.error?.issues[0];
    expect(issue?.path).toEqual(['retry_on_failure']);
    expect(issue?.message).toContain('initial_intervall');
  });

  it('rejects an invalid value in each exporter (testdata/bad-values.yaml)', () => {
    const bad = load('bad-values.yaml');
    const failedPaths = Object.entries(bad).map(([type, c]) => [type, factory(type)?.configSchema.safeParse(c).error?.issues[0]?.path]);
    expect(failedPaths).toEqual([
      ['otlp_logs', ['protocol']],
      ['webhook', ['url']],
      ['stdout', ['format']],
      ['sqlite', ['max_history_rows']],
      ['jsonl', ['include_recommendations']],
    ]);
  });
});
