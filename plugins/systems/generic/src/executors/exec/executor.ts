/** exec: a shell command on the system's hosts (all, or --roles). */
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, shellArgv } from '@labrig/core';
import { formatPlan, printHostOutputs, runPlanned } from '@labrig/system-kit';
import type { PlannedStep } from '../../plan.js';
import { hostsOfRoles } from '../../roles.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export interface ExecOptions extends CommonOptions {
  cmd: string;
  roles?: string;
}

export default async function execExecutor(o: ExecOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    if (typeof o.cmd !== 'string' || o.cmd.trim() === '') throw new OptionError('cmd', o.cmd, 'a non-empty shell command, e.g. --cmd="uptime"');
    const roles = o.roles?.split(',').map((r) => r.trim()).filter(Boolean);
    for (const r of roles ?? []) if (!ctx.roles[r]) throw new OptionError('roles', o.roles, `roles of ${ctx.name}: ${Object.keys(ctx.roles).join(', ')}`);
    const plan: PlannedStep[] = [
      { name: 'exec', title: o.cmd, hosts: hostsOfRoles(ctx.roles, roles, ctx.inventory), actions: () => [{ kind: 'run', argv: shellArgv(o.cmd), env: ctx.env }] },
    ];
    if (o.dryRun) return console.log(formatPlan(ctx, 'exec', plan)), true;
    const run = await runPlanned(ctx, plan, `${ctx.name}:exec`, runOverrides(o));
    printHostOutputs(run);
    return run.ok;
  });
}
