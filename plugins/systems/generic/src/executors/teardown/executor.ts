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
import { deleteDeployKey, revokeDeployKey } from '@labrig/ssh';
import type { CommonOptions } from '../shared.js';

/** The deployment key (made for a coordinator) off every host, then off this machine. */
async function revokeDeployKeys(ctx: SystemContext, deployment: string): Promise<void> {
  const connector = ctx.platform.platform.createConnector(ctx.platform.cfg, ctx.platform.ctx);
  try {
    const results = await Promise.all(
      ctx.inventory.map(async (h) => {
        try {
          return { host: h.name, ...(await revokeDeployKey(await connector.connect(h), deployment)) };
        } catch (e) {
          return { host: h.name, error: (e as Error).message.split('\n')[0] };
        }
      }),
    );
    const failed = results.filter((r) => 'error' in r);
    const lines = results.reduce((a, r) => a + ('lines' in r ? (r.lines ?? 0) : 0), 0);
    if (failed.length) {
      for (const f of failed) console.log(`! ${f.host}: deployment key not removed: ${'error' in f ? f.error : ''}`);
      console.log(`the local deployment key (.labrig/deploy-keys/${deployment}) is kept so a later teardown can finish the job`);
    } else {
      deleteDeployKey(ctx.root, deployment);
      console.log(`✔ deployment key of ${deployment} removed from ${results.length} host(s) (${lines} authorized_keys line(s))`);
    }
  } finally {
    await connector.close();
  }
}

export default async function teardownExecutor(o: CommonOptions & { yes?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const overrides = runOverrides(o);
    const name = requirePlatformName(context.root, o.platform);
    const projectRoot = projectRootOf(context);
    const p = await loadPlatform(context.root, name);
    if (o.yes) p.ctx.confirmed = true;
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
      if (ctx) console.log(`then: remove labrig's deployment key of ${name} from every host (authorized_keys lines marked labrig-deploy-key:${name}, ~/.labrig/keys/${name})`);
      console.log(p.platform.teardown ? `then: ${p.platform.name} teardown (release what it provisioned)` : `then: ${p.platform.name} has nothing to release`);
      return { success: true };
    }
    const stopped = ctx ? (await runPlanned(ctx, plan, `${ctx.name}:teardown`, { failurePolicy: 'continue', ...overrides })).ok : true;
    if (ctx) await revokeDeployKeys(ctx, name);
    if (p.platform.teardown) {
      await p.platform.teardown(p.cfg, p.ctx);
      console.log(`✔ ${name}: released`);
    }
    return { success: stopped };
  } catch (err) {
    return reportError(err);
  }
}
