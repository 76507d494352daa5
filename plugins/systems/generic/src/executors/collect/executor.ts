/** collect: fetch and verify the runs that finished on their hosts but were not collected (labrig was stopped). */
import type { ExecutorContext } from '@nx/devkit';
import { interruptSignal, reportError } from '@labrig/core';
import { loadPlan, runPlan } from '@labrig/experiments';
import { openSystem } from '../../context.js';
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
