/**
 * collect: fetch and verify the runs that finished on their hosts but were not collected (labrig
 * was stopped); for a sweep handed to a coordinator, the runs it finished that are not here yet
 * (incremental, every file checked against its recorded sha256).
 */
import type { ExecutorContext } from '@nx/devkit';
import { interruptSignal, reportError } from '@labrig/core';
import { loadPlan, pullRuns, runPlan } from '@labrig/experiments';
import { openSystem } from '../../context.js';
import { coordinatorOfPlan, findCoordinatorHost } from '../../coordinator.js';
import { checkPlanAgainstSystem, experimentTarget } from '../../experiment.js';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from '../experiment/options.js';

export default async function collectExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  let close: (() => Promise<void>) | undefined;
  try {
    const projectRoot = projectRootOf(context);
    const plan = loadPlan(context.root, planRefOf(context.root, projectRoot, o.plan));
    const ctx = await openSystem(context.root, projectRoot, plan.platform);
    checkPlanAgainstSystem(ctx, plan);
    const connector = ctx.platform.platform.createConnector(ctx.platform.cfg, ctx.platform.ctx);
    close = () => connector.close();
    const coordinator = await coordinatorOfPlan(context.root, plan, o.coordinator);
    if (coordinator !== undefined) {
      const host = findCoordinatorHost(ctx, plan, coordinator);
      const r = await pullRuns({ root: context.root, plan, remote: await connector.connect(host), signal: interruptSignal(), log: (l) => console.log(l) });
      console.log(
        `plan ${plan.name}: collected ${r.runs.length} run(s) from the coordinator on ${host.name} (${r.files} files, ${r.bytes} bytes, every sha256 verified); ${r.already} were here already; on ${host.name}: ${r.remote.done} done, ${r.remote.failed} failed, ${r.remote.other} not finished`,
      );
      for (const x of r.refused) console.error(`✖ refused ${x.run}${x.file ? `: ${x.file}` : ''}: ${x.reason}`);
      if (r.refused.length) console.error(`hint: nothing of a refused run was stored here; its folder stays on ${host.name} under ~/.labrig/coordinator/${plan.name}/results/${plan.name}/ for you to inspect. The other runs are stored; collect again fetches only what is missing.`);
      return { success: r.refused.length === 0 };
    }
    const r = await runPlan({
      root: context.root,
      plan,
      signal: interruptSignal(), // Ctrl-C: stop between runs; runs in flight are collected next time
      target: experimentTarget(ctx, connector, { overrides: { output: 'plain' }, output: 'plain' }),
      collectOnly: true,
      ...(o.only ? { only: o.only } : {}),
      output: o.output ?? 'auto',
    });
    console.log(`plan ${plan.name}: collected ${r.ranNow.length} run(s); ${r.done}/${r.total} done, ${r.failed} failed`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  } finally {
    await close?.();
  }
}
