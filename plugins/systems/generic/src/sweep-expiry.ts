/**
 * A sweep run from this machine on machines that expire (a CloudLab experiment): the expiry in
 * the progress lines, and the platform's check (warn, or extend with autoExtend) again while the
 * sweep goes on: when the estimated end comes near the expiry (at most every 10 min), and every
 * 30 min regardless. The same LongRun is passed each time, so the platform's bound on extensions
 * spans the whole sweep.
 */
import type { LongRun, PlatformInstance } from '@labrig/core';
import { expiryNote, type SweepExpiry } from '@labrig/experiments';

/** How often the platform is asked while the sweep's end stays well before the expiry. */
export const RECHECK_MS = 30 * 60_000;
/** The least time between two checks (an extension that waits for an administrator is not asked again at once). */
export const MIN_GAP_MS = 10 * 60_000;
/** When the estimated end is this close to the expiry (or past it), the platform is asked. */
export const NEAR_MS = 60 * 60_000;

export async function localSweepExpiry(p: PlatformInstance, run: LongRun & { plan: string }, clock: () => number = Date.now): Promise<SweepExpiry | undefined> {
  const { platform, cfg, ctx } = p;
  if (!platform.expiry) return undefined;
  let current = await platform.expiry(cfg, ctx).catch(() => undefined);
  if (!current) return undefined;
  let last = clock();
  return {
    note: () => (current ? expiryNote(current, clock()) : undefined),
    async check(left) {
      if (left.ms === undefined || left.runs === 0 || !platform.beforeLongRun) return;
      const now = clock();
      const near = !!current && now + left.ms + NEAR_MS > Date.parse(current.expiresAt);
      if (now - last < MIN_GAP_MS || (!near && now - last < RECHECK_MS)) return;
      last = now;
      await platform.beforeLongRun(cfg, ctx, { ...run, what: `plan ${run.plan} (${left.runs} run(s) to go)`, estimatedMs: left.ms, upperBound: false, during: true }).catch((e: unknown) => run.log(`! the expiry could not be checked: ${(e as Error).message.split('\n')[0]}`));
      current = (await platform.expiry!(cfg, ctx).catch(() => undefined)) ?? current;
    },
  };
}
