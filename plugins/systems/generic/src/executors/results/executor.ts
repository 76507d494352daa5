/** results: the CSV, the plots (SVG, PNG) and the HTML report from what is stored; no host is touched. */
import type { ExecutorContext } from '@nx/devkit';
import { reportError } from '@labrig/core';
import { loadPlan, writeResults } from '@labrig/experiments';
import { projectRootOf } from '../shared.js';
import { planRefOf, type ExperimentOptions } from '../experiment/options.js';

export default async function resultsExecutor(o: ExperimentOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const plan = loadPlan(context.root, planRefOf(context.root, projectRootOf(context), o.plan));
    const w = await writeResults(context.root, plan);
    console.log(`plan ${plan.name}: ${w.rows} runs (${w.done} done) — ${w.plots.length} plot(s)`);
    for (const p of w.problems.slice(0, 10)) console.log(`  ! ${p}`);
    console.log(`report: ${w.report}`);
    console.log(`csv:    ${w.csv}`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
