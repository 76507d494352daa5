/** teardown: stop the system, then ask the platform to release what it provisioned. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, runPlanned } from '../../interpret.js';
import { planStop } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function teardownExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const plan = planStop(ctx);
    const { platform, cfg, ctx: pctx } = ctx.platform;
    if (o.dryRun) {
      console.log(formatPlan(ctx, 'teardown', plan));
      console.log(platform.teardown ? `then: ${platform.name} teardown (release what it provisioned)` : `then: ${platform.name} has nothing to release`);
      return true;
    }
    const stopped = await runPlanned(ctx, plan, `${ctx.name}:teardown`, { failurePolicy: 'continue', ...runOverrides(o) });
    if (platform.teardown) {
      await platform.teardown(cfg, pctx);
      console.log(`✔ ${ctx.platform.name}: released`);
    }
    return stopped.ok;
  });
}
