import { mkdtemp, mkdir, writeFile, cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError, readInputs } from '../src/analyze/inputs.js';
import { spanRecordFromJson, spanRecordToJson } from '../src/analyze/span-json.js';
import { stableStringify } from '../src/analyze/stable-json.js';
import { createInputProgress, PROGRESS_MIN_BYTES } from '../src/analyze/progress.js';
import { kcRunToSpans } from '../src/kc/run-to-spans.js';
import { readKcEventsFile } from '../src/kc/run-files.js';
import { deriveSpan } from '../src/model/derive.js';
import { SpanKind, StatusCode, type RawSpan } from '../src/model/span.js';

const KC_FIXTURES = fileURLToPath(new URL('./fixtures/kc/', import.meta.url));

function otlpRequest(spanName: string, traceByte: string, startNs: bigint, status = 0): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: [
              {
                traceId: traceByte.repeat(32),
                spanId: traceByte.repeat(16),
                name: spanName,
                kind: 3,
                startTimeUnixNano: String(startNs),
                endTimeUnixNano: String(startNs + 250_000_000n),
                attributes: [{ key: 'gen_ai.tool.name', value: { stringValue: 'web_search' } }],
                status: { code: status },
              },
            ],
          },
        ],
      },
    ],
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-analyze-inputs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('span record JSON codec', () => {
  const raw = (): RawSpan => {
    const attributes = Object.create(null) as Record<string, unknown>;
    Object.assign(attributes, {
      big: 9007199254740993n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      nan: NaN,
      tagged: Object.assign(Object.create(null) as object, { $bigint: 'not a tag' }),
      list: ['a', 1, true, null],
    });
    attributes['__proto__'] = 'data';
    return {
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      name: 'execute_tool',
      kind: SpanKind.CLIENT,
      startMs: 1_700_000_000_000.5,
      endMs: 1_700_000_000_100.25,
      durationMs: 99.75,
      statusCode: StatusCode.ERROR,
      statusMessage: 'boom',
      attributes: attributes as RawSpan['attributes'],
      events: [{ name: 'exception', timeMs: 1_700_000_000_050, attributes: { 'exception.type': 'Boom' } }],
      links: [],
      resource: { 'service.name': 'svc' },
      scopeName: 'scope',
    };
  };

  it('round-trips bigint, bytes, NaN, tag-like maps and __proto__ keys', () => {
    const span = deriveSpan(raw());
    const line = JSON.stringify(spanRecordToJson(span));
    const back = spanRecordFromJson(JSON.parse(line));
    expect(back).toEqual(span);
    expect(back.attributes['big']).toBe(9007199254740993n);
    expect(back.attributes['bytes']).toEqual(new Uint8Array([0, 1, 254, 255]));
    expect(back.attributes['tagged']).toEqual(Object.assign(Object.create(null) as object, { $bigint: 'not a tag' }));
    expect(Object.getPrototypeOf(back.attributes)).toBeNull();
    expect(back.attributes['__proto__']).toBe('data');
    expect(back.errorClass).toBe('Boom');
  });

  it('names the field of an invalid record', () => {
    const json = spanRecordToJson(deriveSpan(raw()));
    expect(() => spanRecordFromJson({ ...json, spanId: 'xyz' })).toThrow(/spanId: expected 16 hex characters/);
    expect(() => spanRecordFromJson({ ...json, attributes: { n: { $bigint: '1.5' } } })).toThrow(/attributes\.n\.\$bigint: expected a decimal integer string/);
  });
});

describe('analyze input readers', () => {
  it('reads OTLP/JSON with one request per line', async () => {
    const file = join(dir, 'traces.jsonl');
    await writeFile(file, [otlpRequest('a', '1', 1_700_000_000_000_000_000n), otlpRequest('b', '2', 1_700_000_001_000_000_000n, 2)].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = await readInputs([file], { cwd: dir });
    expect(r.files).toEqual([expect.objectContaining({ file: 'traces.jsonl', format: 'otlp_json', rejectedSpans: 0 })]);
    expect(r.spans.map((s) => [s.name, s.tool, s.failed, s.durationMs])).toEqual([
      ['a', 'web_search', false, 250],
      ['b', 'web_search', true, 250],
    ]);
  });

  it('reads a pretty-printed OTLP/JSON document', async () => {
    const file = join(dir, 'export.json');
    await writeFile(file, JSON.stringify(otlpRequest('a', '3', 1_700_000_000_000_000_000n), null, 2));
    const r = await readInputs([file], { cwd: dir });
    expect(r.files[0]?.format).toBe('otlp_json');
    expect(r.spans).toHaveLength(1);
  });

  it('reads JSONL span records', async () => {
    const spans = kcRunToSpans(await readKcEventsFile(join(KC_FIXTURES, 'runs/run-2026-01-10-a/events.jsonl')), { runId: 'run-2026-01-10-a' });
    const file = join(dir, 'spans.jsonl');
    await writeFile(file, spans.map((s) => JSON.stringify(spanRecordToJson(s))).join('\n') + '\n');
    const r = await readInputs([file], { cwd: dir });
    expect(r.files[0]?.format).toBe('span_jsonl');
    expect(r.spans).toEqual(spans);
  });

  it('reads a kc runs folder, a run folder and an events.jsonl file alike', async () => {
    const all = await readInputs([join(KC_FIXTURES, 'runs')], { cwd: KC_FIXTURES });
    expect(all.files.map((f) => [f.file, f.format])).toEqual([
      ['runs/run-2026-01-10-a/events.jsonl', 'kc_events'],
      ['runs/run-2026-01-10-b/events.jsonl', 'kc_events'],
    ]);
    expect(all.spans).toHaveLength(11 + 5);
    const project = await readInputs([KC_FIXTURES], { cwd: KC_FIXTURES });
    expect(project.spans).toEqual(all.spans);
    const one = await readInputs([join(KC_FIXTURES, 'runs/run-2026-01-10-b/events.jsonl')]);
    expect(one.spans).toEqual(all.spans.slice(11));
    expect(new Set(one.spans.map((s) => s.runId))).toEqual(new Set(['run-2026-01-10-b']));
  });

  it('reads kc runData (runs.json) as a document', async () => {
    const events = (await import('node:fs')).readFileSync(join(KC_FIXTURES, 'runs/run-2026-01-10-b/events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const file = join(dir, 'runs.json');
    await writeFile(file, JSON.stringify([{ runId: 'run-2026-01-10-b', summary: {}, events }], null, 2));
    const r = await readInputs([file]);
    expect(r.files[0]?.format).toBe('kc_run_data');
    expect(r.spans).toHaveLength(5);
  });

  it('names file and line of malformed JSON in a kc events file', async () => {
    const run = join(dir, 'runs', 'r1');
    await mkdir(run, { recursive: true });
    const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ eventType: 'task_selection', timestamp: new Date(1_700_000_000_000 + i).toISOString(), runId: 'r1', taskId: `t${i}` }));
    await writeFile(join(run, 'events.jsonl'), [...lines, '{"eventType": "task_execution", oops}'].join('\n') + '\n');
    const err = await readInputs([join(dir, 'runs')], { cwd: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/^runs\/r1\/events\.jsonl:17: invalid JSON \(.+\)$/);
  });

  it('names the line of a pretty-printed document with a syntax error', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{\n  "resourceSpans": [\n    {,}\n  ]\n}\n');
    const err = (await readInputs([file], { cwd: dir }).catch((e: unknown) => e)) as InputError;
    expect(err.message).toMatch(/^broken\.json:3: invalid JSON/);
  });

  it('rejects a file of unknown content and a missing path', async () => {
    await writeFile(join(dir, 'notes.jsonl'), '{"hello": "world"}\n');
    await expect(readInputs([join(dir, 'notes.jsonl')], { cwd: dir })).rejects.toThrow(/^notes\.jsonl: unrecognized format/);
    await expect(readInputs([join(dir, 'missing.json')], { cwd: dir })).rejects.toThrow('missing.json: cannot read (ENOENT)');
    await mkdir(join(dir, 'empty'));
    await expect(readInputs([join(dir, 'empty')], { cwd: dir })).rejects.toThrow(/^empty: no kc run found/);
  });

  it('with keepGoing reads the good files and reports the bad ones', async () => {
    await cp(join(KC_FIXTURES, 'runs'), join(dir, 'runs'), { recursive: true });
    await mkdir(join(dir, 'runs', 'r-bad'));
    await writeFile(join(dir, 'runs', 'r-bad', 'events.jsonl'), '{"eventType":"run_start","timestamp":"2026-01-10T10:00:00Z"}\n{"eventType":"task_execution","timestamp":"2026-01-10T10:00:01Z","taskId":"x","success":"yes","executionTime":1}\n');
    const r = await readInputs([join(dir, 'runs'), join(dir, 'nope')], { cwd: dir, keepGoing: true });
    expect(r.errors.map((e) => e.message)).toEqual([
      'nope: cannot read (ENOENT)',
      'runs/r-bad/events.jsonl:2: invalid kc event: success: Invalid input: expected boolean, received string',
    ]);
    expect(r.files).toHaveLength(2);
    expect(r.spans).toHaveLength(16);
  });

  it('prints stable JSON whatever the key insertion order', () => {
    expect(stableStringify({ z: 1, id: 'x', a: { c: 1, b: 2 } })).toBe(stableStringify({ a: { b: 2, c: 1 }, id: 'x', z: 1 }));
    expect(stableStringify({ z: 1, id: 'x', a: 1 })).toBe('{"id":"x","a":1,"z":1}');
  });

  it('draws a progress bar on stderr only for a terminal and a long input', () => {
    const written: string[] = [];
    const stderr = { write: (c: string) => written.push(c) > 0 };
    const quiet = createInputProgress(stderr, false, 10 * PROGRESS_MIN_BYTES);
    quiet.add(PROGRESS_MIN_BYTES);
    quiet.stop();
    const short = createInputProgress(stderr, true, PROGRESS_MIN_BYTES - 1);
    short.add(10);
    short.stop();
    expect(written).toEqual([]);
    const bar = createInputProgress(stderr, true, 2 * PROGRESS_MIN_BYTES);
    bar.add(2 * PROGRESS_MIN_BYTES);
    bar.stop();
    expect(written.join('')).toContain('reading [');
    expect(written.join('')).toContain('16.0/16.0 MB');
  });
});
