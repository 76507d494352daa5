/**
 * A sweep run from this machine on machines that expire: the note for the progress lines comes
 * from the platform's recorded expiry; the platform's check runs again as the estimate moves
 * (near the expiry at most every 10 min, else every 30 min), with one LongRun whose extension
 * count spans the sweep. The platform here is a small object recording its calls (the CloudLab
 * platform's own check is tested against the Portal API stand-in in its package).
 */
import { describe, expect, it } from 'vitest';
import type { LongRun, Platform, PlatformInstance } from '@labrig/core';
import { localSweepExpiry, MIN_GAP_MS, RECHECK_MS } from './sweep-expiry.js';

const T0 = Date.parse('2026-12-04T12:00:00Z');
const H = 3600_000;

function platform(expiresInMs: number | undefined) {
  const calls: LongRun[] = [];
  let expiresAt = expiresInMs === undefined ? undefined : new Date(T0 + expiresInMs).toISOString();
  const p = {
    name: 'fake',
    configSchema: {},
    inventory: async () => [],
    createConnector: () => ({}) as never,
    expiry: async () => (expiresAt ? { what: 'CloudLab experiment p/x', expiresAt } : undefined),
    async beforeLongRun(_cfg: unknown, _ctx: unknown, run: LongRun) {
      calls.push({ ...run });
      // The platform extends by 2 h each time it is asked, and counts it on the run.
      if (run.extendedHours) run.extendedHours.value += 2;
      expiresAt = new Date(Date.parse(expiresAt!) + 2 * H).toISOString();
    },
  } as unknown as Platform;
  const instance = { name: 'cl', file: 'configs/platforms/cl/platform.toml', module: 'fake', platform: p, cfg: {}, ctx: {} } as unknown as PlatformInstance;
  return { instance, calls };
}

const longRun = (lines: string[]): LongRun & { plan: string } => ({ what: 'plan p (10 run(s) to go)', plan: 'p', estimatedMs: H, upperBound: true, log: (l) => lines.push(l), extendedHours: { value: 0 } });

describe('a local sweep watches the expiry', () => {
  it('nothing when the platform has no expiry', async () => {
    const { instance } = platform(undefined);
    expect(await localSweepExpiry(instance, longRun([]))).toBeUndefined();
  });

  it('the note, and checks near the expiry at most every 10 min, else every 30 min, with one extension count', async () => {
    const { instance, calls } = platform(3 * H);
    let t = T0;
    const run = longRun([]);
    const w = (await localSweepExpiry(instance, run, () => t))!;
    expect(w.note()).toBe('CloudLab experiment p/x expires in 3 h');
    // Far from the expiry: not before 30 min.
    t = T0 + 20 * 60_000;
    await w.check({ ms: 30 * 60_000, runs: 5 });
    expect(calls).toHaveLength(0);
    t = T0 + RECHECK_MS + 1;
    await w.check({ ms: 30 * 60_000, runs: 4 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ what: 'plan p (4 run(s) to go)', estimatedMs: 30 * 60_000, upperBound: false, during: true });
    expect(w.note()).toBe('CloudLab experiment p/x expires in 4 h 30 min'); // read again after the check
    // Near the expiry (the estimate grew): asked again, but not within 10 min of the last time.
    t += MIN_GAP_MS - 1000;
    await w.check({ ms: 5 * H, runs: 30 });
    expect(calls).toHaveLength(1);
    t += 2000;
    await w.check({ ms: 5 * H, runs: 29 });
    expect(calls).toHaveLength(2);
    expect(run.extendedHours!.value).toBe(4);
    // No estimate (no run done), or nothing left: not asked.
    t += RECHECK_MS;
    await w.check({ ms: undefined, runs: 3 });
    await w.check({ ms: 0, runs: 0 });
    expect(calls).toHaveLength(2);
  });
});
