/** teardown: release exactly what provision created; safe to run again. */
import type { ExecutorContext } from '@nx/devkit';
import { reportError } from '@labrig/core';
import { openPlatform } from '../../open.js';

export default async function teardownExecutor(o: { platform?: string; yes?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const p = await openPlatform(context.root, o.platform);
    if (o.yes) p.ctx.confirmed = true;
    if (!p.platform.teardown) {
      console.log(`${p.name}: the ${p.platform.name} platform has nothing to release`);
      return { success: true };
    }
    await p.platform.teardown(p.cfg, p.ctx);
    console.log(`✔ ${p.name}: released`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
