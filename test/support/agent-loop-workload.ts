/**
 * Agent runs as span trees for agent_loop: each run is one agent invocation (the root span, kc run
 * id on it) whose model turns and tool calls carry tool names and JSON arguments, as an agent
 * framework records them. Healthy runs read several files, edit one and read it again (sometimes
 * twice); a stuck run reads the same file again and again; a ping-pong alternates two calls.
 */
import type { SpanTree } from './readable-to-record.js';

interface StepOptions {
  readonly fail?: boolean;
  readonly attempt?: number;
  /** `http.request.resend_count` (0 on the first try) instead of an attempt number */
  readonly resendCount?: number;
  /** ms this step takes instead of the run's stepMs */
  readonly ms?: number;
}

interface ToolOptions extends StepOptions {
  /** `gen_ai.tool.call.id` */
  readonly callId?: string;
  /** `gen_ai.tool.call.result` */
  readonly result?: string;
}

export type Step =
  | ({ readonly chat: true; readonly finish?: readonly string[]; readonly outputTokens?: number } & StepOptions)
  | ({ readonly tool: string; readonly args: Record<string, unknown> | string | undefined } & ToolOptions)
  /** tool calls the model asked for in one turn, run at once (they end in any order) */
  | { readonly parallel: readonly Step[] };

export const chat = (over: StepOptions & { finish?: readonly string[]; outputTokens?: number } = {}): Step => ({ chat: true, ...over });
export const call = (tool: string, args: Record<string, unknown> | string | undefined, over: ToolOptions = {}): Step => ({ tool, args, ...over });
export const parallel = (...steps: Step[]): Step => ({ parallel: steps });

export interface RunSpec {
  readonly runId: string;
  readonly start: number;
  /** ms each step takes (steps run one after another, 20 ms apart) */
  readonly stepMs: number;
  readonly steps: readonly Step[];
  readonly agent?: string;
  /** ms the root stays open after its last step */
  readonly tailMs?: number;
}

/** The span of one step starting at `start`. */
function stepSpan(s: Exclude<Step, { parallel: readonly Step[] }>, runId: string, start: number, end: number): SpanTree {
  const failure = s.fail ? { error: 'call failed' } : {};
  // the conversation id, as GenAI instrumentations set it on every call: the run id of the calls
  const attempt = {
    'gen_ai.conversation.id': runId,
    ...(s.attempt !== undefined ? { 'retry.attempt': s.attempt } : {}),
    ...(s.resendCount !== undefined ? { 'http.request.resend_count': s.resendCount } : {}),
  };
  if ('chat' in s) {
    return {
      name: 'chat gpt-4o',
      start,
      end,
      ...failure,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.provider.name': 'openai',
        'gen_ai.usage.input_tokens': 2_000,
        'gen_ai.usage.output_tokens': s.outputTokens ?? 150,
        ...(s.finish !== undefined ? { 'gen_ai.response.finish_reasons': [...s.finish] } : {}),
        ...attempt,
        ...(s.fail ? { 'error.type': 'http_503' } : {}),
      },
    };
  }
  return {
    name: `execute_tool ${s.tool}`,
    start,
    end,
    ...failure,
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': s.tool,
      ...(s.args !== undefined ? { 'gen_ai.tool.call.arguments': typeof s.args === 'string' ? s.args : JSON.stringify(s.args) } : {}),
      ...(s.callId !== undefined ? { 'gen_ai.tool.call.id': s.callId } : {}),
      ...(s.result !== undefined ? { 'gen_ai.tool.call.result': s.result } : {}),
      ...attempt,
    },
  };
}

/** One run: a root `invoke_agent` span with the steps as children. */
export function agentRun(r: RunSpec): SpanTree {
  let t = r.start + 10;
  const children: SpanTree[] = r.steps.flatMap((s) => {
    const start = t;
    if ('parallel' in s) {
      // started together; the k-th takes a little longer than the one before, so they end in turn
      const spans = s.parallel.map((p, k) => stepSpan(p as Exclude<Step, { parallel: readonly Step[] }>, r.runId, start + k, start + ('ms' in p && p.ms !== undefined ? p.ms : r.stepMs) + k));
      t = Math.max(...spans.map((x) => x.end)) + 20;
      return spans;
    }
    const end = t + (s.ms ?? r.stepMs);
    t = end + 20;
    return [stepSpan(s, r.runId, start, end)];
  });
  return {
    name: `invoke_agent ${r.agent ?? 'coder'}`,
    start: r.start,
    end: t + (r.tailMs ?? 10),
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': r.agent ?? 'coder', 'kc.run.id': r.runId },
    children,
  };
}

/**
 * A healthy run: read a few files, edit one, read it again (in one run in three, twice), run the
 * tests; a model turn between tool calls.
 */
export function healthySteps(i: number): Step[] {
  const file = (n: number) => ({ path: `src/module-${(i + n) % 17}.ts` });
  const steps: Step[] = [chat(), call('read_file', file(0)), chat(), call('read_file', file(1)), call('read_file', file(2)), chat()];
  steps.push(call('edit_file', { ...file(0), patch: `@@ -1 +1 @@ change ${i}` }), chat(), call('read_file', file(0)));
  if (i % 3 === 0) steps.push(call('read_file', file(0)));
  steps.push(chat(), call('run_tests', { filter: `module-${i % 17}` }), chat());
  return steps;
}

/** A stuck run: reads the same file again and again between model turns. */
export function loopSteps(repeats: number): Step[] {
  const steps: Step[] = [chat(), call('read_file', { path: 'src/config.ts' }), chat(), call('grep', { pattern: 'TODO' })];
  // the same arguments, written with the keys in either order
  for (let k = 0; k < repeats; k++) steps.push(chat(), call('read_file', k % 2 === 0 ? { path: 'src/payment.ts', encoding: 'utf8' } : { encoding: 'utf8', path: 'src/payment.ts' }));
  return steps;
}

/** Two calls in turn with the same arguments: A→B→A→B… */
export function pingPongSteps(cycles: number): Step[] {
  const steps: Step[] = [chat()];
  for (let k = 0; k < cycles; k++) steps.push(call('read_file', { path: 'src/a.ts' }), chat(), call('write_file', { path: 'src/a.ts', content: 'same' }), chat());
  return steps;
}
