/**
 * kc-orchestrator run files on disk: `.kc-orchestrator/runs/<runId>/events.jsonl` (one event per
 * line, written when the run completes) and `summary.json` beside it.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { kcEventSchema, formatZodIssues, type KcEvent } from './events.js';
import { fastKcEvent } from './fast-parse.js';

export const KC_EVENTS_FILE = 'events.jsonl';
export const KC_SUMMARY_FILE = 'summary.json';

/** A bad line of an events file: `line` is 1-based. */
export class KcEventLineError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'KcEventLineError';
  }
}

/** The `Unexpected token …` part of a JSON.parse error, without V8's echo of the whole input. */
export function jsonErrorReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 120 ? msg.slice(0, 117) + '...' : msg;
}

/** Parses one events.jsonl line (1-based `line` for the error). */
export function parseKcEventLine(text: string, line: number): KcEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new KcEventLineError(line, `invalid JSON (${jsonErrorReason(err)})`);
  }
  const fast = fastKcEvent(value);
  if (fast !== undefined) return fast;
  const parsed = kcEventSchema.safeParse(value);
  if (!parsed.success) throw new KcEventLineError(line, `invalid kc event: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

/** Parses a whole events.jsonl text; blank lines are skipped. Throws KcEventLineError on the first bad line. */
export function parseKcEventsText(text: string): KcEvent[] {
  const events: KcEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    events.push(parseKcEventLine(line, i + 1));
  }
  return events;
}

/** Refuses files bigger than this (a run is a few MB; a bigger file is not a kc events file). */
export const DEFAULT_MAX_EVENTS_FILE_BYTES = 256 * 1024 * 1024;

export async function readKcEventsFile(path: string, maxBytes = DEFAULT_MAX_EVENTS_FILE_BYTES): Promise<KcEvent[]> {
  const info = await stat(path);
  if (info.size > maxBytes) throw new Error(`file is ${info.size} bytes, over the ${maxBytes}-byte limit for a kc events file`);
  return parseKcEventsText(await readFile(path, 'utf8'));
}

export interface KcRunLocation {
  /** the run folder's name, used as run id for events without one */
  readonly runId: string;
  readonly eventsPath: string;
}

/** The entry at `path`, or undefined when there is none; any other error (permissions, I/O) is thrown. */
async function statIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await statIfPresent(path))?.isFile() ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await statIfPresent(path))?.isDirectory() ?? false;
}

/**
 * The kc runs under a folder, in name order: the folder itself when it holds events.jsonl (a run
 * folder), else its sub-folders holding one (a runs folder), else its `runs/` or
 * `.kc-orchestrator/runs/` (a project or `.kc-orchestrator` folder).
 */
export async function findKcRuns(dir: string): Promise<KcRunLocation[]> {
  const own = join(dir, KC_EVENTS_FILE);
  if (await isFile(own)) return [{ runId: basename(dir), eventsPath: own }];
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const runs: KcRunLocation[] = [];
  for (const name of names) {
    const events = join(dir, name, KC_EVENTS_FILE);
    if (await isFile(events)) runs.push({ runId: name, eventsPath: events });
  }
  if (runs.length > 0) return runs;
  for (const nested of ['runs', join('.kc-orchestrator', 'runs')]) {
    if (await isDirectory(join(dir, nested))) return findKcRuns(join(dir, nested));
  }
  return [];
}
