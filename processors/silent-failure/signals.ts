/**
 * Which calls silent_failure judges and what makes one a silent failure (docs/painpoints.md): a
 * call reported as successful that did not do its job — a model answer cut off at its token limit
 * or withheld by a filter, a model answer with no output, a tool whose result says it failed.
 */
import type { SpanRecord } from '../../src/model/span.js';
import { isModelCall } from '../../src/model/cost.js';
import type { SilentFailureConfig } from './config.js';

/** The signals, in the order a call showing several is labelled by (the first wins). */
export const SILENT_SIGNALS = ['content_filter', 'length', 'empty_output', 'tool_result_error'] as const;
export type SilentSignal = (typeof SILENT_SIGNALS)[number];

/** Finish reasons of an answer that asks for tool calls (OpenAI, Anthropic, older OpenAI functions). */
const TOOL_CALL_REASONS: ReadonlySet<string> = new Set(['tool_calls', 'tool_use', 'function_call']);

export interface SilentClassifier {
  /** the call counts in the rate: a successful model call, or a successful tool call whose result was recorded */
  judged(span: SpanRecord): boolean;
  /** its silent-failure signal, or undefined for a call that did its job */
  signal(span: SpanRecord): SilentSignal | undefined;
}

export function silentClassifier(config: Pick<SilentFailureConfig, 'length_reasons' | 'filter_reasons' | 'empty_output'>): SilentClassifier {
  const length = new Set(config.length_reasons.map((r) => r.toLowerCase()));
  const filter = new Set(config.filter_reasons.map((r) => r.toLowerCase()));
  const answering = (span: SpanRecord) => isModelCall(span) && span.operationName !== 'embeddings';
  return {
    judged: (span) => !span.failed && (answering(span) || span.toolResultError !== undefined),
    signal(span) {
      if (answering(span)) {
        const reasons = span.finishReasons;
        if (reasons !== undefined) {
          if (reasons.some((r) => filter.has(r))) return 'content_filter';
          if (reasons.some((r) => length.has(r))) return 'length';
        }
        // a call that stopped to call tools did its job, whatever its provider counts as output
        if (config.empty_output && span.outputTokens === 0 && !reasons?.some((r) => TOOL_CALL_REASONS.has(r))) return 'empty_output';
        return undefined;
      }
      return span.toolResultError === true ? 'tool_result_error' : undefined;
    },
  };
}
