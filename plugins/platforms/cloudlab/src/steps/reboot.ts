/**
 * Reboot a host and wait until it answers over SSH again, as a new boot: the kernel's boot id
 * (/proc/sys/kernel/random/boot_id) must differ from the one read before. Polls with a bounded
 * probe each time (a rebooting host may leave a dead TCP connection behind) until the timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { StepContext } from '@labrig/core';
import { RebootTimeout } from '../errors.js';
import { runScript, runScriptOk, systemPath, type HostSystem } from '../host-system.js';

export const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/** Started in the background with every descriptor closed, so the SSH command returns before the host goes down. */
const REBOOT_SCRIPT = 'nohup sh -c "sleep 1; exec reboot" >/dev/null 2>&1 </dev/null &';

export interface RebootOptions {
  timeoutMs: number;
  /** Between probes. Default 1 s. */
  pollMs?: number;
  /** One probe (connect + read the boot id). Default 15 s. */
  probeTimeoutMs?: number;
}

export interface RebootResult {
  bootId: string;
  /** From the reboot command to the first answer of the new boot. */
  waitedMs: number;
}

/** The current boot id; '' when it cannot be read. */
export async function readBootId(ctx: StepContext, sys: HostSystem, signal: AbortSignal): Promise<string> {
  const r = await runScript(ctx.remote, sys, 'cat "$1"', [systemPath(sys, BOOT_ID)], { signal });
  return r.exitCode === 0 ? r.stdout.trim() : '';
}

export async function rebootAndWait(ctx: StepContext, sys: HostSystem, o: RebootOptions): Promise<RebootResult> {
  const before = await readBootId(ctx, sys, ctx.signal);
  await runScriptOk(ctx.remote, sys, 'reboot', REBOOT_SCRIPT, [], { asRoot: true, signal: ctx.signal });
  const started = Date.now();
  ctx.log(`rebooting ${ctx.host.name}; waiting up to ${Math.round(o.timeoutMs / 1000)} s for SSH`);
  let last = '';
  for (;;) {
    ctx.signal.throwIfAborted();
    try {
      const id = await readBootId(ctx, sys, AbortSignal.any([ctx.signal, AbortSignal.timeout(o.probeTimeoutMs ?? 15_000)]));
      if (id !== '' && id !== before) {
        const waitedMs = Date.now() - started;
        ctx.log(`${ctx.host.name} is back after ${(waitedMs / 1000).toFixed(1)} s (boot id ${id})`);
        return { bootId: id, waitedMs };
      }
      last = id === '' ? 'boot id unreadable' : 'not rebooted yet';
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      last = (e as Error).message.split('\n')[0] ?? String(e);
    }
    if (Date.now() - started >= o.timeoutMs) throw new RebootTimeout(ctx.host.name, o.timeoutMs, last);
    await sleep(o.pollMs ?? 1000, undefined, { signal: ctx.signal });
  }
}
