/** The config a command runs with: the file given, or the built-in defaults (no file needed). */
import { parseConfigObject, type SidelightConfig } from '../config-file/load.js';
import { loadConfigFile } from '../config-file/load-file.js';
import { components, DEFAULT_CONFIG } from '../pipeline/components.js';

export function loadConfigOrDefaults(path: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): SidelightConfig {
  return path === undefined ? parseConfigObject({}, components, DEFAULT_CONFIG) : loadConfigFile(path, components, DEFAULT_CONFIG, env);
}

/**
 * What is valid but probably not meant: default processors that no pipeline runs. A `processors`
 * section replaces the default list (docs/configuration.md), so a file written to set one
 * processor's settings (budgets, say) silently drops the others unless it names them.
 */
export function configWarnings(config: SidelightConfig): string[] {
  const running = new Set<string>();
  for (const pipeline of Object.values(config.pipelines)) {
    for (const id of pipeline.processors) {
      const type = config.processors.get(id)?.type;
      if (type !== undefined) running.add(type);
    }
  }
  const dropped = Object.keys(DEFAULT_CONFIG.processors).filter((type) => !running.has(type));
  if (dropped.length === 0) return [];
  return [
    `processors: no pipeline runs the default processor${dropped.length === 1 ? '' : 's'} ${dropped.join(', ')} ` +
      '(a processors section replaces the default list, and service.pipelines lists what runs): name them to keep them',
  ];
}
