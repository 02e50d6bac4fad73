/** Loads the CLI's config: the file given, or the built-in defaults (SPEC §6: no file needed). */
import { parseConfigObject, loadConfigFile, type SidelightConfig } from '../config/load.js';
import { components, DEFAULT_CONFIG } from '../pipeline/components.js';

export function loadCliConfig(path: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): SidelightConfig {
  return path === undefined ? parseConfigObject({}, components, DEFAULT_CONFIG) : loadConfigFile(path, components, DEFAULT_CONFIG, env);
}
