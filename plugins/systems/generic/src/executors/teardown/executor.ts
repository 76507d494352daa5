/**
 * teardown: stop the system, then ask the platform to release what it provisioned. Safe to run
 * again: when the platform has no hosts any more (released by an earlier teardown), there is
 * nothing to stop and the platform's own teardown (idempotent by contract) runs alone.
 */
import type { ExecutorContext } from '@nx/devkit';
import { isLabrigError, loadPlatform, reportError } from '@labrig/core';
import { formatPlan, projectRootOf, requirePlatformName, runOverrides, runPlanned } from '@labrig/system-kit';
import { openSystemOn, type SystemContext } from '../../context.js';
import { planStop } from '../../plan.js';
import { loadSystemFile } from '../../system-file.js';
import type { CommonOptions } from '../shared.js';

export default async function teardownExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const overrides = runOverrides(o);
    const name = requirePlatformName(context.root, o.platform);
    const projectRoot = projectRootOf(context);
    const p = await loadPlatform(context.root, name);
    // No inventory (the hosts are gone, released by an earlier teardown): nothing to stop.
    const inventory = await p.platform.inventory(p.cfg, p.ctx).catch((err: unknown) => {
      if (!p.platform.teardown || !isLabrigError(err)) throw err;
      console.log(`${name}: no hosts to stop the system on (${err.message.split('\n')[0]})`);
      return undefined;
    });
    let ctx: SystemContext | undefined;
    if (inventory) ctx = openSystemOn(context.root, projectRoot, p, inventory);
    else loadSystemFile(context.root, projectRoot); // a broken system file is reported, never skipped
    const plan = ctx ? planStop(ctx) : [];
    if (o.dryRun) {
      if (ctx) console.log(formatPlan(ctx, 'teardown', plan));
      console.log(p.platform.teardown ? `then: ${p.platform.name} teardown (release what it provisioned)` : `then: ${p.platform.name} has nothing to release`);
      return { success: true };
    }
    const stopped = ctx ? (await runPlanned(ctx, plan, `${ctx.name}:teardown`, { failurePolicy: 'continue', ...overrides })).ok : true;
    if (p.platform.teardown) {
      await p.platform.teardown(p.cfg, p.ctx);
      console.log(`✔ ${name}: released`);
    }
    return { success: stopped };
  } catch (err) {
    return reportError(err);
  }
}
