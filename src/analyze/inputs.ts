/**
 * The inputs of `sidelight analyze`: OTLP/JSON files, JSONL span records and kc run folders,
 * each file's format detected from its content (docs/kc-runs.md "analyze inputs").
 *
 * A file is the unit of failure: a bad line fails its whole file (a half-read file would give
 * misleading numbers), with an InputError naming `file:line`.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, relative, isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_ATTRIBUTE_MAPPING, type AttributeMapping } from '../model/derive.js';
import type { SpanRecord } from '../model/span.js';
import { decodeTraceRequest, DecodeError } from '../decode/index.js';
import { KC_EVENTS_FILE, KcEventLineError, findKcRuns, jsonErrorReason, parseKcEventLine } from '../kc/run-files.js';
import { kcRunToSpans } from '../kc/run-to-spans.js';
import { kcRunDataSchema } from '../kc/run-data.js';
import { fastKcRunData } from '../kc/fast-parse.js';
import { formatZodIssues, type KcEvent } from '../kc/events.js';
import { SpanJsonError, spanRecordFromJson } from './span-json.js';

export type InputFormat = 'otlp_json' | 'span_jsonl' | 'kc_events' | 'kc_run_data' | 'empty';

/** `file:line: reason` (line left out when the problem is the whole file). */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'InputError';
  }
}

export interface InputFileResult {
  readonly file: string;
  readonly format: InputFormat;
  readonly spans: SpanRecord[];
  /** spans an OTLP request carried but the decoder rejected (bad ids, times) */
  readonly rejectedSpans: number;
}

export interface ReadInputsOptions {
  readonly mapping?: AttributeMapping;
  /** service.name of spans made from kc run files */
  readonly kcServiceName?: string;
  /** called with the bytes of each chunk read, for a progress bar */
  readonly onBytes?: (bytes: number) => void;
  /** working directory file names are shown relative to */
  readonly cwd?: string;
}

export interface InputFile {
  /** absolute or as given */
  readonly path: string;
  /** how it is named in messages */
  readonly label: string;
  readonly size: number;
  /** kc run folder name when the file was found as a run's events.jsonl */
  readonly runId?: string;
}

function labelOf(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Expands the command-line paths into the files to read: a file is itself; a folder is the
 * events.jsonl files of the kc runs under it. Throws InputError for a path that does not exist
 * or a folder without kc runs.
 */
export async function expandInputPath(given: string, cwd = process.cwd()): Promise<InputFile[]> {
  const path = resolve(cwd, given);
  const label = labelOf(path, cwd);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new InputError(label, undefined, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (info.isFile()) {
    return [{ path, label, size: info.size, ...(basename(path) === KC_EVENTS_FILE ? { runId: basename(dirname(path)) } : {}) }];
  }
  if (!info.isDirectory()) throw new InputError(label, undefined, 'not a file or folder');
  let runs;
  try {
    runs = await findKcRuns(path);
  } catch (err) {
    throw new InputError(label, undefined, `cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (runs.length === 0) throw new InputError(label, undefined, `no kc run found (expected ${KC_EVENTS_FILE} in the folder, its sub-folders, or runs/)`);
  const out: InputFile[] = [];
  for (const run of runs) {
    const size = (await stat(run.eventsPath)).size;
    out.push({ path: run.eventsPath, label: labelOf(run.eventsPath, cwd), size, runId: run.runId });
  }
  return out;
}

/** Format of one parsed JSON line / document. */
function formatOfValue(value: unknown): InputFormat | undefined {
  if (Array.isArray(value)) return value.length === 0 || value.every((v) => isObject(v) && Array.isArray(v['events'])) ? 'kc_run_data' : undefined;
  if (!isObject(value)) return undefined;
  if ('resourceSpans' in value) return 'otlp_json';
  if ('eventType' in value) return 'kc_events';
  if ('traceId' in value && 'spanId' in value) return 'span_jsonl';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const UNRECOGNIZED = 'unrecognized format (expected OTLP/JSON, JSONL span records or kc events)';
const DETECT_BYTES = 1024 * 1024;

/** Line-per-record when the first non-empty line is a complete JSON value; otherwise one JSON document. */
async function detectLayout(path: string): Promise<{ layout: 'lines'; format: InputFormat } | { layout: 'document' } | { layout: 'empty' }> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(DETECT_BYTES);
    const { bytesRead } = await handle.read(buf, 0, DETECT_BYTES, 0);
    const head = buf.subarray(0, bytesRead).toString('utf8');
    const lines = head.split('\n');
    const complete = bytesRead < DETECT_BYTES ? lines : lines.slice(0, -1);
    const first = complete.find((l) => l.trim() !== '');
    if (first === undefined) return bytesRead < DETECT_BYTES && head.trim() === '' ? { layout: 'empty' } : { layout: 'document' };
    let value: unknown;
    try {
      value = JSON.parse(first);
    } catch {
      return { layout: 'document' };
    }
    const format = formatOfValue(value);
    // a document that happens to fit on one line is still one document
    if (format === undefined || format === 'kc_run_data') return { layout: 'document' };
    return { layout: 'lines', format };
  } finally {
    await handle.close();
  }
}

/** 1-based line of a character position in a text. */
function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Reads one input file; throws InputError naming the file and line of the first problem. */
export async function readInputFile(file: InputFile, options: ReadInputsOptions = {}): Promise<InputFileResult> {
  const mapping = options.mapping ?? DEFAULT_ATTRIBUTE_MAPPING;
  let detected;
  try {
    detected = await detectLayout(file.path);
  } catch (err) {
    throw new InputError(file.label, undefined, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (detected.layout === 'empty') {
    options.onBytes?.(file.size);
    return { file: file.label, format: 'empty', spans: [], rejectedSpans: 0 };
  }
  if (detected.layout === 'document') return readDocument(file, mapping, options);

  const format = detected.format;
  const spans: SpanRecord[] = [];
  const kcEvents: KcEvent[] = [];
  let rejectedSpans = 0;
  const stream = createReadStream(file.path);
  if (options.onBytes) stream.on('data', (chunk) => options.onBytes?.(chunk.length));
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const rawLine of lines) {
      lineNo++;
      const line = rawLine.trim();
      if (line === '') continue;
      switch (format) {
        case 'otlp_json': {
          let decoded;
          try {
            decoded = decodeTraceRequest(Buffer.from(line, 'utf8'), 'json', mapping);
          } catch (err) {
            const reason = err instanceof DecodeError ? err.message : jsonErrorReason(err);
            throw new InputError(file.label, lineNo, `invalid OTLP/JSON (${reason})`);
          }
          for (const s of decoded.spans) spans.push(s);
          rejectedSpans += decoded.rejectedSpans;
          break;
        }
        case 'span_jsonl': {
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (err) {
            throw new InputError(file.label, lineNo, `invalid JSON (${jsonErrorReason(err)})`);
          }
          try {
            spans.push(spanRecordFromJson(value, mapping));
          } catch (err) {
            if (err instanceof SpanJsonError) throw new InputError(file.label, lineNo, `invalid span record: ${err.message}`);
            throw err;
          }
          break;
        }
        case 'kc_events':
          try {
            kcEvents.push(parseKcEventLine(line, lineNo));
          } catch (err) {
            if (err instanceof KcEventLineError) throw new InputError(file.label, lineNo, err.reason);
            throw err;
          }
          break;
        default:
          throw new InputError(file.label, lineNo, UNRECOGNIZED);
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(file.label, lineNo === 0 ? undefined : lineNo, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    lines.close();
    stream.destroy();
  }
  if (format === 'kc_events') {
    const runId = file.runId ?? basename(file.path).replace(/\.jsonl?$/, '');
    spans.push(...kcRunToSpans(kcEvents, { mapping, runId, ...(options.kcServiceName ? { serviceName: options.kcServiceName } : {}) }));
  }
  return { file: file.label, format, spans, rejectedSpans };
}

/** A whole-file JSON document: an OTLP ExportTraceServiceRequest, or kc runData (`runs.json`). */
async function readDocument(file: InputFile, mapping: AttributeMapping, options: ReadInputsOptions): Promise<InputFileResult> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (err) {
    throw new InputError(file.label, undefined, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  options.onBytes?.(file.size);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = jsonErrorReason(err);
    const position = /position (\d+)/.exec(reason);
    const line = position ? lineAt(text, Number(position[1])) : 1;
    throw new InputError(file.label, line, `invalid JSON (${reason})`);
  }
  const format = formatOfValue(value);
  if (format === 'otlp_json') {
    try {
      const decoded = decodeTraceRequest(Buffer.from(text, 'utf8'), 'json', mapping);
      return { file: file.label, format, spans: decoded.spans, rejectedSpans: decoded.rejectedSpans };
    } catch (err) {
      throw new InputError(file.label, undefined, `invalid OTLP/JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (format === 'kc_run_data') {
    const fast = fastKcRunData(value);
    const parsed = fast !== undefined ? { success: true as const, data: fast } : kcRunDataSchema.safeParse(value);
    if (!parsed.success) throw new InputError(file.label, undefined, `invalid kc run data: ${formatZodIssues(parsed.error)}`);
    const spans: SpanRecord[] = [];
    for (const run of parsed.data) {
      spans.push(...kcRunToSpans(run.events, { mapping, runId: run.runId, ...(options.kcServiceName ? { serviceName: options.kcServiceName } : {}) }));
    }
    return { file: file.label, format, spans, rejectedSpans: 0 };
  }
  if (format === 'span_jsonl' || format === 'kc_events') {
    // one record spread over several lines: read it as a one-record file
    try {
      if (format === 'span_jsonl') return { file: file.label, format, spans: [spanRecordFromJson(value, mapping)], rejectedSpans: 0 };
      const event = parseKcEventLine(JSON.stringify(value), 1);
      const runId = file.runId ?? basename(file.path).replace(/\.jsonl?$/, '');
      return { file: file.label, format, spans: kcRunToSpans([event], { mapping, runId }), rejectedSpans: 0 };
    } catch (err) {
      throw new InputError(file.label, 1, err instanceof KcEventLineError ? err.reason : `invalid span record: ${(err as Error).message}`);
    }
  }
  throw new InputError(file.label, undefined, UNRECOGNIZED);
}

export interface ReadInputsResult {
  readonly spans: SpanRecord[];
  readonly files: readonly InputFileResult[];
  readonly errors: readonly InputError[];
  /** paths given on the command line that expanded to no readable file */
  readonly totalFiles: number;
}

/**
 * Reads every input. Without keepGoing the first error is thrown; with it, bad files are
 * collected in `errors` and the rest is read.
 */
export async function readInputs(
  paths: readonly string[],
  options: ReadInputsOptions & { readonly keepGoing?: boolean; readonly onFiles?: (files: readonly InputFile[]) => void } = {},
): Promise<ReadInputsResult> {
  const cwd = options.cwd ?? process.cwd();
  const errors: InputError[] = [];
  const files: InputFile[] = [];
  for (const p of paths) {
    try {
      files.push(...(await expandInputPath(p, cwd)));
    } catch (err) {
      if (!(err instanceof InputError) || !options.keepGoing) throw err;
      errors.push(err);
    }
  }
  options.onFiles?.(files);
  const results: InputFileResult[] = [];
  const spans: SpanRecord[] = [];
  for (const f of files) {
    try {
      const r = await readInputFile(f, options);
      results.push(r);
      for (const s of r.spans) spans.push(s);
    } catch (err) {
      if (!(err instanceof InputError) || !options.keepGoing) throw err;
      errors.push(err);
    }
  }
  return { spans, files: results, errors, totalFiles: files.length };
}
