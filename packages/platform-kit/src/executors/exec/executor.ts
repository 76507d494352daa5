/** exec: a shell command on the platform's hosts (all, or --hosts / --roles). */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, parseDuration, parseFailurePolicy, reportError } from '@labrig/core';
import { inventoryOf, openPlatform } from '../../open.js';
import { printCommandResult, runCommand, type RunCommandOptions } from '../../run-command.js';

export interface ExecOptions extends Omit<RunCommandOptions, 'hosts' | 'roles'> {
  platform?: string;
  hosts?: string;
  roles?: string;
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

/** Validate and shape the options (OptionError names the option). */
export function normalizeOptions(o: ExecOptions): RunCommandOptions {
  if (typeof o.cmd !== 'string' || o.cmd.trim() === '') throw new OptionError('cmd', o.cmd, 'a non-empty shell command, e.g. --cmd="uname -a"');
  if (o.timeout !== undefined) parseDuration(o.timeout);
  if (o.failurePolicy !== undefined) parseFailurePolicy(o.failurePolicy);
  const { platform: _p, hosts, roles, ...rest } = o;
  return { ...rest, ...(hosts ? { hosts: list(hosts)! } : {}), ...(roles ? { roles: list(roles)! } : {}) };
}

export default async function execExecutor(raw: ExecOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const o = normalizeOptions(raw);
    const p = await openPlatform(context.root, raw.platform);
    const r = await runCommand(context.root, p, await inventoryOf(p), o);
    printCommandResult(r, o.output);
    return { success: r.run.ok };
  } catch (err) {
    return reportError(err);
  }
}
