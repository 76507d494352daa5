/**
 * Which failed API requests are tried again, and after how long: rate limits (429) wait at least
 * what Retry-After says; 5xx answers and network errors back off exponentially with jitter (so
 * many clients do not come back in step). Pure functions: the client sleeps.
 */
import { computeBackoffMs, type BackoffOptions } from '@labrig/core';

/** Statuses worth another attempt: rate limited, and the server's transient failures. */
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

/** A Retry-After header (delay-seconds or HTTP-date) in ms, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Delay before attempt `attempt + 1` after failed attempt `attempt` (1-based): the backoff, or
 * Retry-After when the server asks for longer.
 */
export function retryDelayMs(attempt: number, backoff: BackoffOptions, retryAfterMs?: number, random: () => number = Math.random): number {
  const b = computeBackoffMs(attempt, backoff, random);
  return retryAfterMs === undefined ? b : Math.max(retryAfterMs, b);
}
