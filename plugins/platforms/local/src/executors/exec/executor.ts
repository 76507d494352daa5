import type { ExecutorContext } from '@nx/devkit';
import type { ExecResult, RunResult } from '@labrig/core';
import { OptionError, formatSummary, parseDuration, parseFailurePolicy } from '@labrig/core';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { localPlatform, platformContext } from '../../platform.js';
import { runCommand, type RunCommandOptions } from '../../run-command.js';
import { reportError } from '../report-error.js';
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

/** Each host's output, prefixed by its name, in inventory order. */
export function formatOutputs(result: RunResult): string {
  const lines: string[] = [];
  for (const r of result.results) {
    const out = r.output as ExecResult | undefined;
    if (!out) continue;
    for (const line of out.stdout.replace(/\n$/, '').split('\n')) lines.push(`[${r.host}] ${line}`);
  }
  return lines.join('\n');
}

export default async function execExecutor(raw: ExecExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const o = normalizeOptions(raw);
    const cfg = loadLocalConfig(context.root, o.config);
    const inventory = await localPlatform.inventory(cfg, platformContext(context.root));
    const result = await runCommand(context.root, cfg, inventory, o);
    if (o.output === 'json') {
      console.log(JSON.stringify({ type: 'outputs', results: result.results.map((r) => ({ host: r.host, status: r.status, output: r.output })) }));
    } else {
      const outputs = formatOutputs(result);
      if (outputs) console.log(outputs);
      console.log(formatSummary(result));
    }
    return { success: result.ok };
  } catch (err) {
    return reportError(err);
  }
}
