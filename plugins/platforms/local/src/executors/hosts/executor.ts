import type { ExecutorContext } from '@nx/devkit';
import { DEFAULT_CONFIG_FILE, loadLocalConfig } from '../../config.js';
import { localPlatform, platformContext } from '../../platform.js';
import { reportError } from '@labrig/core';
import { formatInventory } from '@labrig/platform-kit';
import type { HostsExecutorOptions } from './schema.js';

export { formatInventory };

export default async function hostsExecutor(o: HostsExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const cfg = loadLocalConfig(context.root, o.config ?? DEFAULT_CONFIG_FILE);
    const hosts = await localPlatform.inventory(cfg, platformContext(context.root, o.config ?? DEFAULT_CONFIG_FILE));
    console.log(o.json ? JSON.stringify(hosts, null, 2) : formatInventory(hosts));
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
