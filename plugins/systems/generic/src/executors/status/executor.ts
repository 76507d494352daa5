/** status: each role's processes (pid, stamp) and the system's status command. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, printHostOutputs, runPlanned, type ActionsOutput } from '@labrig/system-kit';
import { planStatus } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function statusExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const plan = planStatus(ctx);
    if (o.dryRun) return console.log(formatPlan(ctx, 'status', plan)), true;
    const run = await runPlanned(ctx, plan, `${ctx.name}:status`, { failurePolicy: 'continue', ...runOverrides(o) });
    for (const r of run.results) {
      const p = (r.output as ActionsOutput | undefined)?.process;
      if (p) console.log(`${r.host}  ${p.name}  ${p.running ? `running pid ${p.pid}` : 'stopped'}`);
    }
    printHostOutputs(run);
    return run.ok;
  });
}
