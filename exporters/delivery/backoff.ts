/** Backoff arithmetic of `retry_on_failure` and the Retry-After header (RFC 9110 §10.2.3). */
import type { RetryOnFailure } from './settings.js';

/** The delay before the next attempt: `interval` randomized by ± randomization_factor, capped at max_interval. */
export function jitteredDelay(interval: number, retry: RetryOnFailure, random: () => number): number {
  const f = retry.randomization_factor;
  const low = interval * (1 - f);
  const high = interval * (1 + f);
  return Math.min(retry.max_interval, Math.max(0, low + (high - low) * random()));
}

export function nextInterval(interval: number, retry: RetryOnFailure): number {
  return Math.min(retry.max_interval, interval * retry.multiplier);
}

/**
 * Retry-After is either delay-seconds or an HTTP date. Returns milliseconds to wait (≥ 0),
 * or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
