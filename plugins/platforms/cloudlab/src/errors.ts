/** The CloudLab platform's own failures, as typed labrig errors (each with a hint, keeping `cause`). */
import { LabrigError, formatMs } from '@labrig/core';

/** A prepare step stopped before changing anything because going on could destroy data. */
export class PrepareRefused extends LabrigError {
  readonly code = 'REFUSED';
  readonly host: string;
  readonly step: string;
  constructor(host: string, step: string, reason: string, hint: string) {
    super(`${step} on ${host} refused: ${reason}`, { hint });
    this.host = host;
    this.step = step;
  }
}

/** A host that was rebooted did not answer over SSH again in time. */
export class RebootTimeout extends LabrigError {
  readonly code = 'REBOOT_TIMEOUT';
  readonly host: string;
  constructor(host: string, timeoutMs: number, last: string, opts: { cause?: unknown } = {}) {
    super(`${host} did not come back over SSH within ${formatMs(timeoutMs)} of the reboot${last ? ` (last: ${last})` : ''}`, {
      hint: `Look at ${host}'s console on the CloudLab experiment page (a kernel parameter may keep it from booting); power-cycle it there if it hangs, then run prepare again.`,
      cause: opts.cause,
    });
    this.host = host;
  }
}

/** After the reboot, /proc/cmdline still lacks parameters that GRUB_CMDLINE_LINUX_DEFAULT has. */
export class KernelParamsMissing extends LabrigError {
  readonly code = 'KERNEL_PARAMS_MISSING';
  readonly host: string;
  readonly missing: string[];
  constructor(host: string, missing: string[], cmdline: string) {
    super(`${host} booted without ${missing.join(' ')} (/proc/cmdline: ${cmdline})`, {
      hint: `A file in /etc/default/grub.d/ may override GRUB_CMDLINE_LINUX_DEFAULT, or GRUB_DEFAULT may boot another entry: check them on ${host}.`,
    });
    this.host = host;
    this.missing = missing;
  }
}

/** Hosts of the experiment that do not answer over SSH (CloudLab has no API labrig could ask). */
export class HostsNotAnswering extends LabrigError {
  readonly code = 'HOSTS_NOT_ANSWERING';
  /** Each silent host and why. */
  readonly down: { host: string; reason: string }[];
  constructor(down: { host: string; reason: string }[], total: number, opts: { cause?: unknown } = {}) {
    super(`${down.length} of ${total} host(s) do not answer over SSH:\n${down.map((d) => `  ${d.host}: ${d.reason}`).join('\n')}`, {
      hint: 'Check the experiment on the CloudLab portal: it may have expired, or nodes may still be booting or failed (reload them there). Update the manifest/servers.txt if the experiment changed.',
      cause: opts.cause,
    });
    this.down = down;
  }
}

/** A state file this platform keeps under .labrig/state/ cannot be used. */
export class PlatformStateError extends LabrigError {
  readonly code = 'STATE';
  readonly file: string;
  constructor(file: string, problem: string, opts: { cause?: unknown } = {}) {
    super(`${file}: ${problem}`, {
      hint: `Delete ${file} and run the prepare target again (--only=cluster-address) to record it anew.`,
      cause: opts.cause,
    });
    this.file = file;
  }
}

