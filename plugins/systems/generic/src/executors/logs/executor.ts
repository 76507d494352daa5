/** logs: the end of each role's process log. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, printHostOutputs, runPlanned } from '@labrig/system-kit';
import { processName, type PlannedStep } from '../../plan.js';
import { withSystem, type CommonOptions } from '../shared.js';

export interface LogsOptions extends CommonOptions {
  lines?: number;
}

export default async function logsExecutor(o: LogsOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const lines = String(o.lines ?? 50);
    const plan: PlannedStep[] = Object.entries(ctx.sys.roles)
      .filter(([, s]) => s.start)
      .map(([role]) => ({
        name: `logs:${role}`,
        title: `${role} log`,
        hosts: ctx.roles[role]!,
        actions: () => [{ kind: 'run', argv: ['tail', '-n', lines, `.labrig/procs/${processName(ctx, role)}/log`] }],
      }));
    if (o.dryRun) return console.log(formatPlan(ctx, 'logs', plan)), true;
    const run = await runPlanned(ctx, plan, `${ctx.name}:logs`, { failurePolicy: 'continue', output: o.output ?? 'plain' });
    printHostOutputs(run, (host, step) => `${host} ${step.slice('logs:'.length)}`);
    return run.ok;
  });
}
