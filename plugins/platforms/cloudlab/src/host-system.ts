/**
 * How the prepare steps reach a host's operating system: where its system files are, how a
 * command becomes root, and the environment commands run in. Production uses the real root
 * file system and `sudo -n`; the specs point the same steps at a fixture root and stand-in tools
 * (see src/testing/). The steps never ask which one they have.
 */
import type { ExecResult, Remote } from '@labrig/core';
import { CommandFailed } from '@labrig/core';

export interface HostSystem {
  /**
   * Prefix of every system path the steps read or write (/etc/fstab, /proc/cmdline, /sys/...) and
   * of the mount point on the host: '' for the real root. A relative prefix is relative to the
   * login directory (where SSH commands start).
   */
  root: string;
  /** argv prefix that runs a command as root. */
  asRoot: string[];
  /** Environment of every command (none: the login environment). */
  env?: Record<string, string>;
}

/** A CloudLab host as it is: the real root file system, passwordless sudo. */
export const REAL_SYSTEM: HostSystem = { root: '', asRoot: ['sudo', '-n'] };

/** `p` (absolute, e.g. `/etc/fstab`) under the system's root. */
export function systemPath(sys: HostSystem, p: string): string {
  return sys.root === '' ? p : `${sys.root.replace(/\/+$/, '')}${p}`;
}

export interface ScriptOptions {
  /** Run it as root (`asRoot` prefix). */
  asRoot?: boolean;
  stdin?: string;
  signal?: AbortSignal;
}

/**
 * Run a POSIX sh script on the host with its values as positional arguments
 * (`sh -c SCRIPT sh ARG...`: nothing is pasted into the script). The result is returned whatever
 * the exit status; callers decide what a status means.
 */
export function runScript(remote: Remote, sys: HostSystem, script: string, args: readonly string[], opts: ScriptOptions = {}): Promise<ExecResult> {
  const argv = [...(opts.asRoot ? sys.asRoot : []), 'sh', '-c', script, 'sh', ...args];
  return remote.exec(argv, {
    allowFailure: true,
    ...(sys.env ? { env: sys.env } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** Like runScript, but a non-zero exit is a CommandFailed named after `what`. */
export async function runScriptOk(remote: Remote, sys: HostSystem, what: string, script: string, args: readonly string[], opts: ScriptOptions = {}): Promise<ExecResult> {
  const r = await runScript(remote, sys, script, args, opts);
  if (r.exitCode !== 0) throw new CommandFailed(remote.host.name, what, r);
  return r;
}

/** Exit status of a script that refused to go on (message on stderr, prefixed `refused: `). */
export const REFUSED_EXIT = 3;

/** The refusal message of a result with REFUSED_EXIT, else undefined. */
export function refusalOf(r: ExecResult): string | undefined {
  if (r.exitCode !== REFUSED_EXIT) return undefined;
  const line = r.stderr.split('\n').find((l) => l.startsWith('refused: '));
  return line?.slice('refused: '.length).trim();
}
