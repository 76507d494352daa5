import type { ExecResult, Host, RunResult } from '@labrig/core';
import { CommandFailed, OptionError, runSteps } from '@labrig/core';
import type { LocalPlatformConfig } from './config.js';
import { filterHosts } from './inventory.js';
import { createPool, runOptionsFrom, type RunOverrides } from './session.js';

export interface RunCommandOptions extends RunOverrides {
  /** Shell command text, run with `sh -c` on each host. */
  cmd: string;
  /** Host names or globs (`tb-1`, `tb-*`). */
  hosts?: string[];
  roles?: string[];
}

export interface RunCommandResult {
  run: RunResult;
  /** Every host's command result, failed ones included (in inventory order). */
  outputs: Map<string, ExecResult>;
}

/** Run one shell command on the selected hosts through the step engine. */
export async function runCommand(
  root: string,
  cfg: LocalPlatformConfig,
  inventory: Host[],
  opts: RunCommandOptions,
): Promise<RunCommandResult> {
  if (opts.cmd.trim() === '') throw new OptionError('cmd', opts.cmd, 'a non-empty shell command');
  const hosts = filterHosts(inventory, opts.hosts, opts.roles);
  if (hosts.length === 0) {
    throw new OptionError(
      opts.hosts?.length ? 'hosts' : 'roles',
      (opts.hosts?.length ? opts.hosts : opts.roles)?.join(','),
      `names/roles matching at least one of: ${inventory.map((h) => `${h.name} (${h.roles.join(',')})`).join(', ')}`,
    );
  }
  const pool = createPool(root, cfg);
  const outputs = new Map<string, ExecResult>();
  try {
    const run = await runSteps(
      [
        {
          name: 'exec',
          title: opts.cmd,
          retries: opts.retries ?? cfg.run.retries,
          run: async ({ remote, host }): Promise<ExecResult> => {
            const r = await remote.shell(opts.cmd, { allowFailure: true });
            outputs.set(host.name, r);
            if (r.exitCode !== 0) throw new CommandFailed(host.name, opts.cmd, r);
            return r;
          },
        },
      ],
      runOptionsFrom(root, cfg, hosts, pool, opts, `exec: ${opts.cmd}`),
    );
    const ordered = new Map(hosts.flatMap((h) => (outputs.has(h.name) ? [[h.name, outputs.get(h.name)!] as const] : [])));
    return { run, outputs: ordered };
  } finally {
    await pool.close();
  }
}
