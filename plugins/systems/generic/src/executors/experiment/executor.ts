/**
 * experiment: deploy as needed, run every run of the plan not yet done (resuming whatever an
 * interrupted labrig left), collect and verify, then write the CSV, plots and HTML report.
 */
import type { ExecutorContext } from '@nx/devkit';
import { interruptSignal, parseDuration, parseFailurePolicy, reportError } from '@labrig/core';
import { loadPlan, runPlan, writeResults } from '@labrig/experiments';
import { openSystem } from '../../context.js';
import { checkPlanAgainstSystem, experimentTarget } from '../../experiment.js';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from './options.js';

export default async function experimentExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  let closeConnector: (() => Promise<void>) | undefined;
  try {
    if (o.failurePolicy !== undefined) parseFailurePolicy(o.failurePolicy);
    const projectRoot = projectRootOf(context);
    const plan = loadPlan(context.root, planRefOf(context.root, projectRoot, o.plan));
    const ctx = await openSystem(context.root, projectRoot, plan.platform, { requireSecrets: true });
    checkPlanAgainstSystem(ctx, plan);
    const connector = ctx.platform.platform.createConnector(ctx.platform.cfg, ctx.platform.ctx);
    closeConnector = () => connector.close();
    const output = o.output ?? 'auto';
    const overrides = {
      output: output === 'auto' ? ('plain' as const) : output,
      ...(o.failurePolicy ? { failurePolicy: o.failurePolicy } : {}),
      ...(o.timeout ? { timeoutMs: parseDuration(o.timeout) } : {}),
    };
    const r = await runPlan({
      root: context.root,
      plan,
      signal: interruptSignal(), // Ctrl-C: stop between runs; runs in flight are collected next time
      target: experimentTarget(ctx, connector, { overrides, output: overrides.output }),
      ...(o.only ? { only: o.only } : {}),
      rerunFailed: !!o.rerunFailed,
      parallelRuns: o.parallelRuns ?? 1,
      output,
    });
    const written = await writeResults(context.root, plan);
    console.log(`plan ${plan.name}: ${r.done}/${r.total} runs done, ${r.failed} failed, ${r.pending} pending`);
    for (const p of written.problems.slice(0, 10)) console.log(`  ! ${p}`);
    console.log(`report: ${written.report}`);
    console.log(`csv:    ${written.csv}`);
    return { success: r.failed === 0 && r.pending === 0 };
  } catch (err) {
    return reportError(err);
  } finally {
    await closeConnector?.();
  }
}
