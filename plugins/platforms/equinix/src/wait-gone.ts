/**
 * Waiting until deleted devices are gone (404, or state `deleted`), one GET per remaining device
 * and poll, with a time limit: what is still there when it ends is returned, not thrown, so the
 * caller keeps it recorded.
 */
import { Aborted, sleep } from '@labrig/core';
import type { MetalClient } from './metal/client.js';
import { formatElapsed, type Report } from './progress.js';

export interface Deleting {
  id: string;
  hostname: string;
}

export interface WaitGoneOptions {
  timeoutMs: number;
  intervalMs: number;
  report: Report;
  signal?: AbortSignal;
}

/** The devices still present (with their last state) when the time is up; empty when all are gone. */
export async function waitUntilGone(client: MetalClient, devices: readonly Deleting[], o: WaitGoneOptions): Promise<(Deleting & { state: string })[]> {
  const started = Date.now();
  let pending = devices.map((d) => ({ ...d, state: 'deleting' }));
  for (;;) {
    const still: typeof pending = [];
    for (const d of pending) {
      const now = await client.getDevice(d.id);
      if (now && now.state !== 'deleted') still.push({ ...d, state: now.state });
      else o.report(`${d.hostname}: gone (${formatElapsed(Date.now() - started)})`);
    }
    pending = still;
    const elapsed = Date.now() - started;
    if (pending.length === 0 || elapsed >= o.timeoutMs) return pending;
    if (!(await sleep(Math.min(o.intervalMs, o.timeoutMs - elapsed), o.signal))) throw new Aborted('interrupted while waiting for devices to be deleted');
  }
}
