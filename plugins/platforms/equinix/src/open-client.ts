/** The API client a platform file describes: its URL, the token from its variable, its [retry] section. */
import { parseDuration } from '@labrig/core';
import type { EquinixConfig } from './config.js';
import { MetalClient } from './metal/client.js';
import { formatElapsed, type Report } from './progress.js';
import { readToken } from './token.js';

export interface OpenClientOptions {
  report: Report;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The platform file, named in the missing-token hint. */
  configFile?: string;
}

/** A client for `cfg`; MetalTokenMissing (naming the variable) before any request when the token is not set. */
export function openClient(cfg: EquinixConfig, o: OpenClientOptions): MetalClient {
  return new MetalClient({
    apiUrl: cfg.apiUrl,
    token: readToken(cfg.tokenEnv, o.env, o.configFile),
    tokenEnv: cfg.tokenEnv,
    attempts: cfg.retry.attempts,
    backoff: { baseMs: parseDuration(cfg.retry.baseDelay), maxMs: parseDuration(cfg.retry.maxDelay), factor: 2, jitter: 0.5 },
    requestTimeoutMs: parseDuration(cfg.retry.requestTimeout),
    ...(o.signal ? { signal: o.signal } : {}),
    onRetry: (n) => o.report(`${n.method} ${n.path}: ${n.reason}; retrying in ${formatElapsed(n.delayMs)} (attempt ${n.attempt + 1} of ${n.attempts})`),
  });
}
