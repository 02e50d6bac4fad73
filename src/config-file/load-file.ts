/** Reads a YAML config file: syntax errors with their line, environment substitution, then load.ts validates it. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ComponentRegistry } from '../component/contracts.js';
import { ConfigError, parseConfigObject, type Section, type SidelightConfig } from './load.js';
import { substituteEnv } from './env-substitution.js';

/** Reads YAML text into a plain tree; syntax errors become ConfigError lines with line numbers. */
export function parseConfigText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const where = err.linePos?.[0] ? `${source}:${err.linePos[0].line}:${err.linePos[0].col}` : source;
      throw new ConfigError([`${where}: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`]);
    }
    throw err;
  }
}

/** Reads, substitutes and validates a config file. Throws ConfigError; a missing file is a ConfigError too. */
export function loadConfigFile(
  path: string,
  registry: ComponentRegistry,
  defaults: Readonly<Record<Section, unknown>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SidelightConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`${path}: cannot read config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`]);
  }
  return parseConfigObject(substituteEnv(parseConfigText(text, path), env), registry, defaults);
}
