/** Exponential backoff with jitter between attempts, and an abortable sleep. */

export interface BackoffOptions {
  /** Delay after the first failed attempt. Default 500 ms. */
  baseMs: number;
  /** Upper bound of any delay. Default 10 s. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor: number;
  /** Fraction of the delay taken off at random (0 = none, 0.5 = up to half). Default 0.5. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000, factor: 2, jitter: 0.5 };

export function normalizeBackoff(b: Partial<BackoffOptions> | undefined): BackoffOptions {
  const out = { ...DEFAULT_BACKOFF, ...b };
  if (!(out.baseMs >= 0) || !(out.maxMs >= 0) || !(out.factor >= 1) || !(out.jitter >= 0 && out.jitter <= 1)) {
    throw new RangeError(
      `backoff: need baseMs >= 0, maxMs >= 0, factor >= 1, 0 <= jitter <= 1 (got ${JSON.stringify(b)})`,
    );
  }
  return out;
}

/**
 * Delay after failed attempt `attempt` (1-based): `min(max, base · factor^(attempt-1))`, minus up to
 * `jitter` of it at random. So delay ∈ [d·(1-jitter), d].
 */
export function computeBackoffMs(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(b.maxMs, b.baseMs * b.factor ** Math.max(0, attempt - 1));
  return Math.round(d * (1 - b.jitter * random()));
}

/** Sleep; resolves false early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
