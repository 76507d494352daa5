/** setup: prepare every host; a host whose setup stamp matches is skipped. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, runPlanned } from '@labrig/system-kit';
import { planSetup } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function setupExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const plan = planSetup(ctx);
    if (o.dryRun) return console.log(formatPlan(ctx, 'setup', plan)), true;
    return (await runPlanned(ctx, plan, `${ctx.name}:setup`, runOverrides(o))).ok;
  }, { requireSecrets: !o.dryRun });
}
