import type { ExecutorContext } from '@nx/devkit';
import { OptionError, createRenderer, parseDuration, parseFailurePolicy } from '@labrig/core';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { localPlatform, platformContext } from '../../platform.js';
import { runCommand, type RunCommandOptions } from '../../run-command.js';
import { reportError } from '@labrig/core';
import { formatOutputs, printCommandResult } from '@labrig/platform-kit';
import type { ExecExecutorOptions } from './schema.js';

const list = (s: string | undefined): string[] | undefined =>
  s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean);

/** Validate and shape the target's options; throws OptionError naming the option. */
export function normalizeOptions(o: ExecExecutorOptions): RunCommandOptions & { config: string } {
  if (typeof o.cmd !== 'string' || o.cmd.trim() === '') throw new OptionError('cmd', o.cmd, 'a non-empty shell command, e.g. --cmd="uname -a"');
  if (o.timeout !== undefined) parseDuration(o.timeout);
  if (o.failurePolicy !== undefined) parseFailurePolicy(o.failurePolicy);
  return {
    cmd: o.cmd,
    config: o.config ?? DEFAULT_CONFIG_FILE,
    hosts: list(o.hosts),
    roles: list(o.roles),
    timeout: o.timeout,
    retries: o.retries,
    failurePolicy: o.failurePolicy,
    concurrency: o.concurrency,
    output: o.output ?? 'auto',
  };
}

export { formatOutputs };

export default async function execExecutor(raw: ExecExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const o = normalizeOptions(raw);
    const cfg = loadLocalConfig(context.root, o.config);
    const inventory = await localPlatform.inventory(cfg, platformContext(context.root, o.config));
    const mode = o.output as 'auto' | 'tty' | 'plain' | 'json';
    // Progress while it runs; each host's output, then the summary, once it is done.
    const { run, outputs } = await runCommand(context.root, cfg, inventory, { ...o, output: createRenderer(mode, { summary: false }) });
    printCommandResult({ run, outputs }, mode);
    return { success: run.ok };
  } catch (err) {
    return reportError(err);
  }
}
