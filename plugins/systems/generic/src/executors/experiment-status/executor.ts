/** experiment-status: every run of the plan and its state, from the plan's journal (no host is touched). */
import type { ExecutorContext } from '@nx/devkit';
import { reportError, stringifyRedacted } from '@labrig/core';
import { formatStatus, loadPlan, planRows } from '@labrig/experiments';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from '../experiment/options.js';

export default async function experimentStatusExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const plan = loadPlan(context.root, planRefOf(context.root, projectRootOf(context), o.plan));
    const { rows } = await planRows(context.root, plan);
    if (o.output === 'json') console.log(stringifyRedacted({ plan: plan.name, runs: rows }));
    else console.log(formatStatus(plan, rows));
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
