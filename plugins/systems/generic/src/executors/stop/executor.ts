/** stop: every role's processes, in reverse start order; safe to run again. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, runPlanned } from '@labrig/system-kit';
import { planStop } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function stopExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const plan = planStop(ctx);
    if (o.dryRun) return console.log(formatPlan(ctx, 'stop', plan)), true;
    return (await runPlanned(ctx, plan, `${ctx.name}:stop`, { failurePolicy: 'continue', ...runOverrides(o) })).ok;
  });
}
