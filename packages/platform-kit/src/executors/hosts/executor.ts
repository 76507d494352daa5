/** hosts: the platform's inventory (no host is contacted). */
import type { ExecutorContext } from '@nx/devkit';
import { reportError } from '@labrig/core';
import { formatInventory } from '../../common.js';
import { inventoryOf, openPlatform } from '../../open.js';

export interface HostsOptions {
  platform?: string;
  json?: boolean;
}

export default async function hostsExecutor(o: HostsOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const hosts = await inventoryOf(await openPlatform(context.root, o.platform));
    console.log(o.json ? JSON.stringify(hosts, null, 2) : formatInventory(hosts));
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
