import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysisJson, runAnalyze, type AnalyzeOptions } from '../src/analyze/command.js';
import { problemRecordSchema } from '../src/model/problem.js';
import { problemAnalysisResult } from './fixtures/report/painpoints.js';
import { spanRecordToJson } from '../src/analyze/span-json.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { kcRunDataSchema } from '../src/kc/run-data.js';
import { generateKcRuns } from './fixtures/kc/generate-runs.js';
import type { AttrValue, Attributes, SpanRecord } from '../src/model/span.js';

function anyValue(v: AttrValue): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: (v as AttrValue[]).map(anyValue) } };
  throw new Error(`unexpected attribute ${String(v)}`);
}
const kv = (a: Attributes) => Object.entries(a).map(([key, value]) => ({ key, value: anyValue(value) }));
const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
function toOtlpJson(spans: readonly SpanRecord[]): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: kv(spans[0]!.resource) },
        scopeSpans: [
          {
            scope: { name: spans[0]!.scopeName },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: kv(s.attributes),
              events: s.events.map((e) => ({ name: e.name, timeUnixNano: nanos(e.timeMs), attributes: kv(e.attributes) })),
              status: { code: s.statusCode, message: s.statusMessage },
            })),
          },
        ],
      },
    ],
  };
}

const RUNS = generateKcRuns({ runs: 12, tasksPerRun: 20, seed: 11, timeScale: 0.01 });
let dir: string;

async function analyze(paths: string[], opts: Partial<AnalyzeOptions> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAnalyze(paths, { format: 'markdown', ...opts }, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: false,
    cwd: dir,
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-analyze-cmd-'));
  for (const run of RUNS) {
    await mkdir(join(dir, 'runs', run.runId), { recursive: true });
    await writeFile(join(dir, 'runs', run.runId, 'events.jsonl'), run.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await writeFile(join(dir, 'runs', run.runId, 'summary.json'), JSON.stringify(run.summary));
  }
  // the same runs as JSONL span records
  const spans = kcRunDataSchema.parse(RUNS).flatMap((r) => kcRunToSpans(r.events, { runId: r.runId }));
  await writeFile(join(dir, 'spans.jsonl'), spans.map((s) => JSON.stringify(spanRecordToJson(s))).join('\n') + '\n');
  // and as OTLP/JSON, one ExportTraceServiceRequest per run and line
  const otlpLines = kcRunDataSchema.parse(RUNS).map((r) => JSON.stringify(toOtlpJson(kcRunToSpans(r.events, { runId: r.runId }))));
  await writeFile(join(dir, 'traces.otlp.jsonl'), otlpLines.join('\n') + '\n');
  await mkdir(join(dir, 'broken', 'r-bad'), { recursive: true });
  await writeFile(join(dir, 'broken', 'r-bad', 'events.jsonl'), `${JSON.stringify(RUNS[0]?.events[0])}\n{"eventType": "task_execution",\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sidelight analyze', () => {
  it('prints {problems, painpoints, recommendations, statistics} for a kc runs folder, byte-identical on a second run', async () => {
    const first = await analyze(['runs'], { format: 'json' });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.stdout) as {
      problems: unknown[];
      painpoints: { kind: string; subject: Record<string, string> }[];
      recommendations: unknown[];
      statistics: { runs: number; spans: number; problems: Record<string, number> };
    };
    expect(Object.keys(doc)).toEqual(['problems', 'painpoints', 'recommendations', 'statistics']);
    expect(doc.statistics.runs).toBe(12);
    expect(doc.painpoints.length).toBeGreaterThan(0);
    expect(doc.recommendations.length).toBeGreaterThan(0);
    // fewer causes than findings, and counted as the list holds them
    const problems = doc.problems as { severity: string; root: { id: string } }[];
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.length).toBeLessThan(doc.painpoints.length);
    const counted = { high: 0, medium: 0, low: 0 } as Record<string, number>;
    for (const p of problems) counted[p.severity] = (counted[p.severity] ?? 0) + 1;
    expect(doc.statistics.problems).toEqual(counted);
    expect(first.stdout.startsWith('{\n  "problems": [\n    {\n      "id": "pb-')).toBe(true);
    const second = await analyze(['runs'], { format: 'json' });
    expect(second.stdout).toBe(first.stdout);
  });

  it('prints the problems first, each record as the problems stage writes it, with the statistics counting them', () => {
    const result = problemAnalysisResult();
    const text = analysisJson(result);
    const doc = JSON.parse(text) as { problems: unknown[]; statistics: { problems: Record<string, number> } };
    expect(text.startsWith('{\n  "problems": [\n    {\n      "id": "pb-')).toBe(true);
    expect(doc.problems.map((p) => problemRecordSchema.parse(p))).toEqual(result.problems);
    expect(doc.statistics.problems).toEqual({ high: 1, medium: 1, low: 0 });
    expect(analysisJson(result)).toBe(text);
  });

  it('finds the same pain points in the runs as JSONL span records and as OTLP/JSON', async () => {
    const fromKc = JSON.parse((await analyze(['runs'], { format: 'json' })).stdout) as { painpoints: unknown; statistics: { spans: number } };
    const fromSpans = JSON.parse((await analyze(['spans.jsonl'], { format: 'json' })).stdout) as { painpoints: unknown };
    expect(fromSpans.painpoints).toEqual(fromKc.painpoints);
    const otlp = await analyze(['traces.otlp.jsonl'], { format: 'json' });
    expect(otlp.stderr).toBe('');
    const fromOtlp = JSON.parse(otlp.stdout) as { painpoints: unknown; statistics: { spans: number } };
    expect(fromOtlp.statistics.spans).toBe(fromKc.statistics.spans);
    expect(fromOtlp.painpoints).toEqual(fromKc.painpoints);
  });

  it('prints a markdown report by default and writes pain points as JSONL', async () => {
    const r = await analyze(['runs'], { jsonl: join(dir, 'out', 'pp.jsonl') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# Sidelight report/);
    const json = JSON.parse((await analyze(['runs'], { format: 'json' })).stdout) as { painpoints: { id: string }[] };
    const lines = (await readFile(join(dir, 'out', 'pp.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(json.painpoints.map((p) => p.id));
  });

  it('needs --out for html and writes the report there', async () => {
    expect(await analyze(['runs'], { format: 'html' })).toEqual({ code: 2, stdout: '', stderr: 'analyze: --format html needs --out FILE\n' });
    const r = await analyze(['runs'], { format: 'html', out: join(dir, 'out', 'report.html') });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(await readFile(join(dir, 'out', 'report.html'), 'utf8')).toMatch(/<html/i);
  });

  it('stops at a broken file with one line naming file and line, exit code 1', async () => {
    const r = await analyze(['runs', 'broken']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^analyze: broken\/r-bad\/events\.jsonl:2: invalid JSON \([^\n]+\)\n$/);
  });

  it('with --keep-going reports the broken file and analyzes the rest', async () => {
    const r = await analyze(['runs', 'broken', 'missing.json'], { format: 'json', keepGoing: true });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')).toEqual([
      'analyze: missing.json: cannot read (ENOENT)',
      expect.stringMatching(/^analyze: broken\/r-bad\/events\.jsonl:2: invalid JSON/) as unknown,
      'analyze: 2 input(s) skipped, 12 read',
      '',
    ]);
    expect((JSON.parse(r.stdout) as { statistics: { runs: number } }).statistics.runs).toBe(12);
    const none = await analyze(['broken'], { keepGoing: true });
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n').pop()).toBe('analyze: nothing could be read');
  });

  it('rejects a config that cannot be read (2) or is invalid (1)', async () => {
    expect((await analyze(['runs'], { config: join(dir, 'nope.yaml') })).code).toBe(2);
    await writeFile(join(dir, 'bad.yaml'), 'processors:\n  failure_rate: {min_samples: "many"}\n  nonsense: {}\n');
    const r = await analyze(['runs'], { config: join(dir, 'bad.yaml') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('processors.nonsense');
  });
});
