#!/usr/bin/env node
/**
 * The `sidelight` command. Usage errors (unknown flag, missing file) are one line and exit 2;
 * a config that fails validation prints each problem with its path and exits 1. Never a stack trace.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config-file/load.js';
import { configWarnings, loadConfigOrDefaults } from '../library/load-config.js';
import { runSidecar } from './run.js';
import { applyHeapSettings } from './heap-settings.js';
import { runAnalyze } from '../analyze/command.js';
import { VERSION } from '../version.js';

const EXIT_USAGE = 2;

class UsageError extends Error {}

export async function main(argv: readonly string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = new Command()
    .name('sidelight')
    .description('Streaming pain-point detector for AI-agent orchestrators (OTLP sidecar)')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // commander's own errors: one line, prefixed like ours
      outputError: (s, write) => write(`sidelight: ${s.replace(/^error: /, '')}`),
    });

  let result: Promise<number> = Promise.resolve(0);

  program
    .command('run')
    .description('run the sidecar: OTLP receivers, pipeline, exporters')
    .option('-c, --config <file>', 'config file (YAML); built-in defaults when omitted')
    .action((opts: { config?: string }) => {
      result = (async () => {
        const config = loadConfigOrDefaults(opts.config);
        applyHeapSettings(config.service.memory);
        const { stopped } = await runSidecar(config, { stderr: io.stderr });
        return stopped;
      })();
    });

  program
    .command('validate')
    .description('check a config file; prints OK or each error with its path')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action((opts: { config: string }) => {
      result = (async () => {
        const config = loadConfigOrDefaults(opts.config);
        for (const warning of configWarnings(config)) io.stderr.write(`sidelight: warning: ${warning}\n`);
        io.stdout.write('OK\n');
        return 0;
      })();
    });

  program
    .command('analyze')
    .description('analyze recorded runs offline: OTLP/JSON files, JSONL span records, kc run folders')
    .argument('<paths...>', 'files or folders')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['markdown', 'json', 'html']).default('markdown'))
    .option('-o, --out <file>', 'write the report to a file (required for html)')
    .option('--jsonl <file>', 'also write the pain-point records, one per line')
    .option('-k, --keep-going', 'analyze the readable files when some cannot be read')
    .option('-c, --config <file>', 'config file (YAML) for processor settings')
    .action((paths: string[], opts: { format: 'markdown' | 'json' | 'html'; out?: string; jsonl?: string; keepGoing?: boolean; config?: string }) => {
      result = runAnalyze(
        paths,
        { format: opts.format, ...(opts.out ? { out: opts.out } : {}), ...(opts.jsonl ? { jsonl: opts.jsonl } : {}), keepGoing: opts.keepGoing === true, ...(opts.config ? { config: opts.config } : {}) },
        { stdout: io.stdout, stderr: io.stderr, isTTY: Boolean((io.stderr as NodeJS.WriteStream).isTTY) },
      );
    });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return await result;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; anything else is a usage error
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      const missingFile = err.issues.length === 1 && /cannot read config file/.test(err.issues[0] ?? '');
      io.stderr.write(err.issues.map((i) => `sidelight: ${i}`).join('\n') + '\n');
      return missingFile ? EXIT_USAGE : 1;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`sidelight: ${err.message}\n`);
      return EXIT_USAGE;
    }
    const e = err as Error;
    io.stderr.write(`sidelight: ${e.message ?? String(err)}\n`);
    return 1;
  }
}

function invokedAsScript(): boolean {
  try {
    // The npm bin is a symlink: compare real paths.
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedAsScript()) {
  // `sidelight analyze … | head`: a reader that goes away ends the command quietly, as in other CLIs.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A finished command must not wait for stray handles (e.g. sockets of a failed start), but it
      // must not cut off its own output either: a pipe is written asynchronously, so exit only once
      // stdout and stderr have flushed.
      if (code !== 0 || process.argv[2] !== 'run') {
        process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
      }
    },
    (err: unknown) => {
      process.stderr.write(`sidelight: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
