import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { ComponentRegistry } from '../component/contracts.js';
import { ConfigError, parseConfigObject } from './load.js';
import { loadConfigFile } from './load-file.js';
import { substituteEnv } from './env-substitution.js';
import { zDuration } from '../config/duration.js';

// A registry of small test components, so these tests pin the loader's rules, not any component's.
const receiverSchema = z.strictObject({ endpoint: z.string().default('127.0.0.1:4318') });
const detectorSchema = z.strictObject({ min_samples: z.number().int().default(20), window: zDuration.prefault('5m') });
const exporterSchema = z.strictObject({ path: z.string().default('./out.jsonl') });
const registry: ComponentRegistry = {
  receivers: new Map([['otlp', { type: 'otlp', configSchema: receiverSchema, create: () => ({ start: async () => [], shutdown: async () => {} }) }]]),
  processors: new Map([
    ['failure_rate', { type: 'failure_rate', stage: 'detector' as const, configSchema: detectorSchema, create: () => [] }],
    ['recommend', { type: 'recommend', stage: 'recommend' as const, configSchema: z.strictObject({}), create: () => (s: never) => s }],
  ]) as unknown as ComponentRegistry['processors'],
  exporters: new Map([['jsonl', { type: 'jsonl', configSchema: exporterSchema, create: () => ({ export() {}, shutdown: async () => {} }) }]]),
};
const defaults = { receivers: { otlp: {} }, processors: { recommend: {}, failure_rate: {} }, exporters: { jsonl: {} }, service: {} };

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('uses the built-in defaults when no file is given, with a default pipeline connecting everything', () => {
    const config = parseConfigObject(undefined, registry, defaults);
    expect([...config.receivers.keys()]).toEqual(['otlp']);
    expect(config.receivers.get('otlp')!.config).toEqual({ endpoint: '127.0.0.1:4318' });
    expect(config.pipelines).toEqual({ traces: { receivers: ['otlp'], processors: ['failure_rate', 'recommend'], exporters: ['jsonl'] } });
    expect(config.service.windows.slide).toBe(10_000);
    expect(config.service.painpoints.resolve_after).toBe(120_000);
  });

  it('replaces a section given in the file and keeps the sections left out', () => {
    const config = parseConfigObject({ exporters: { 'jsonl/mine': { path: './x.jsonl' } } }, registry, defaults);
    expect([...config.exporters.keys()]).toEqual(['jsonl/mine']);
    expect(config.exporters.get('jsonl/mine')!.config).toEqual({ path: './x.jsonl' });
    expect([...config.processors.keys()]).toEqual(['recommend', 'failure_rate']);
  });

  it('treats a component with no value as its defaults, as the Collector does', () => {
    const config = parseConfigObject({ processors: { failure_rate: null } }, registry, defaults);
    expect(config.processors.get('failure_rate')!.config).toEqual({ min_samples: 20, window: 300_000 });
  });

  it('names the path of a wrong value', () => {
    expect(issuesOf(() => parseConfigObject({ processors: { failure_rate: { min_samples: 'many' } } }, registry, defaults))).toEqual([
      'processors.failure_rate.min_samples: expected number, received string',
    ]);
  });

  it('rejects unknown keys with their path, at every level', () => {
    const issues = issuesOf(() =>
      parseConfigObject({ receiverz: {}, processors: { failure_rate: { min_sample: 3 } }, service: { windows: { slid: '5s' } } }, registry, defaults),
    );
    expect(issues).toContain('receiverz: unknown key (expected one of receivers, processors, exporters, service)');
    expect(issues).toContain('processors.failure_rate.min_sample: unknown key');
    expect(issues).toContain('service.windows.slid: unknown key');
  });

  it('rejects unknown component types and pipelines naming unconfigured components', () => {
    const issues = issuesOf(() =>
      parseConfigObject(
        { exporters: { kafka: {}, jsonl: {} }, service: { pipelines: { traces: { receivers: ['otlp'], exporters: ['jsonl/other'] } } } },
        registry,
        defaults,
      ),
    );
    expect(issues).toEqual([
      'exporters.kafka: unknown exporter type "kafka" (known: jsonl)',
      'service.pipelines.traces.exporters[0]: "jsonl/other" is not configured under exporters',
    ]);
  });

  it('parses durations and reports a bad one with its path', () => {
    expect(parseConfigObject({ processors: { failure_rate: { window: '15m' } } }, registry, defaults).processors.get('failure_rate')!.config).toEqual({
      min_samples: 20,
      window: 900_000,
    });
    expect(issuesOf(() => parseConfigObject({ service: { windows: { slide: 'ten seconds' } } }, registry, defaults))[0]).toMatch(
      /^service\.windows\.slide: expected a duration/,
    );
  });
});

describe('env substitution', () => {
  const env = { PORT: '14318', HOST: '127.0.0.1', EMPTY: '' };

  it('substitutes ${env:VAR} inside strings and ${env:VAR:-default} when unset or empty', () => {
    expect(substituteEnv({ a: 'http://${env:HOST}:${env:PORT}/v1', b: '${env:MISSING:-fallback}', c: '${env:EMPTY:-x}' }, env)).toEqual({
      a: 'http://127.0.0.1:14318/v1',
      b: 'fallback',
      c: 'x',
    });
  });

  it('reads a value that is exactly one reference as a YAML scalar, so numbers stay numbers', () => {
    expect(substituteEnv({ n: '${env:PORT}', s: 'port ${env:PORT}' }, env)).toEqual({ n: 14318, s: 'port 14318' });
  });

  it('loads a file with env references end to end, and names the file when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-config-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'processors:\n  failure_rate:\n    min_samples: ${env:MIN:-7}\n');
    expect(loadConfigFile(file, registry, defaults, {}).processors.get('failure_rate')!.config).toEqual({ min_samples: 7, window: 300_000 });
    expect(loadConfigFile(file, registry, defaults, { MIN: '30' }).processors.get('failure_rate')!.config).toEqual({ min_samples: 30, window: 300_000 });
    expect(issuesOf(() => loadConfigFile(join(dir, 'nope.yaml'), registry, defaults))).toEqual([`${join(dir, 'nope.yaml')}: cannot read config file (no such file)`]);
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'receivers:\n  otlp: {protocols: [\n');
    expect(issuesOf(() => loadConfigFile(file, registry, defaults))[0]).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  });
});
