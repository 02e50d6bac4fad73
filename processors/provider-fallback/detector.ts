/**
 * The provider_fallback operator: the tasks of assembled traces into per-series windows (service,
 * task operation, provider), each series judged at each watermark on its shortest window holding
 * min_tasks tasks, and offline the whole input at the end.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { ComponentContext } from '../../src/component/contracts.js';
import type { Judgement, TraceStreamEvent } from '../../src/model/events.js';
import { judgeUpTo, oneShot, previously, type Held, type JudgeLoop } from '../../src/windows/judging.js';
import type { Observation } from '../../src/model/painpoint.js';
import { OVERFLOW_SUBJECT } from '../../src/model/series.js';
import { SeriesWindows, shortestWindowWith, type SeriesView } from '../../src/windows/series-windows.js';
import type { WindowSpec } from '../../src/windows/window-spec.js';
import type { ProviderFallbackConfig } from './config.js';
import { addFallbackTrace, fallbackAggregator, FallbackSubjects, type FallbackInput, type FallbackStats } from './stats.js';
import { judgeFallbacks } from './evidence.js';

function judgeAt(view: SeriesView<FallbackStats>, specs: readonly WindowSpec[], boundary: number, config: ProviderFallbackConfig, held: Held): Observation | undefined {
  const w = shortestWindowWith(view, specs, boundary, (s) => s.tasks, config.min_tasks);
  return w && judgeFallbacks(w.acc, view.subject, w.spec.name, boundary, config, held);
}

export function providerFallbackDetector(config: ProviderFallbackConfig, ctx: ComponentContext): OperatorFunction<TraceStreamEvent, Judgement> {
  return (source) =>
    new Observable<Judgement>((subscriber) => {
      const windows = new SeriesWindows<FallbackStats, FallbackInput>({
        aggregator: fallbackAggregator,
        windows: ctx.settings.windows,
        maxSeries: ctx.settings.series.max_series,
        name: 'provider_fallback',
        metrics: ctx.metrics,
        keepAll: ctx.mode === 'offline',
        judging: ctx.judging,
      });
      const loop: JudgeLoop<FallbackStats, never> = {
        mode: ctx.judging ?? 'changed',
        order: 'key',
        judge(view, boundary) {
          if (view.subject.service === OVERFLOW_SUBJECT.service) return [];
          const o = judgeAt(view, windows.specs, boundary, config, { was: previously(view, 'provider_fallback')?.severity, band: ctx.settings.painpoints.band });
          return o ? [o] : [];
        },
      };
      const subjects = new FallbackSubjects();
      let lastBoundary = Number.NEGATIVE_INFINITY;
      const views = () =>
        [...windows.all()].filter((v) => v.subject.service !== OVERFLOW_SUBJECT.service).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return source.subscribe({
        next(event) {
          switch (event.type) {
            case 'trace':
              addFallbackTrace(windows, event.trace, subjects);
              return;
            case 'watermark': {
              lastBoundary = event.time;
              const out: Judgement[] = [];
              judgeUpTo(windows, event.from, event.time, loop, out);
              for (const j of out) subscriber.next(j);
              return;
            }
            case 'end':
              if (ctx.mode === 'offline' && lastBoundary !== Number.NEGATIVE_INFINITY) {
                for (const view of views()) {
                  const all = view.all();
                  const o = all && judgeFallbacks(all, view.subject, 'all', lastBoundary, config);
                  if (o !== undefined) subscriber.next(oneShot(o));
                }
              }
              return;
            case 'drain':
              return;
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
