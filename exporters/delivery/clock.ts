/** Time for the delivery worker: injectable so tests never wait on real backoff. */
export interface DeliveryClock {
  now(): number;
  /** resolves after `ms`, or early (without rejecting) when `signal` aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

/**
 * Real timers, unref'd so a pending backoff never keeps the process alive: shutdown() is what
 * flushes. The pipeline's scheduler is not used because an offline (virtual-time) scheduler
 * that is never advanced would stall retries and the shutdown deadline.
 */
export const systemClock: DeliveryClock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep(ms, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};
