/**
 * `sidelight/service`: the sidecar (receivers, exporters, the live page) and Collector-style
 * config files, for embedding the whole service in a process. The analysis library is `sidelight`
 * (src/index.ts), which loads none of this.
 */
export { startService, type Service, type ServiceOptions } from './pipeline/service.js';
export { components, DEFAULT_CONFIG } from './pipeline/components.js';
export { parseConfigObject, ConfigError, type SidelightConfig } from './config-file/load.js';
export { loadConfigFile, parseConfigText } from './config-file/load-file.js';
export { decodeTraceRequest, DecodeError } from './decode/index.js';
