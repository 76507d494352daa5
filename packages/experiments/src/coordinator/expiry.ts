/**
 * The machines' expiry on a coordinator (a CloudLab experiment ends at a set time, and its nodes,
 * the coordinator's own included, go with it): after every run the coordinator compares the
 * sweep's estimated end with the expiry, and either extends the machines with the platform's
 * request (ExtendRequest: one HTTP call, its token in the coordinator's memory only) within the
 * hours allowed, or journals a warning that the laptop, experiment-status and the dashboard show.
 */
import type { ExpiryHandOff } from '@labrig/core';
import { formatLongDuration } from '@labrig/core';
import type { SweepExpiry } from '../engine/run-plan.js';
import type { CoordinatorEvent, SpecExpiry } from './spec.js';

/** Environment variables that carry the extension request's secret headers to the coordinator. */
export const EXTEND_ENV_PREFIX = 'LABRIG_EXTEND_HEADER_';

/** How long after an extension that failed, or waits for an administrator, it is asked again. */
export const RETRY_FAILED_MS = 10 * 60_000;
export const RETRY_PENDING_MS = 60 * 60_000;

type ExpiryEvent = Extract<CoordinatorEvent, { type: 'expiry' }>;

/** `CloudLab experiment p/x expires in 3 h 10 min` (or has expired): the note of progress lines. */
export function expiryNote(e: Pick<ExpiryEvent, 'what' | 'expiresAt'>, now = Date.now()): string {
  const left = Date.parse(e.expiresAt) - now;
  return left > 0 ? `${e.what} expires in ${formatLongDuration(left)}` : `${e.what} has expired`;
}

/** One line for what the coordinator did about the expiry (the follower, experiment-status, the dashboard). */
export function expiryLine(e: ExpiryEvent): string {
  switch (e.action) {
    case 'watching':
      return `watching ${e.what} (expires ${e.expiresAt})${e.detail ? `: ${e.detail}` : ''}`;
    case 'extended':
      return `${e.what} extended by ${e.hours ?? '?'} h, expires ${e.expiresAt}${e.detail ? `; ${e.detail}` : ''}`;
    case 'pending':
      return `${e.what}: asked for ${e.hours ?? '?'} h more, the extension waits${e.detail ? ` (${e.detail})` : ''}`;
    case 'failed':
      return `${e.what} expires ${e.expiresAt}, before the sweep's estimated end; extending it failed${e.detail ? `: ${e.detail}` : ''}`;
    case 'warned':
      return `${e.what} expires ${e.expiresAt}${e.detail ? `: ${e.detail}` : ''}`;
    case 'moved':
      return `${e.what} now expires ${e.expiresAt}${e.detail ? ` (${e.detail})` : ''}`;
  }
}

/** The spec's part (secret header values replaced by variable names) and the variables' values. */
export function specExpiryOf(x: ExpiryHandOff): { spec: SpecExpiry; env: Record<string, string> } {
  if (!x.extend) return { spec: { what: x.what, expiresAt: x.expiresAt, marginMs: x.marginMs, extendCommand: x.extendCommand }, env: {} };
  const env: Record<string, string> = {};
  const secretHeaders: Record<string, string> = {};
  Object.entries(x.extend.secretHeaders).forEach(([header, value], i) => {
    env[`${EXTEND_ENV_PREFIX}${i}`] = value;
    secretHeaders[header] = `${EXTEND_ENV_PREFIX}${i}`;
  });
  return { spec: { ...x, extend: { ...x.extend, secretHeaders } }, env };
}

export type ExtensionResult = { outcome: 'extended'; expiresAt: string } | { outcome: 'pending'; detail: string } | { outcome: 'failed'; detail: string };

/** Sends the extension request for `hours` hours; never throws. */
export async function requestExtension(req: NonNullable<SpecExpiry['extend']>, secrets: Record<string, string>, hours: number, before: string, signal?: AbortSignal): Promise<ExtensionResult> {
  const fill = (t: string) => t.split('{{hours}}').join(String(hours));
  let res: Response;
  try {
    res = await fetch(fill(req.url), {
      method: req.method,
      headers: { ...req.headers, ...secrets },
      ...(req.body !== undefined ? { body: fill(req.body) } : {}),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
    });
  } catch (e) {
    return { outcome: 'failed', detail: `no answer: ${(e as Error).message}` };
  }
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) body = j as Record<string, unknown>;
  } catch {
    /* not JSON: its text is the detail */
  }
  const message = [body['message'], body['error'], ...(Array.isArray(body['errors']) ? body['errors'] : [])].filter((m) => typeof m === 'string' && m).join('; ') || text.trim().slice(0, 200);
  if (!res.ok) return { outcome: 'failed', detail: `HTTP ${res.status}${message ? `: ${message}` : ''}` };
  const after = body[req.expiresAtField];
  if (res.status !== 202 && typeof after === 'string' && Date.parse(after) > Date.parse(before)) return { outcome: 'extended', expiresAt: new Date(Date.parse(after)).toISOString() };
  return { outcome: 'pending', detail: message || `HTTP ${res.status} without a later ${req.expiresAtField}: the extension waits for an administrator` };
}

/** The expiry as the platform has it now (GET `statusUrl`); undefined when it cannot be read. */
export async function readExpiry(req: NonNullable<SpecExpiry['extend']>, secrets: Record<string, string>): Promise<string | undefined> {
  if (!req.statusUrl) return undefined;
  try {
    const res = await fetch(req.statusUrl, { headers: { Accept: 'application/json', ...secrets }, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) return undefined;
    const v = ((await res.json()) as Record<string, unknown>)[req.expiresAtField];
    return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(Date.parse(v)).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

/** The least time between two reads of the expiry from the platform when it looks short. */
export const REFRESH_MS = 60_000;
/** How often it is read otherwise, when the platform does not say (ExpiryHandOff.refreshMs). */
export const DEFAULT_REFRESH_MS = 10 * 60_000;

/**
 * The coordinator's SweepExpiry: `note` for its progress lines; `check` after every run. Every
 * decision is journaled (`record`) and logged. Extensions stay within `extend.maxHours` in all.
 */
export function coordinatorExpiry(x: SpecExpiry, secrets: Record<string, string>, record: (e: ExpiryEvent) => void, log: (line: string) => void, clock: () => number = Date.now): SweepExpiry & { expiresAt(): string } {
  let expiresAt = x.expiresAt;
  let used = 0;
  let nextTry = 0;
  let warnedFor: string | undefined;
  let refreshed = -Infinity;
  const event = (action: ExpiryEvent['action'], more: { hours?: number; detail?: string } = {}) => {
    record({ type: 'expiry', time: new Date(clock()).toISOString(), what: x.what, expiresAt, action, ...more });
  };
  return {
    expiresAt: () => expiresAt,
    note: () => expiryNote({ what: x.what, expiresAt }, clock()),
    async check(left) {
      if (left.ms === undefined || left.runs === 0) return;
      // (before the first run ends there is no estimate: the laptop checked before the hand-off)
      const now = clock();
      const end = now + left.ms;
      const fine = () => end + x.marginMs <= Date.parse(expiresAt);
      // Read the expiry from the platform every refreshMs, and before acting on a shortfall
      // (at most once a minute): it may have been changed elsewhere (by hand, by the laptop).
      if (x.extend?.statusUrl && now - refreshed >= (fine() ? (x.refreshMs ?? DEFAULT_REFRESH_MS) : REFRESH_MS)) {
        refreshed = now;
        const seen = await readExpiry(x.extend, secrets);
        if (seen && seen !== expiresAt) {
          const later = Date.parse(seen) > Date.parse(expiresAt);
          expiresAt = seen;
          event('moved', { detail: later ? 'extended elsewhere (by hand, or by the laptop)' : 'made earlier on the portal' });
          log(`${later ? '' : '! '}${x.what} now expires ${expiresAt} (${later ? 'extended elsewhere' : 'made earlier on the portal'})`);
        }
      }
      if (fine()) return;
      const expires = Date.parse(expiresAt);
      const short = Math.ceil((end + x.marginMs - expires) / 3600_000);
      if (x.extend && used < x.extend.maxHours) {
        if (now < nextTry) return; // its pending or failed event said so already
        const hours = Math.min(short, x.extend.maxHours - used);
        const r = await requestExtension(x.extend, secrets, hours, expiresAt);
        if (r.outcome === 'extended') {
          used += hours;
          expiresAt = r.expiresAt;
          const still = Date.parse(expiresAt) < end + x.marginMs;
          event('extended', { hours, ...(still ? { detail: `still short of the sweep's estimated end: at most ${x.extend.maxHours} h in all may be added here` } : {}) });
          log(`${x.what} extended by ${hours} h: expires ${expiresAt}${still ? ` — ! still before the sweep's estimated end (${x.extend.maxHours} h in all at most)` : ''}`);
        } else if (r.outcome === 'pending') {
          used += hours;
          nextTry = now + RETRY_PENDING_MS;
          event('pending', { hours, detail: r.detail });
          log(`! ${x.what}: asked for ${hours} h more; the extension waits (${r.detail})`);
        } else {
          nextTry = now + RETRY_FAILED_MS;
          event('failed', { hours, detail: r.detail });
          log(`! ${x.what} expires ${expiresAt}, before the sweep's estimated end, and extending it failed: ${r.detail} (tried again in ${formatLongDuration(RETRY_FAILED_MS)})`);
        }
        return;
      }
      if (warnedFor === expiresAt) return;
      warnedFor = expiresAt;
      const when = end > expires ? 'after it expires' : `less than ${formatLongDuration(x.marginMs)} before it expires`;
      const detail = `the sweep should end in about ${formatLongDuration(left.ms)} (${left.runs} run(s) left), ${when}: extend it (${x.extendCommand})${x.extend ? `; ${used} h of the ${x.extend.maxHours} h allowed here were asked for` : ''}`;
      event('warned', { detail });
      log(`! ${x.what} expires ${expiresAt}: ${detail}`);
    },
  };
}
