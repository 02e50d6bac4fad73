/**
 * Validates the Collector-style config (docs/configuration.md) once read (load-file.ts reads YAML
 * files and substitutes the environment): a file states only what it changes (a top-level section given replaces that section of the defaults), each
 * component's settings validated by its factory's zod schema, unknown keys rejected with their path.
 */
import { z } from 'zod';
import type { ComponentRegistry, ExporterFactory, ProcessorFactory, ReceiverFactory } from '../component/contracts.js';
import { serviceSchema, type PipelineSettings, type ServiceSettings } from '../config/service-schema.js';

export interface ConfiguredComponent<F> {
  /** `type` or `type/name`, as written in the config */
  readonly id: string;
  readonly type: string;
  readonly factory: F;
  /** validated settings (the factory schema's output) */
  readonly config: unknown;
}

export interface SidelightConfig {
  readonly receivers: ReadonlyMap<string, ConfiguredComponent<ReceiverFactory<unknown>>>;
  readonly processors: ReadonlyMap<string, ConfiguredComponent<ProcessorFactory<unknown>>>;
  readonly exporters: ReadonlyMap<string, ConfiguredComponent<ExporterFactory<unknown>>>;
  readonly service: ServiceSettings;
  /** service.pipelines, or the default pipeline connecting everything configured */
  readonly pipelines: Readonly<Record<string, PipelineSettings>>;
}

/** A config that cannot be used: one `path: message` line per problem. */
const CONFIG_ERROR = Symbol.for('sidelight.ConfigError');

export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(issues.join('\n'));
    this.name = 'ConfigError';
    Object.defineProperty(this, CONFIG_ERROR, { value: true });
  }

  /**
   * `sidelight` is one bundled file and `sidelight/service` is not (scripts/bundle-library.ts), so a
   * process using both has two copies of this class: `instanceof` answers for either.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [CONFIG_ERROR]?: unknown })[CONFIG_ERROR] === true;
  }
}

const SECTIONS = ['receivers', 'processors', 'exporters', 'service'] as const;
export type Section = (typeof SECTIONS)[number];

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

function zodIssues(prefix: readonly PropertyKey[], error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    let message = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${formatPath([...prefix, ...issue.path, k])}: unknown key`).join('\n');
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'required';
    return `${path}: ${message}`;
  });
}

/**
 * A config is parsed once: zod's compiled fast path (code generated and compiled on each object
 * schema's first parse) costs more than it saves, and a fresh kc process pays it on its first call
 * (profiled: the config parse of that call went from ~65 to ~22 ms on a loaded machine).
 */
const ONCE = { jitless: true } as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Validates one section of components against the registry: each key is `type` or `type/name`;
 * a null value (`otlp:` with nothing after it) means the defaults, as in the Collector.
 */
function validateComponents<F extends { readonly configSchema: z.ZodType<unknown> }>(
  section: 'receivers' | 'processors' | 'exporters',
  raw: unknown,
  factories: ReadonlyMap<string, F>,
  issues: string[],
): Map<string, ConfiguredComponent<F>> {
  const out = new Map<string, ConfiguredComponent<F>>();
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    issues.push(`${section}: expected a map of components`);
    return out;
  }
  const noun = section.slice(0, -1);
  for (const [id, value] of Object.entries(raw)) {
    const type = id.split('/')[0] as string;
    const factory = factories.get(type);
    if (!factory) {
      issues.push(`${section}.${id}: unknown ${noun} type "${type}" (known: ${[...factories.keys()].sort().join(', ')})`);
      continue;
    }
    const parsed = factory.configSchema.safeParse(value ?? {}, ONCE);
    if (!parsed.success) {
      issues.push(...zodIssues([section, id], parsed.error));
      continue;
    }
    out.set(id, { id, type, factory, config: parsed.data });
  }
  return out;
}

/** Canonical processor order: detectors run side by side, then categorize, then recommend. */
function stageRank(p: ProcessorFactory<unknown>): number {
  return p.stage === 'detector' ? 0 : p.stage === 'categorize' ? 1 : 2;
}

/**
 * Validates a config object (the YAML's content after env substitution) merged over `defaults`.
 * Throws ConfigError with every problem found.
 */
export function parseConfigObject(raw: unknown, registry: ComponentRegistry, defaults: Readonly<Record<Section, unknown>>): SidelightConfig {
  const issues: string[] = [];
  const file = raw === undefined || raw === null ? {} : raw;
  if (!isPlainObject(file)) throw new ConfigError(['(root): expected a map with receivers, processors, exporters, service']);
  for (const key of Object.keys(file)) {
    if (!(SECTIONS as readonly string[]).includes(key)) issues.push(`${key}: unknown key (expected one of ${SECTIONS.join(', ')})`);
  }
  // A section given in the file replaces that section of the defaults.
  const pick = (s: Section) => (s in file ? file[s] : defaults[s]);

  const receivers = validateComponents('receivers', pick('receivers'), registry.receivers, issues);
  const processors = validateComponents('processors', pick('processors'), registry.processors, issues);
  const exporters = validateComponents('exporters', pick('exporters'), registry.exporters, issues);
  const serviceParsed = serviceSchema.safeParse(pick('service') ?? {}, ONCE);
  if (!serviceParsed.success) issues.push(...zodIssues(['service'], serviceParsed.error));

  let pipelines: Record<string, PipelineSettings> = {};
  if (serviceParsed.success) {
    const declared = serviceParsed.data.pipelines;
    if (declared && Object.keys(declared).length > 0) {
      pipelines = declared;
      for (const [name, p] of Object.entries(declared)) {
        const check = (kind: 'receivers' | 'processors' | 'exporters', ids: readonly string[], known: ReadonlyMap<string, unknown>) =>
          ids.forEach((id, i) => {
            if (!known.has(id)) issues.push(`service.pipelines.${name}.${kind}[${i}]: "${id}" is not configured under ${kind}`);
          });
        check('receivers', p.receivers, receivers);
        check('processors', p.processors, processors);
        check('exporters', p.exporters, exporters);
      }
    } else {
      const ordered = [...processors.values()].sort((a, b) => stageRank(a.factory) - stageRank(b.factory)).map((p) => p.id);
      pipelines = { traces: { receivers: [...receivers.keys()], processors: ordered, exporters: [...exporters.keys()] } };
      // Only when the section is empty: a component that failed validation has its own error already.
      const empty = (raw: unknown) => !isPlainObject(raw) || Object.keys(raw).length === 0;
      if (empty(pick('receivers'))) issues.push('receivers: at least one receiver is needed for the default pipeline');
      if (empty(pick('exporters'))) issues.push('exporters: at least one exporter is needed for the default pipeline');
    }
  }
  if (issues.length > 0) throw new ConfigError(issues.flatMap((i) => i.split('\n')));
  return { receivers, processors, exporters, service: serviceParsed.data as ServiceSettings, pipelines };
}

/**
 * The config of an in-process analysis (analyzeSpans, createPipeline, NativeAgentLightning):
 * processors and service are validated; receivers and exporters do not take part, so their
 * sections are accepted and left out (the library loads none of them, nor their dependencies).
 */
export function parseAnalysisConfig(raw: unknown, registry: ComponentRegistry, defaults: Readonly<Record<Section, unknown>>): SidelightConfig {
  const file = raw === undefined || raw === null ? {} : raw;
  if (!isPlainObject(file)) throw new ConfigError(['(root): expected a map with receivers, processors, exporters, service']);
  const { receivers: _receivers, exporters: _exporters, ...analysis } = file;
  const service = isPlainObject(analysis['service']) ? analysis['service'] : undefined;
  // pipelines name receivers and exporters this analysis does not have: keep only their processors
  const pipelines = service !== undefined && isPlainObject(service['pipelines']) ? service['pipelines'] : undefined;
  const onlyProcessors =
    pipelines === undefined
      ? analysis
      : {
          ...analysis,
          service: {
            ...service,
            pipelines: Object.fromEntries(
              Object.entries(pipelines).map(([name, p]) => [name, isPlainObject(p) ? { ...p, receivers: ['analysis'], exporters: ['analysis'] } : p]),
            ),
          },
        };
  const none = { receivers: { analysis: {} }, exporters: { analysis: {} } };
  const stub = { type: 'analysis', configSchema: z.object({}) };
  const withStubs: ComponentRegistry = {
    ...registry,
    receivers: new Map([['analysis', stub as unknown as ReceiverFactory<unknown>]]),
    exporters: new Map([['analysis', stub as unknown as ExporterFactory<unknown>]]),
  };
  const parsed = parseConfigObject({ ...onlyProcessors, ...none }, withStubs, { ...defaults, ...none });
  return { ...parsed, receivers: new Map(), exporters: new Map() };
}
