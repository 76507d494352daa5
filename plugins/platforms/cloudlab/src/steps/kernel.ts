/**
 * Prepare step `kernel-params`: kernel boot parameters. Done when /proc/cmdline has them all.
 * Otherwise: set them in GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub (written only when it
 * changes, the original kept once as grub.labrig-orig), update-grub, reboot, wait for SSH to
 * return (timeout), and check /proc/cmdline again.
 */
import type { Step, StepContext } from '@labrig/core';
import { parseDuration } from '@labrig/core';
import type { KernelConfig } from '../config.js';
import { KernelParamsMissing } from '../errors.js';
import { runScriptOk, systemPath, type HostSystem } from '../host-system.js';
import { GRUB_KEY, missingParams, setGrubParams } from './grub.js';
import { rebootAndWait } from './reboot.js';

export const KERNEL_PARAMS = 'kernel-params';
export const GRUB_DEFAULT = '/etc/default/grub';
export const PROC_CMDLINE = '/proc/cmdline';

/** As root, stdin = the new content of $1: keep the first original, replace the file atomically, same mode. */
const WRITE_SCRIPT = `f=$1
[ -e "$f.labrig-orig" ] || cp -p "$f" "$f.labrig-orig" || exit 1
cp -p "$f" "$f.labrig-tmp" && cat > "$f.labrig-tmp" && mv "$f.labrig-tmp" "$f"`;

/** Time for everything but the wait (reading, update-grub, the reboot command). */
const WORK_MS = 2 * 60_000;

export interface KernelOutput {
  params: string[];
  rebooted: boolean;
  bootId?: string;
  waitedMs?: number;
}

async function readCmdline(ctx: StepContext, sys: HostSystem): Promise<string> {
  return (await runScriptOk(ctx.remote, sys, `cat ${PROC_CMDLINE}`, 'cat "$1"', [systemPath(sys, PROC_CMDLINE)], { signal: ctx.signal })).stdout.trim();
}

export function kernelStep(k: KernelConfig, sys: HostSystem): Step<KernelOutput> {
  const rebootTimeoutMs = parseDuration(k.rebootTimeout);
  return {
    name: KERNEL_PARAMS,
    title: `kernel parameters ${k.params.join(' ')} (reboot)`,
    timeoutMs: rebootTimeoutMs + WORK_MS,
    async check(ctx) {
      const missing = missingParams(await readCmdline(ctx, sys), k.params);
      return missing.length === 0 ? { done: true, output: { params: k.params, rebooted: false } } : false;
    },
    async run(ctx) {
      const grubFile = systemPath(sys, GRUB_DEFAULT);
      const text = (await runScriptOk(ctx.remote, sys, `cat ${GRUB_DEFAULT}`, 'cat "$1"', [grubFile], { signal: ctx.signal })).stdout;
      const edit = setGrubParams(text, k.params);
      if (edit.changed) {
        await runScriptOk(ctx.remote, sys, `write ${GRUB_DEFAULT}`, WRITE_SCRIPT, [grubFile], { asRoot: true, stdin: edit.text, signal: ctx.signal });
        ctx.log(`${GRUB_KEY}: "${edit.before.join(' ')}" -> "${edit.after.join(' ')}"`);
      }
      await runScriptOk(ctx.remote, sys, 'update-grub', 'update-grub', [], { asRoot: true, signal: ctx.signal });
      const back = await rebootAndWait(ctx, sys, { timeoutMs: rebootTimeoutMs });
      const cmdline = await readCmdline(ctx, sys);
      const missing = missingParams(cmdline, k.params);
      if (missing.length > 0) throw new KernelParamsMissing(ctx.host.name, missing, cmdline);
      return { params: k.params, rebooted: true, bootId: back.bootId, waitedMs: back.waitedMs };
    },
  };
}
