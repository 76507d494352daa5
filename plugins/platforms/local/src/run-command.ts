import type { ExecResult, Host, RunResult } from '@labrig/core';
import { OptionError, runSteps } from '@labrig/core';
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

/** Run one shell command on the selected hosts through the step engine. */
export async function runCommand(
  root: string,
  cfg: LocalPlatformConfig,
  inventory: Host[],
  opts: RunCommandOptions,
): Promise<RunResult> {
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
  try {
    return await runSteps(
      [
        {
          name: 'exec',
          title: opts.cmd,
          retries: opts.retries ?? cfg.run.retries,
          run: async ({ remote }): Promise<ExecResult> => remote.shell(opts.cmd),
        },
      ],
      runOptionsFrom(root, cfg, hosts, pool, opts, `exec: ${opts.cmd}`),
    );
  } finally {
    await pool.close();
  }
}
