/**
 * The shipped config files as a specification: config/sidelight.yaml is the built-in defaults
 * written out (so its documentation cannot drift from the code), its commented-out components
 * load once uncommented, the examples load, and each bad config in config/testdata fails with
 * exactly the errors it was written for.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ConfigError, parseConfigObject, type SidelightConfig } from '../src/config-file/load.js';
import { loadConfigFile, parseConfigText } from '../src/config-file/load-file.js';
import { substituteEnv } from '../src/config-file/env-substitution.js';
import { serviceSchema } from '../src/config/service-schema.js';
import { components, DEFAULT_CONFIG } from '../src/pipeline/components.js';
import { parseListenAddress } from '../src/telemetry/http-endpoints.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_FILE = join(ROOT, 'config', 'sidelight.yaml');
const DEFAULT_TEXT = readFileSync(DEFAULT_FILE, 'utf8');
const NO_ENV = {};

const SECTIONS = ['receivers', 'processors', 'exporters'] as const;
type Section = (typeof SECTIONS)[number];

const DEFAULT_PROCESSORS = [
  'failure_rate',
  'error_cluster',
  'retry_patterns',
  'provider_fallback',
  'latency',
  'repeated_calls',
  'sequential_fanout',
  'anomaly',
  'operation_metrics',
  'silent_failure',
  'agent_loop',
  'budget',
  'categorize',
  'recommend',
];

function loadText(text: string, env: Readonly<Record<string, string>> = NO_ENV): SidelightConfig {
  return parseConfigObject(substituteEnv(parseConfigText(text, 'test.yaml'), env), components, DEFAULT_CONFIG);
}

function schemaOf(section: Section, type: string): z.ZodType<unknown> {
  const factory = components[section].get(type);
  if (!factory) throw new Error(`no ${section} factory ${type}`);
  return factory.configSchema;
}

/** id → validated config of one section, for comparing whole sections. */
function configsOf(config: SidelightConfig, section: Section): Record<string, unknown> {
  return Object.fromEntries([...config[section]].map(([id, c]) => [id, c.config]));
}

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

interface KeyTree {
  readonly [key: string]: KeyTree | null;
}

/** Every settable key of a zod object schema, nested objects included (records and arrays are leaves). */
function keyTree(schema: z.ZodType<unknown>): KeyTree | null {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType<unknown>>;
      return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, keyTree(v)]));
    }
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return keyTree(def.innerType as z.ZodType<unknown>);
    case 'pipe': {
      // z.preprocess(fn, schema) is transform → schema; schema.transform(fn) is schema → transform
      const input = def.in as z.ZodType<unknown>;
      const isTransform = (input as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'transform';
      return keyTree(isTransform ? (def.out as z.ZodType<unknown>) : input);
    }
    default:
      return null;
  }
}

function keyNames(tree: KeyTree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, sub]) => [prefix + k, ...(sub ? keyNames(sub, `${prefix}${k}.`) : [])]);
}

/**
 * The lines of one component in config/sidelight.yaml: its `  id:` (or `  # id:`) line and the
 * more indented lines after it, commented or not.
 */
function componentBlock(text: string, section: string, id: string): string[] {
  const lines = text.split('\n');
  const sectionStart = lines.indexOf(`${section}:`);
  const start = lines.findIndex((l, i) => i > sectionStart && new RegExp(`^  (?:# )?${id.replace('/', '\\/')}:\\s*(?:#.*)?$`).test(l));
  if (sectionStart < 0 || start < 0) throw new Error(`${section}.${id} is not in the file`);
  const block = [lines[start] as string];
  for (const line of lines.slice(start + 1)) {
    if (!/^( {4,}\S| {2}# {3,}\S)/.test(line)) break;
    block.push(line);
  }
  return block;
}

/** True when each key name (the last part of each dotted path) appears as a `key:` line, set or commented. */
function missingKeys(block: readonly string[], tree: KeyTree): string[] {
  const text = block.join('\n');
  return keyNames(tree).filter((path) => !new RegExp(`^[ #]*${path.split('.').pop()}:`, 'm').test(text));
}

/** Commented-out components: `  # id:` lines directly under a section, with their indented comment lines. */
function commentedBlocks(text: string): { section: Section; id: string; lines: string[] }[] {
  const out: { section: Section; id: string; lines: string[] }[] = [];
  let section: string | undefined;
  for (const line of text.split('\n')) {
    const top = /^([a-z_]+):/.exec(line);
    if (top) section = top[1];
    const header = /^ {2}# ([a-z_]+(?:\/[\w.-]+)?):\s*(?:#.*)?$/.exec(line);
    if (header && (SECTIONS as readonly string[]).includes(section ?? '')) {
      out.push({ section: section as Section, id: header[1] as string, lines: componentBlock(text, section as string, header[1] as string) });
    }
  }
  return out;
}

/** Uncomments a block where it stands (strip the `# ` after the indent), and its `# - id` pipeline lines. */
function uncomment(text: string, block: { id: string; lines: string[] }): string {
  const joined = block.lines.join('\n');
  const open = block.lines.map((l) => l.replace(/^(\s*)# /, '$1')).join('\n');
  expect(text.split(joined)).toHaveLength(2);
  return text.replace(joined, open).replace(new RegExp(`^(\\s*)# (- ${block.id})$`, 'gm'), '$1$2');
}

describe('config/sidelight.yaml is the built-in defaults written out', () => {
  const loaded = loadConfigFile(DEFAULT_FILE, components, DEFAULT_CONFIG, NO_ENV);
  const builtIn = parseConfigObject({}, components, DEFAULT_CONFIG);

  it('enables exactly the components the built-in defaults enable', () => {
    expect([...loaded.receivers.keys()]).toEqual(Object.keys(DEFAULT_CONFIG.receivers));
    expect([...loaded.processors.keys()]).toEqual(Object.keys(DEFAULT_CONFIG.processors));
    expect([...loaded.exporters.keys()]).toEqual(Object.keys(DEFAULT_CONFIG.exporters));
    expect([...loaded.receivers.keys()]).toEqual(['otlp']);
    expect([...loaded.processors.keys()]).toEqual(DEFAULT_PROCESSORS);
    expect([...loaded.exporters.keys()]).toEqual(['jsonl', 'stdout']);
  });

  it.each(SECTIONS)('sets every enabled %s to its factory defaults', (section) => {
    for (const [id, c] of loaded[section]) expect(c.config, `${section}.${id}`).toEqual(schemaOf(section, c.type).parse({}));
    expect(configsOf(loaded, section)).toEqual(configsOf(builtIn, section));
  });

  it('sets the service section to its defaults, with the default pipeline written out', () => {
    expect({ ...loaded.service, pipelines: undefined }).toEqual(serviceSchema.parse({}));
    expect(loaded.service.pipelines).toEqual(builtIn.pipelines);
    expect(loaded.pipelines).toEqual({ traces: { receivers: ['otlp'], processors: DEFAULT_PROCESSORS, exporters: ['jsonl', 'stdout'] } });
    expect(loaded.service.windows).toEqual({
      slide: 10_000,
      sizes: [60_000, 300_000, 900_000],
      coarse_slide: 300_000,
      coarse_sizes: [3_600_000, 21_600_000, 86_400_000],
      allowed_lateness: 10_000,
      tick: 1_000,
      max_future_skew: 300_000,
    });
  });

  it('writes durations in their human form, never as milliseconds', () => {
    expect(DEFAULT_TEXT).toMatch(/^ {4}slide: 10s /m);
    expect(DEFAULT_TEXT).toMatch(/^ {4}resolve_after: 2m /m);
    expect(DEFAULT_TEXT).toMatch(/^ {4}confirm_window: 5m /m);
    expect(DEFAULT_TEXT).not.toMatch(/^[ #]*(slide|resolve_after|trace_idle|decision_wait|tick|poll_interval|settle_time|timeout): \d+\s/m);
  });

  it('documents every key of every component and of service, each with a comment', () => {
    for (const section of SECTIONS) {
      for (const [type, factory] of components[section]) {
        const block = componentBlock(DEFAULT_TEXT, section, type);
        expect(missingKeys(block, keyTree(factory.configSchema) ?? {}), `${section}.${type}`).toEqual([]);
      }
    }
    const service = DEFAULT_TEXT.slice(DEFAULT_TEXT.indexOf('\nservice:')).split('\n');
    expect(missingKeys(service, keyTree(serviceSchema) ?? {})).toEqual([]);
    // every line that sets a scalar carries its one-line comment
    const uncommentedScalars = DEFAULT_TEXT.split('\n').filter((l) => /^[ #]*[a-z_]+: \S/.test(l) && !/\s#\s/.test(l.replace(/^\s*#/, '')));
    expect(uncommentedScalars).toEqual([]);
  });
});

describe('the commented-out components of config/sidelight.yaml', () => {
  const blocks = commentedBlocks(DEFAULT_TEXT);
  // Keys a block must give: webhook.url is required; the OTLP exporters' endpoint would otherwise
  // fall back to OTEL_EXPORTER_OTLP_ENDPOINT or http://localhost:4318 — Sidelight's own receiver.
  const GIVEN: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
    webhook: { url: 'https://alerts.example.com/sidelight' },
    otlp_traces: { endpoint: 'http://127.0.0.1:4319' },
    otlp_logs: { endpoint: 'http://127.0.0.1:4319' },
  };

  it('are every component the built-in defaults leave off', () => {
    const off = SECTIONS.flatMap((s) => [...components[s].keys()].filter((t) => !(t in DEFAULT_CONFIG[s])).map((t) => `${s}.${t}`));
    expect(blocks.map((b) => `${b.section}.${b.id}`).sort()).toEqual(off.sort());
    expect(off.sort()).toEqual(['exporters.otlp_logs', 'exporters.otlp_traces', 'exporters.sqlite', 'exporters.webhook', 'receivers.kc_runs']);
  });

  it.each(commentedBlocks(DEFAULT_TEXT).map((b) => [b.id, b] as const))('%s validates once uncommented, at its factory defaults', (id, block) => {
    const config = loadText(uncomment(DEFAULT_TEXT, block));
    const c = config[block.section].get(id);
    expect(c).toBeDefined();
    expect(c?.config).toEqual(schemaOf(block.section, id).parse({ ...GIVEN[id] }));
    // uncommenting its pipeline line puts it in the pipeline
    expect(config.pipelines.traces?.[block.section]).toContain(id);
  });

  it('webhook needs the url its block gives', () => {
    expect(issuesOf(() => loadText('exporters: {jsonl: {}, webhook: {}}'))).toEqual(['exporters.webhook.url: required']);
  });

  it('all load together: every component on at once', () => {
    const all = blocks.reduce((text, b) => uncomment(text, b), DEFAULT_TEXT);
    const config = loadText(all);
    expect([...config.receivers.keys()]).toEqual(['otlp', 'kc_runs']);
    expect([...config.exporters.keys()]).toEqual(['jsonl', 'stdout', 'otlp_traces', 'otlp_logs', 'webhook', 'sqlite']);
    expect(config.pipelines.traces?.exporters).toEqual(['jsonl', 'stdout', 'otlp_traces', 'otlp_logs', 'webhook', 'sqlite']);
  });
});

describe("docs/configuration.md's complete config", () => {
  const SPEC_CONFIG = ['receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:14318"}}}}', 'exporters: {jsonl: {path: ./out/painpoints.jsonl}}', ''].join('\n');

  it('connects the otlp receiver through every default processor to the jsonl exporter', () => {
    const config = loadText(SPEC_CONFIG);
    expect(config.pipelines).toEqual({ traces: { receivers: ['otlp'], processors: DEFAULT_PROCESSORS, exporters: ['jsonl'] } });
    // only the protocol it lists is served
    expect(config.receivers.get('otlp')?.config).toEqual({ protocols: { http: { endpoint: '127.0.0.1:14318', max_request_body_size: 8_388_608 } } });
    expect(config.exporters.get('jsonl')?.config).toEqual(schemaOf('exporters', 'jsonl').parse({ path: './out/painpoints.jsonl' }));
    for (const [id, c] of config.processors) expect(c.config, id).toEqual(schemaOf('processors', id).parse({}));
    expect(config.service).toEqual(serviceSchema.parse({}));
  });
});

describe('config/examples', () => {
  const dir = join(ROOT, 'config', 'examples');
  const load = (name: string, env: Readonly<Record<string, string>> = NO_ENV) => loadConfigFile(join(dir, name), components, DEFAULT_CONFIG, env);

  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s validates, and no exporter sends to its own receiver', (name) => {
    const config = load(name);
    const listening = [...config.receivers.values()].flatMap((r) => {
      const protocols = (r.config as { protocols?: Record<string, { endpoint: string } | undefined> }).protocols ?? {};
      return Object.values(protocols).flatMap((p) => (p ? [parseListenAddress(p.endpoint).port] : []));
    });
    for (const e of config.exporters.values()) {
      const endpoint = (e.config as { endpoint?: string }).endpoint;
      if (endpoint !== undefined) expect(listening, `${name} ${e.id}`).not.toContain(Number(new URL(endpoint).port));
    }
  });

  it('holds the five documented examples', () => {
    expect(readdirSync(dir).sort()).toEqual(['collector.yaml', 'jaeger.yaml', 'kc-runs.yaml', 'pricing.yaml', 'tempo.yaml']);
  });

  it('pricing: a price table of common models and budgets, every default processor kept', () => {
    const config = load('pricing.yaml');
    expect(config.pipelines.traces?.processors).toEqual(DEFAULT_PROCESSORS);
    expect(config.service.pricing['gpt-4o']).toEqual({ input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 });
    expect(config.service.pricing['text-embedding-3-small']).toEqual({ input_per_mtok: 0.02, output_per_mtok: 0 });
    expect(Object.keys(config.service.pricing).length).toBeGreaterThanOrEqual(20);
    expect((config.processors.get('budget')?.config as { budgets: unknown[] }).budgets).toEqual([
      { per: 'agent', max_cost_usd: 5, window: 900_000 },
      { per: 'agent', match: { agent: 'planner' }, max_cost_usd: 2, window: 900_000 },
      { per: 'run', max_cost_usd: 20, window: 3_600_000 },
      { per: 'user', max_tokens: 2_000_000, window: 3_600_000 },
    ]);
  });

  it('jaeger: pain-point spans to Jaeger on 4318, Sidelight itself on 14318 / 14317', () => {
    const config = load('jaeger.yaml');
    expect(config.receivers.get('otlp')?.config).toEqual({
      protocols: { http: { endpoint: '127.0.0.1:14318', max_request_body_size: 8_388_608 }, grpc: { endpoint: '127.0.0.1:14317', max_recv_msg_size: 8_388_608 } },
    });
    expect(config.exporters.get('otlp_traces/jaeger')?.config).toMatchObject({ endpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf' });
    expect(load('jaeger.yaml', { JAEGER_OTLP_ENDPOINT: 'http://jaeger:4318' }).exporters.get('otlp_traces/jaeger')?.config).toMatchObject({ endpoint: 'http://jaeger:4318' });
    expect(config.pipelines.traces?.exporters).toEqual(['otlp_traces/jaeger', 'jsonl']);
  });

  it('tempo: names the tenant in X-Scope-OrgID, from the environment', () => {
    expect(load('tempo.yaml').exporters.get('otlp_traces/tempo')?.config).toMatchObject({
      endpoint: 'http://127.0.0.1:4318',
      headers: { 'X-Scope-OrgID': 'sidelight' },
      compression: 'gzip',
      resource: { 'deployment.environment.name': 'dev' },
      retry_on_failure: { max_elapsed_time: 600_000, initial_interval: 1_000 },
    });
    const tenant = load('tempo.yaml', { TEMPO_TENANT: 'team-agents', TEMPO_OTLP_ENDPOINT: 'http://tempo:4318' }).exporters.get('otlp_traces/tempo');
    expect(tenant?.config).toMatchObject({ endpoint: 'http://tempo:4318', headers: { 'X-Scope-OrgID': 'team-agents' } });
  });

  it('collector: spans and log records to the Collector, in a pipeline of its own', () => {
    const config = load('collector.yaml', { OTEL_COLLECTOR_ENDPOINT: 'http://otelcol:4318' });
    expect(config.exporters.get('otlp_traces/collector')?.config).toMatchObject({ endpoint: 'http://otelcol:4318', protocol: 'http/protobuf' });
    expect(config.exporters.get('otlp_logs/collector')?.config).toMatchObject({ endpoint: 'http://otelcol:4318', protocol: 'http/protobuf' });
    expect(config.pipelines).toEqual({
      traces: { receivers: ['otlp'], processors: DEFAULT_PROCESSORS, exporters: ['otlp_traces/collector', 'otlp_logs/collector', 'stdout'] },
    });
  });

  it('kc-runs: the runs folder in, a SQLite store out, telemetry on its own port', () => {
    const config = load('kc-runs.yaml');
    expect([...config.receivers.keys()]).toEqual(['kc_runs']);
    expect(config.receivers.get('kc_runs')?.config).toEqual(schemaOf('receivers', 'kc_runs').parse({ path: './.kc-orchestrator/runs', poll_interval: '5s', settle_time: '30s' }));
    expect(config.exporters.get('sqlite')?.config).toEqual({ path: './sidelight-data/sidelight.db', max_history_rows: 100_000, queue_size: 10_000, emit: 'both' });
    expect(config.service.telemetry.endpoint).toBe('127.0.0.1:8888');
    expect(config.service.painpoints.resolve_after).toBe(3_600_000);
    expect(load('kc-runs.yaml', { KC_RUNS_DIR: '/srv/kc/runs' }).receivers.get('kc_runs')?.config).toMatchObject({ path: '/srv/kc/runs' });
  });
});

describe('config/testdata: bad configs fail with exactly their errors', () => {
  const dir = join(ROOT, 'config', 'testdata');
  const EXPECTED: Readonly<Record<string, readonly string[]>> = {
    'typo-key.yaml': ['processors.failure_rate.min_sample: unknown key'],
    'bad-type.yaml': ['processors.failure_rate.min_samples: expected number, received string'],
    'unknown-component.yaml': ['exporters.kafka: unknown exporter type "kafka" (known: jsonl, otlp_logs, otlp_traces, sqlite, stdout, webhook)'],
    'bad-duration.yaml': [
      'service.windows.slide: expected a duration such as 500ms, 10s, 5m, 1h (got "ten seconds")',
      'service.traces.trace_idle: expected a duration such as 500ms, 10s, 5m, 1h (got "5 minutes")',
    ],
    'bad-pipeline.yaml': ['service.pipelines.traces.exporters[1]: "otlp_traces" is not configured under exporters'],
  };

  it('has an expectation for every file', () => {
    expect(readdirSync(dir).sort()).toEqual([...Object.keys(EXPECTED), 'bad-yaml.yaml'].sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (name, issues) => {
    expect(issuesOf(() => loadConfigFile(join(dir, name), components, DEFAULT_CONFIG, NO_ENV))).toEqual(issues);
  });

  it('bad-yaml.yaml: one error naming file, line and column', () => {
    const path = join(dir, 'bad-yaml.yaml');
    const issues = issuesOf(() => loadConfigFile(path, components, DEFAULT_CONFIG, NO_ENV));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:1: Flow map in block collection must be sufficiently indented and end with a }`));
  });
});

describe('environment substitution in a config file', () => {
  it('substitutes ${env:VAR} and ${env:VAR:-default}; an unset VAR without default is the empty string', () => {
    const text = 'exporters: {jsonl: {path: "${env:OUT_DIR:-./out}/${env:OUT_NAME}painpoints.jsonl"}}\nreceivers: {otlp: {protocols: {http: {endpoint: "${env:HOST:-127.0.0.1}:${env:PORT:-14318}"}}}}\n';
    expect(loadText(text).exporters.get('jsonl')?.config).toMatchObject({ path: './out/painpoints.jsonl' });
    expect(loadText(text, { OUT_DIR: '/var/sidelight', OUT_NAME: 'a-' }).exporters.get('jsonl')?.config).toMatchObject({ path: '/var/sidelight/a-painpoints.jsonl' });
    expect(loadText(text, { PORT: '9999' }).receivers.get('otlp')?.config).toMatchObject({ protocols: { http: { endpoint: '127.0.0.1:9999' } } });
  });

  it('reads a value that is one whole reference as a YAML scalar, so a number can come from the environment', () => {
    const text = 'processors: {failure_rate: {min_samples: "${env:MIN_SAMPLES:-20}"}}\n';
    expect(loadText(text, { MIN_SAMPLES: '50' }).processors.get('failure_rate')?.config).toMatchObject({ min_samples: 50 });
    expect(issuesOf(() => loadText(text, { MIN_SAMPLES: 'many' }))).toEqual(['processors.failure_rate.min_samples: expected number, received string']);
  });
});

describe('the provider_fallback keys that left retry_patterns', () => {
  it('fail under retry_patterns, each with its path, and load under provider_fallback', () => {
    const old = 'processors: {retry_patterns: {min_samples: 30, fallback_min_tasks: 20, fallback_per_task: 0.4}}\n';
    expect(issuesOf(() => loadText(old))).toEqual([
      'processors.retry_patterns.fallback_min_tasks: unknown key',
      'processors.retry_patterns.fallback_per_task: unknown key',
    ]);
    const moved = loadText('processors: {retry_patterns: {min_samples: 30}, provider_fallback: {min_tasks: 20, per_task: 0.4}}\n');
    expect(moved.processors.get('provider_fallback')?.config).toEqual({ min_tasks: 20, per_task: 0.4, per_task_low: 0.2 });
    expect(moved.processors.get('retry_patterns')?.config).toMatchObject({ min_samples: 30 });
  });
});

describe('service.names', () => {
  it('adds provider aliases to the defaults and validates the table with its path', () => {
    const config = loadText('service: {names: {provider_aliases: {openai_compat: openai, Gemini: Gemini}}}\n');
    expect(config.service.names.provider_aliases).toMatchObject({ claude: 'anthropic', openai_compat: 'openai', Gemini: 'Gemini' });
    // an alias mapped to itself undoes the default of that name (case ignored)
    expect(config.service.names.provider_aliases).not.toHaveProperty('gemini');
    expect(issuesOf(() => loadText('service: {names: {provider_aliases: {anthropic: acme}}}\n'))).toEqual([
      'service.names.provider_aliases.claude: "claude" maps to "anthropic", which is itself an alias of "acme": map it to "acme"',
    ]);
    expect(issuesOf(() => loadText('service: {names: {model_aliases: {GPT: a, gpt: b}}}\n'))).toEqual([
      'service.names.model_aliases.gpt: "gpt" and "GPT" are the same name (case is ignored) but map to "a" and "b"',
    ]);
  });
});
