import type { ExecutorContext } from '@nx/devkit';
import { OptionError } from '@labrig/core';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { platformContext, startTestbed } from '../../platform.js';
import { reportError } from '@labrig/core';
import type { UpExecutorOptions } from './schema.js';

export function normalizeOptions(o: UpExecutorOptions): Required<Pick<UpExecutorOptions, 'config'>> & UpExecutorOptions {
  if (o.hosts !== undefined && (!Number.isInteger(o.hosts) || o.hosts < 1)) {
    throw new OptionError('hosts', o.hosts, 'a whole number of hosts, at least 1');
  }
  return { ...o, config: o.config ?? DEFAULT_CONFIG_FILE };
}

export default async function upExecutor(raw: UpExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const o = normalizeOptions(raw);
    const cfg = loadLocalConfig(context.root, o.config);
    if (o.hosts !== undefined) cfg.testbed.hosts = o.hosts;
    const started = Date.now();
    const state = await startTestbed(cfg, platformContext(context.root));
    const extra = [state.login && 'login host', state.s3 && 's3', state.registry && 'registry', state.slurm && 'slurm']
      .filter(Boolean)
      .join(', ');
    console.log(
      `✔ testbed up: ${state.hosts.length} hosts${extra ? ` + ${extra}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s (state: ${cfg.testbed.dir})`,
    );
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
