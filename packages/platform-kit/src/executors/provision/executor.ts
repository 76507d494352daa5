/** provision: create the platform's machines, or check that its hosts answer; prints the inventory. */
import type { ExecutorContext } from '@nx/devkit';
import { reportError } from '@labrig/core';
import { formatInventory } from '../../common.js';
import { openPlatform } from '../../open.js';

export default async function provisionExecutor(o: { platform?: string }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const p = await openPlatform(context.root, o.platform);
    if (!p.platform.provision) {
      console.log(`${p.name}: the ${p.platform.name} platform has nothing to provision`);
      return { success: true };
    }
    const hosts = await p.platform.provision(p.cfg, p.ctx);
    console.log(formatInventory(hosts));
    console.log(`✔ ${p.name}: ${hosts.length} host(s) ready`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
