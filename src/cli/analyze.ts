/** The `sidelight analyze` command: wired into the commander CLI by src/cli/main.ts. */
export { runAnalyze, EXIT_INPUT, EXIT_OK, EXIT_USAGE } from '../analyze/command.js';
export type { AnalyzeFormat, AnalyzeIo, AnalyzeOptions } from '../analyze/command.js';
