/** A [tasks.<name>] of the system file, run on its role's hosts; each host's output is printed. */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError } from '@labrig/core';
import { formatPlan, printHostOutputs, runPlanned } from '@labrig/system-kit';
import { planTask } from '../../plan.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export interface TaskOptions extends CommonOptions {
  task: string;
}

export default async function taskExecutor(o: TaskOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    if (!ctx.sys.tasks[o.task]) throw new OptionError('task', o.task, `a task of ${ctx.name}: ${Object.keys(ctx.sys.tasks).join(', ') || '(none)'}`);
    const plan = planTask(ctx, o.task);
    if (o.dryRun) return console.log(formatPlan(ctx, o.task, plan)), true;
    const run = await runPlanned(ctx, plan, `${ctx.name}:${o.task}`, runOverrides(o));
    printHostOutputs(run);
    return run.ok;
  }, { requireSecrets: !o.dryRun });
}
