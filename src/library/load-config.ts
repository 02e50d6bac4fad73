/** The config a command runs with: the file given, or the built-in defaults (no file needed). */
import { parseConfigObject, type SidelightConfig } from '../config-file/load.js';
import { loadConfigFile } from '../config-file/load-file.js';
import { components, DEFAULT_CONFIG } from '../pipeline/components.js';

export function loadConfigOrDefaults(path: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): SidelightConfig {
  return path === undefined ? parseConfigObject({}, components, DEFAULT_CONFIG) : loadConfigFile(path, components, DEFAULT_CONFIG, env);
}
