/** Turn ssh2 / socket errors into labrig's typed errors (the original is kept as `cause`). */
import { AuthFailed, HostUnreachable, isLabrigError } from '@labrig/core';
import type { LabrigError } from '@labrig/core';

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

export interface ConnectErrorContext {
  /** Inventory name. */
  host: string;
  /** `address:port` (and `via jump` when relevant). */
  address: string;
  user: string;
  /** Auth methods/files tried, for AuthFailed. */
  tried: string[];
}

/** Map an error raised while connecting. Already-typed labrig errors pass through. */
export function mapConnectError(err: unknown, ctx: ConnectErrorContext): LabrigError | Error {
  if (isLabrigError(err)) return err;
  const e = err as (Error & { code?: unknown; level?: string }) | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = e?.message ?? String(err);
  if (e?.level === 'client-authentication') return new AuthFailed(ctx.host, ctx.user, ctx.tried, { cause: err });
  if (e?.level === 'client-timeout') {
    const reason = /keepalive/i.test(message) ? 'keepalive timed out' : `no SSH handshake in time (${message})`;
    return new HostUnreachable(ctx.host, ctx.address, reason, { cause: err });
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new HostUnreachable(ctx.host, ctx.address, `${code} (${message})`, { cause: err });
  }
  if (e?.level === 'client-socket' || e?.level === 'client-dns') {
    return new HostUnreachable(ctx.host, ctx.address, message, { cause: err });
  }
  if (/connection lost|no response from server|not connected|socket (hang up|closed)|connection reset|closed by remote|channel open failure|connection refused/i.test(message)) {
    return new HostUnreachable(ctx.host, ctx.address, message, { cause: err });
  }
  if (e?.level === 'protocol' || e?.level === 'handshake') {
    return new HostUnreachable(ctx.host, ctx.address, `SSH protocol error: ${message}`, { cause: err });
  }
  return e instanceof Error ? e : new Error(message);
}
