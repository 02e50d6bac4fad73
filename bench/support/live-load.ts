/**
 * A live orchestrator's OTLP traffic for load benchmarks: `runs` agent runs in flight at once,
 * each a new trace (an invoke_agent root with alternating model and tool calls, seeded durations
 * with a wide spread, a failing tool now and then, a retried call after a 429), replaced by a new
 * run with a new trace id when it ends. `next(count)` returns the next `count` spans in end-time
 * order as an OTLP/protobuf request body, and the event time moves forward with every body:
 * nothing is repeated and nothing is late. Encoded with protobufjs from the OTLP field numbers
 * (src/decode/otlp-descriptor.ts): the OpenTelemetry JS serializer makes ~15 000 spans/s here,
 * too slow to load a sidecar meant for 100 000 (bench/sidecar.bench.ts checks the two agree).
 */
import FlatQueue from 'flatqueue';
import { ExportTraceServiceRequestType, type PbKeyValue, type PbSpan } from '../../src/decode/otlp-descriptor.js';

const TOOLS = ['web_search', 'read_file', 'write_file', 'run_tests', 'git_diff', 'grep'];
const MODELS = ['gpt-4o', 'claude-sonnet', 'gemini-pro'];
const AGENTS = ['planner', 'coder', 'reviewer', 'tester'];
const RESOURCE_ATTRIBUTES: PbKeyValue[] = [{ key: 'service.name', value: { stringValue: 'kc-orchestrator' } }];
const SCOPE = { name: 'kc-orchestrator', version: '1.0.0' };

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pending {
  readonly endMs: number;
  readonly span: PbSpan;
  readonly root: boolean;
}

const toBytes = (hex: string): Uint8Array => Buffer.from(hex, 'hex');
/** epoch ms → unix nanos as protobufjs takes a 64-bit number (exact to the µs here) */
const nanos = (ms: number): number => Math.round(ms * 1e3) * 1e3;

function attributes(record: Record<string, string | number>): PbKeyValue[] {
  return Object.entries(record).map(([key, v]) => ({ key, value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: v } : { doubleValue: v } }));
}

export interface LiveLoadOptions {
  /** runs in flight */
  readonly runs: number;
  /** event time of the first span (epoch ms) */
  readonly startMs: number;
  readonly seed?: number;
  /** calls per run (model and tool calls alternating) */
  readonly callsPerRun?: number;
}

export class LiveLoad {
  private readonly rnd: () => number;
  private readonly queue = new FlatQueue<Pending>();
  private ids = 0;
  private runSeq = 0;
  /** end time of the last span handed out: the event time */
  now: number;
  spansMade = 0;

  constructor(private readonly options: LiveLoadOptions) {
    this.rnd = prng(options.seed ?? 1);
    this.now = options.startMs;
    // stagger the first runs over one run's length so they are at every stage at once
    for (let i = 0; i < options.runs; i++) this.startRun(options.startMs + this.rnd() * 20_000);
  }

  private hex(n: number, len: number): string {
    return n.toString(16).padStart(len, '0').slice(-len);
  }

  /** Lays out one run (its spans queued by end time); a new run starts when it ends. */
  private startRun(at: number): void {
    const run = this.runSeq++;
    const traceId = this.hex(run + 1, 16) + this.hex(Math.floor(this.rnd() * 2 ** 32), 8) + this.hex(Math.floor(this.rnd() * 2 ** 32), 8);
    const rootId = this.hex(++this.ids, 16);
    const agent = AGENTS[run % AGENTS.length] as string;
    const model = MODELS[Math.floor(this.rnd() * MODELS.length)] as string;
    const calls = this.options.callsPerRun ?? 12;
    let t = at + 5;
    const children: Pending[] = [];
    const child = (name: string, attributes: Record<string, string | number>, durationMs: number, failed: string | undefined) => {
      const start = t;
      const end = t + durationMs;
      t = end + 2;
      const spanId = this.hex(++this.ids, 16);
      children.push({ endMs: end, span: this.span(traceId, spanId, rootId, name, start, end, attributes, failed), root: false });
    };
    for (let i = 0; i < calls; i++) {
      if (i % 2 === 0) {
        // a wide latency spread: mostly fast, a long tail
        const d = 40 + this.rnd() * 200 + (this.rnd() < 0.05 ? this.rnd() * 2_000 : 0);
        child(`chat ${model}`, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 800 + Math.floor(this.rnd() * 800), 'gen_ai.usage.output_tokens': 100 + Math.floor(this.rnd() * 300) }, d, undefined);
      } else {
        const tool = TOOLS[Math.floor(this.rnd() * TOOLS.length)] as string;
        const d = 10 + this.rnd() * 120;
        const fail = this.rnd() < 0.02 ? 'timeout' : undefined;
        child(`execute_tool ${tool}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, ...(fail ? { 'error.type': fail } : {}) }, d, fail);
        // a 429 now and then, retried once after a short wait
        if (fail === undefined && this.rnd() < 0.01) child(`execute_tool ${tool}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'http.request.resend_count': 1 }, d, undefined);
      }
    }
    const root = this.span(traceId, rootId, undefined, `invoke_agent ${agent}`, at, t + 1, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent, 'kc.run.id': `run-${run}` }, undefined);
    for (const c of children) this.queue.push(c, c.endMs);
    this.queue.push({ endMs: t + 1, span: root, root: true }, t + 1);
  }

  private span(traceId: string, spanId: string, parentId: string | undefined, name: string, startMs: number, endMs: number, attrs: Record<string, string | number>, error: string | undefined): PbSpan {
    return {
      traceId: toBytes(traceId),
      spanId: toBytes(spanId),
      ...(parentId !== undefined ? { parentSpanId: toBytes(parentId) } : {}),
      name,
      kind: parentId === undefined ? 2 : 3,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(endMs),
      attributes: attributes(attrs),
      status: error === undefined ? { code: 0 } : { code: 2, message: error },
    } as unknown as PbSpan;
  }

  private take(count: number): PbSpan[] {
    const spans: PbSpan[] = [];
    while (spans.length < count) {
      const p = this.queue.pop() as Pending;
      spans.push(p.span);
      this.now = p.endMs;
      // a root ending is a run ending: the next run starts shortly after
      if (p.root) this.startRun(p.endMs + this.rnd() * 1_000);
    }
    this.spansMade += spans.length;
    return spans;
  }

  private request(spans: PbSpan[]) {
    return { resourceSpans: [{ resource: { attributes: RESOURCE_ATTRIBUTES }, scopeSpans: [{ scope: SCOPE, spans }] }] };
  }

  /** The next `count` spans by end time, as an OTLP/protobuf request body. */
  next(count: number): Uint8Array {
    return ExportTraceServiceRequestType.encode(this.request(this.take(count))).finish();
  }

  /** The next `count` spans by end time, as one OTLP/JSON request (a line of an OTLP/JSON file). */
  nextJson(count: number): string {
    const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
    const spans = this.take(count).map((s) => ({
      traceId: hex(s.traceId as Uint8Array),
      spanId: hex(s.spanId as Uint8Array),
      ...(s.parentSpanId ? { parentSpanId: hex(s.parentSpanId as Uint8Array) } : {}),
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: String(s.startTimeUnixNano),
      endTimeUnixNano: String(s.endTimeUnixNano),
      attributes: (s.attributes ?? []).map((a) => ({ key: a.key, value: a.value?.intValue !== undefined ? { intValue: String(a.value.intValue) } : a.value })),
      status: s.status,
    }));
    return JSON.stringify(this.request(spans as unknown as PbSpan[]));
  }
}
