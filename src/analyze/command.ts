/**
 * `sidelight analyze PATH…` (README.md, Offline analysis): read every input, order spans by end time, run the same
 * engine as the sidecar in event time (analyzeSpans), print the report.
 *
 * Exit codes: 0 = analyzed; 1 = an input could not be read (without --keep-going), or nothing
 * could be read (with it), or the config is invalid; 2 = bad usage (a wrong option, no input, a
 * config file that cannot be read). Errors are one
 * line each on stderr: `analyze: runs/r1/events.jsonl:17: invalid JSON (…)`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, type SidelightConfig } from '../config-file/load.js';
import { loadConfigOrDefaults } from '../library/load-config.js';
import { analyzeSpans } from '../library/analyze-spans.js';
import { renderMarkdownReport } from '../report/markdown.js';
import { renderHtmlReport } from '../report/html.js';
import type { AnalysisResult } from '../model/analysis.js';
import type { SpanRecord } from '../model/span.js';
import { InputError, readInputs, type InputFile } from './inputs.js';
import { createInputProgress, type InputProgress } from './progress.js';
import { canonical, stableStringify } from './stable-json.js';

export type AnalyzeFormat = 'markdown' | 'json' | 'html';

export interface AnalyzeOptions {
  readonly format: AnalyzeFormat;
  /** write the report here instead of stdout (required for html) */
  readonly out?: string;
  /** also write the pain-point records here, one JSON per line */
  readonly jsonl?: string;
  /** skip unreadable files instead of stopping at the first */
  readonly keepGoing?: boolean;
  /** a Sidelight YAML config (processors' thresholds, service.attributes, …) */
  readonly config?: string;
}

export interface AnalyzeIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** whether stderr is a terminal (enables the progress bar) */
  readonly isTTY: boolean;
  /** file names in messages are relative to it (default process.cwd()) */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;

/**
 * The `--format json` document: problems, pain points, recommendations, statistics (no internal
 * change log). The causes lead; each record's keys are in the stable order.
 */
export function analysisJson(result: AnalysisResult): string {
  const doc = { problems: result.problems, painpoints: result.painpoints, recommendations: result.recommendations, statistics: result.statistics };
  return JSON.stringify(Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, canonical(v)])), null, 2) + '\n';
}

/** Pain-point records, one JSON per line (the JSONL exporter's line format). */
export function painPointsJsonl(result: AnalysisResult): string {
  return result.painpoints.map((p) => stableStringify(p) + '\n').join('');
}

/** Orders spans by end time; ties keep input order (Array.prototype.sort is stable). */
export function sortByEndTime(spans: SpanRecord[]): SpanRecord[] {
  return spans.sort((a, b) => a.endMs - b.endMs);
}

async function writeOutputFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

export async function runAnalyze(paths: readonly string[], opts: AnalyzeOptions, io: AnalyzeIo): Promise<number> {
  const fail = (msg: string, code: number) => {
    io.stderr.write(`analyze: ${msg}\n`);
    return code;
  };
  if (paths.length === 0) return fail('no input given (expected OTLP/JSON files, JSONL span records or kc run folders)', EXIT_USAGE);
  if (opts.format === 'html' && opts.out === undefined) return fail('--format html needs --out FILE', EXIT_USAGE);
  if (!['markdown', 'json', 'html'].includes(opts.format)) return fail(`unknown --format ${String(opts.format)} (markdown, json or html)`, EXIT_USAGE);

  let config: SidelightConfig | undefined;
  if (opts.config !== undefined) {
    try {
      config = loadConfigOrDefaults(opts.config, io.env ?? process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) io.stderr.write(`analyze: ${issue}\n`);
      // as `sidelight run`: a config that cannot be read is a usage error, an invalid one exits 1
      return err.issues.length === 1 && /cannot read config file/.test(err.issues[0] ?? '') ? EXIT_USAGE : EXIT_INPUT;
    }
  }

  let progress: InputProgress | undefined;
  let read;
  try {
    read = await readInputs(paths, {
      ...(config ? { mapping: config.service.attributes } : {}),
      keepGoing: opts.keepGoing ?? false,
      cwd: io.cwd ?? process.cwd(),
      onFiles: (files: readonly InputFile[]) => {
        progress = createInputProgress(io.stderr, io.isTTY, files.reduce((sum, f) => sum + f.size, 0));
      },
      onBytes: (n) => progress?.add(n),
    });
  } catch (err) {
    progress?.stop();
    if (err instanceof InputError) return fail(err.message, EXIT_INPUT);
    return fail(err instanceof Error ? err.message : String(err), EXIT_INPUT);
  }
  progress?.stop();

  for (const e of read.errors) io.stderr.write(`analyze: ${e.message}\n`);
  for (const f of read.files) {
    if (f.rejectedSpans > 0) io.stderr.write(`analyze: ${f.file}: ${f.rejectedSpans} invalid spans skipped\n`);
  }
  if (read.errors.length > 0) {
    if (read.files.length === 0) return fail('nothing could be read', EXIT_INPUT);
    io.stderr.write(`analyze: ${read.errors.length} input(s) skipped, ${read.files.length} read\n`);
  }

  let result: AnalysisResult;
  try {
    result = await analyzeSpans(sortByEndTime(read.spans), config ? { resolvedConfig: config } : {});
  } catch (err) {
    if (err instanceof ConfigError) return fail(`invalid config: ${err.issues.join('; ')}`, EXIT_INPUT);
    return fail(`analysis failed: ${err instanceof Error ? err.message : String(err)}`, EXIT_INPUT);
  }

  const report =
    opts.format === 'json' ? analysisJson(result) : opts.format === 'html' ? renderHtmlReport(result) : renderMarkdownReport(result);
  try {
    if (opts.out !== undefined) await writeOutputFile(opts.out, report);
    else io.stdout.write(report);
    if (opts.jsonl !== undefined) await writeOutputFile(opts.jsonl, painPointsJsonl(result));
  } catch (err) {
    return fail(`cannot write output (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT_INPUT);
  }
  return EXIT_OK;
}
