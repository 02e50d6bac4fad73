/**
 * The event clock (docs/architecture.md, Event time and windows): turns the span stream into the pipeline's event-time stream.
 * watermark = max end time seen − allowed_lateness; when no span arrives, the max end time
 * advances by the wall-clock time elapsed since the last arrival, so a quiet sidecar still closes
 * windows while a fast replay of yesterday is judged on its own time. A watermark event is
 * emitted once per advance, naming the boundaries it closed, (from, time]; spans whose pane
 * already closed are dropped and counted.
 */
import { Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Registry } from 'prom-client';
import type { SpanRecord } from '../model/span.js';
import type { PipelineEvent } from '../model/events.js';
import type { WindowsSettings } from '../config/service-schema.js';
import { paneStart } from './window-spec.js';
import { windowMetrics } from './window-metrics.js';

export interface EventClockOptions {
  readonly windows: WindowsSettings;
  readonly scheduler: SchedulerLike;
  readonly metrics?: Registry;
  /** live: the idle watermark advances with the scheduler's clock; offline: only data moves it */
  readonly idleAdvance: boolean;
}

/** Counters a caller (analyze statistics, tests) can read. */
export interface EventClockState {
  watermark: number;
  maxEventTime: number;
  lateSpansDropped: number;
}

export function eventClock(options: EventClockOptions, state: EventClockState = newClockState()): OperatorFunction<SpanRecord, PipelineEvent> {
  const { windows, scheduler } = options;
  const slide = windows.slide;
  // Detectors judge at every `step` boundary: every slide by default (exact), coarser when asked.
  const step = Math.max(slide, windows.judge_every ?? slide);
  const metrics = options.metrics ? windowMetrics(options.metrics) : undefined;

  return (source) =>
    new Observable<PipelineEvent>((subscriber) => {
      // The last boundary emitted; every pane ending at or before it is closed.
      let closedUpTo = Number.NEGATIVE_INFINITY;
      let lastArrivalWall = scheduler.now();

      // One event per advance, however many boundaries it crosses: detectors judge only the
      // boundaries in (from, time] where something they read changed (docs/engine.md).
      const emitBoundariesUpTo = (watermark: number) => {
        const target = paneStart(watermark, step);
        if (!(target > closedUpTo)) return;
        const from = closedUpTo;
        closedUpTo = target;
        state.watermark = target;
        // Nothing lies before the first span: start the boundary sequence without closing anything.
        if (from === Number.NEGATIVE_INFINITY) return;
        subscriber.next({ type: 'watermark', time: target, from });
      };

      const advanceIdle = () => {
        if (state.maxEventTime === Number.NEGATIVE_INFINITY) return;
        const idleFor = scheduler.now() - lastArrivalWall;
        const effectiveMax = state.maxEventTime + Math.max(0, idleFor);
        emitBoundariesUpTo(effectiveMax - windows.allowed_lateness);
        metrics?.watermarkLag.set(Math.max(0, scheduler.now() - closedUpTo) / 1000);
      };

      const timer = options.idleAdvance
        ? scheduler.schedule(function tick(this: { schedule(state?: unknown, delay?: number): unknown }) {
            advanceIdle();
            this.schedule(undefined, windows.tick);
          }, windows.tick)
        : undefined;

      const sub = source.subscribe({
        next(span) {
          const end = span.endMs;
          if (!Number.isFinite(end)) return;
          // A span in a pane that already closed cannot change a judged window: drop it, count it.
          if (paneStart(end, slide) + slide <= closedUpTo) {
            state.lateSpansDropped++;
            metrics?.lateSpans.inc();
            return;
          }
          // The idle advance counts only while nothing arrives: the boundaries it closed stay closed,
          // but it is not carried into the data's time (carrying it at every arrival made the
          // watermark run ahead of data whose event time moves slower than the wall clock, as a
          // backlog being worked off does, and dropped that data as late).
          lastArrivalWall = scheduler.now();
          metrics?.processedSpans.inc();
          subscriber.next({ type: 'span', span });
          if (end > state.maxEventTime) state.maxEventTime = end;
          emitBoundariesUpTo(state.maxEventTime - windows.allowed_lateness);
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          timer?.unsubscribe();
          // Drain: buffered traces flush first, then the watermark jumps past every pane with data.
          subscriber.next({ type: 'drain' });
          if (state.maxEventTime !== Number.NEGATIVE_INFINITY) {
            emitBoundariesUpTo(paneStart(state.maxEventTime, step) + step);
          }
          subscriber.next({ type: 'end' });
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}

export function newClockState(): EventClockState {
  return { watermark: Number.NEGATIVE_INFINITY, maxEventTime: Number.NEGATIVE_INFINITY, lateSpansDropped: 0 };
}
