/**
 * `createPipeline(config)` (README.md, Offline analysis): the engine in-process, for a program that already has span
 * records (from its own instrumentation, or `kcRunToSpans`) and wants pain-point changes as
 * they happen, without receivers or exporters.
 */
import { asyncScheduler, ReplaySubject, Subject, type Observable, type SchedulerLike } from 'rxjs';
import { Registry } from '../telemetry/prom.js';
import type { SpanRecord } from '../model/span.js';
import { isProblemChange, type PainPointChange } from '../model/events.js';
import type { ProblemChange } from '../model/problem.js';
import { parseAnalysisConfig, type SidelightConfig } from '../config-file/load.js';
import { analysisComponents, ANALYSIS_DEFAULTS } from '../pipeline/processor-registry.js';
import { buildEngineParts } from '../pipeline/engine-parts.js';
import { runEngine } from '../pipeline/engine.js';
import { newClockState, type EventClockState } from '../windows/event-clock.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';

export interface CreatePipelineOptions {
  /**
   * live: the idle watermark follows the scheduler's clock, so windows close while no span arrives;
   * offline (default): only the spans' own time moves it, and the whole input is judged at close()
   */
  readonly mode?: 'live' | 'offline';
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
  readonly metrics?: Registry;
}

export interface InProcessPipeline {
  /** every pain-point state change, in order (replayed to late subscribers) */
  readonly changes$: Observable<PainPointChange>;
  /** every problem state change (one cause, one alert), in order (replayed to late subscribers) */
  readonly problems$: Observable<ProblemChange>;
  /** feeds spans in; they should come roughly in end-time order (late ones are dropped and counted) */
  push(spans: Iterable<SpanRecord>): void;
  /** ends the input: buffered traces complete, open windows close; resolves to every change */
  close(): Promise<PainPointChange[]>;
  readonly clock: Readonly<EventClockState>;
}

export function createPipeline(config: unknown | SidelightConfig = {}, options: CreatePipelineOptions = {}): InProcessPipeline {
  const resolved = isResolved(config) ? config : parseAnalysisConfig(config, analysisComponents, ANALYSIS_DEFAULTS);
  const mode = options.mode ?? 'offline';
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = options.metrics ?? new Registry();
  const logger = options.logger ?? silentLogger;
  const [pipelineName, pipeline] = Object.entries(resolved.pipelines)[0] ?? [];
  const ctx = { scheduler, metrics, logger, settings: resolved.service, mode, id: 'library', ...(pipelineName !== undefined ? { pipeline: pipelineName } : {}) };
  const parts = buildEngineParts(resolved, pipeline ? pipeline.processors : [...resolved.processors.keys()], ctx);
  const input = new Subject<SpanRecord>();
  const clock = newClockState();
  // bounded by the number of state changes, which the lifecycle caps (max_active)
  const changes$ = new ReplaySubject<PainPointChange>();
  const problems$ = new ReplaySubject<ProblemChange>();
  const all: PainPointChange[] = [];
  const done = new Promise<PainPointChange[]>((resolve, reject) => {
    runEngine(input, parts, { settings: resolved.service, scheduler, metrics, logger, idleAdvance: mode === 'live', clockState: clock }).subscribe({
      next: (c) => {
        if (isProblemChange(c)) {
          problems$.next(c);
          return;
        }
        all.push(c);
        changes$.next(c);
      },
      error: (err: unknown) => {
        problems$.error(err);
        changes$.error(err);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
      complete: () => {
        problems$.complete();
        changes$.complete();
        resolve(all);
      },
    });
  });
  return {
    changes$,
    problems$,
    push(spans) {
      for (const s of spans) input.next(s);
    },
    close() {
      input.complete();
      return done;
    },
    clock,
  };
}

function isResolved(config: unknown): config is SidelightConfig {
  return config !== null && typeof config === 'object' && (config as { receivers?: unknown }).receivers instanceof Map;
}
