/**
 * `sidelight validate` and the CLI's usage errors, as a real process: what reaches stdout and
 * stderr, and the exit code (0 OK, 1 invalid config, 2 usage error). Never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Outcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sidelight …` from the project root (tsx, so no build is needed), with no SIDELIGHT-relevant env. */
function sidelight(args: readonly string[], env: Readonly<Record<string, string>> = {}): Outcome {
  const p = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

function expectNoStackTrace(o: Outcome): void {
  expect(o.stderr).not.toMatch(/^ {4}at /m);
  expect(o.stdout).not.toMatch(/^ {4}at /m);
}

describe('sidelight validate', () => {
  it('prints OK and exits 0 for config/sidelight.yaml', () => {
    expect(sidelight(['validate', '--config', 'config/sidelight.yaml'])).toEqual({ status: 0, stdout: 'OK\n', stderr: '' });
  });

  it.each(['jaeger.yaml', 'tempo.yaml', 'collector.yaml', 'kc-runs.yaml', 'pricing.yaml'])('prints OK and exits 0 for config/examples/%s', (name) => {
    expect(sidelight(['validate', '-c', `config/examples/${name}`])).toEqual({ status: 0, stdout: 'OK\n', stderr: '' });
  });

  it.each([
    ['typo-key.yaml', ['sidelight: processors.failure_rate.min_sample: unknown key']],
    ['bad-type.yaml', ['sidelight: processors.failure_rate.min_samples: expected number, received string']],
    ['unknown-component.yaml', ['sidelight: exporters.kafka: unknown exporter type "kafka" (known: jsonl, otlp_logs, otlp_traces, sqlite, stdout, webhook)']],
    [
      'bad-duration.yaml',
      [
        'sidelight: service.windows.slide: expected a duration such as 500ms, 10s, 5m, 1h (got "ten seconds")',
        'sidelight: service.traces.trace_idle: expected a duration such as 500ms, 10s, 5m, 1h (got "5 minutes")',
      ],
    ],
    ['bad-pipeline.yaml', ['sidelight: service.pipelines.traces.exporters[1]: "otlp_traces" is not configured under exporters']],
  ] as const)('config/testdata/%s: each error with its path on stderr, exit 1', (name, expected) => {
    const o = sidelight(['validate', '--config', `config/testdata/${name}`]);
    expect(o.status).toBe(1);
    expect(o.stdout).toBe('');
    expect(lines(o.stderr)).toEqual(expected);
    expectNoStackTrace(o);
  });

  it('config/testdata/bad-yaml.yaml: one line naming file, line and column, exit 1', () => {
    const o = sidelight(['validate', '--config', 'config/testdata/bad-yaml.yaml']);
    expect(o.status).toBe(1);
    expect(o.stdout).toBe('');
    expect(lines(o.stderr)).toHaveLength(1);
    expect(o.stderr).toMatch(/^sidelight: config\/testdata\/bad-yaml\.yaml:4:1: Flow map in block collection must be sufficiently indented/);
    expectNoStackTrace(o);
  });

  it('warns, and still says OK, when a processors section or a pipeline leaves default processors out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidelight-validate-'));
    try {
      // written to set budgets, it drops every other default processor
      writeFileSync(join(dir, 'budgets.yaml'), 'processors:\n  budget: {budgets: [{per: agent, max_cost_usd: 5, window: 15m}]}\n  categorize: {}\n');
      const o = sidelight(['validate', '--config', join(dir, 'budgets.yaml')]);
      expect(o.status).toBe(0);
      expect(o.stdout).toBe('OK\n');
      expect(lines(o.stderr)).toEqual([
        'sidelight: warning: processors: no pipeline runs the default processors failure_rate, error_cluster, retry_patterns, provider_fallback, latency, repeated_calls, sequential_fanout, anomaly, operation_metrics, silent_failure, agent_loop, recommend ' +
          '(a processors section replaces the default list, and service.pipelines lists what runs): name them to keep them',
      ]);
      // every processor configured, but a pipeline that names only some
      writeFileSync(join(dir, 'pipeline.yaml'), 'service: {pipelines: {traces: {receivers: [otlp], processors: [failure_rate, categorize, recommend], exporters: [jsonl]}}}\n');
      expect(lines(sidelight(['validate', '--config', join(dir, 'pipeline.yaml')]).stderr)[0]).toMatch(/^sidelight: warning: processors: no pipeline runs the default processors error_cluster, .*, budget \(/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('substitutes the environment before validating', () => {
    const o = sidelight(['validate', '--config', 'config/examples/tempo.yaml'], { TEMPO_OTLP_ENDPOINT: 'not a url' });
    expect(o.status).toBe(1);
    expect(lines(o.stderr)).toEqual(['sidelight: exporters.otlp_traces/tempo.endpoint: expected a URL such as http://127.0.0.1:4318']);
  });

  it('a missing config file is one line naming it, exit 2', () => {
    const o = sidelight(['validate', '--config', 'config/no-such-file.yaml']);
    expect(o).toEqual({ status: 2, stdout: '', stderr: 'sidelight: config/no-such-file.yaml: cannot read config file (no such file)\n' });
  });

  it('validate without --config is one line, exit 2', () => {
    const o = sidelight(['validate']);
    expect(o).toEqual({ status: 2, stdout: '', stderr: "sidelight: required option '-c, --config <file>' not specified\n" });
  });
});

describe('sidelight usage errors', () => {
  it('an unknown flag is one line, exit 2', () => {
    expect(sidelight(['run', '--bogus'])).toEqual({ status: 2, stdout: '', stderr: "sidelight: unknown option '--bogus'\n" });
  });

  it('an unknown command is one line, exit 2', () => {
    expect(sidelight(['bogus'])).toEqual({ status: 2, stdout: '', stderr: "sidelight: unknown command 'bogus'\n" });
  });

  it('--version prints the package version, exit 0', () => {
    expect(sidelight(['--version'])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
