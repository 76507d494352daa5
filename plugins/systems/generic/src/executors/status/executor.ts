/** status: each role's processes (pid, stamp) and the system's status command. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, runPlanned, type ActionsOutput } from '../../interpret.js';
import { planStatus } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function statusExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const plan = planStatus(ctx);
    if (o.dryRun) return console.log(formatPlan(ctx, 'status', plan)), true;
    const run = await runPlanned(ctx, plan, `${ctx.name}:status`, { failurePolicy: 'continue', ...runOverrides(o) });
    for (const r of run.results) {
      const out = r.output as ActionsOutput | undefined;
      if (out?.process) console.log(`${r.host}  ${out.process.name}  ${out.process.running ? `running pid ${out.process.pid}` : 'stopped'}`);
      if (out?.stdout) for (const l of out.stdout.trimEnd().split('\n')) console.log(`[${r.host}] ${l}`);
    }
    return run.ok;
  });
}
