/** One executor per target: the plan of the mode the platform calls for (SSH cluster or existing Slurm). */
import type { RunResult } from '@labrig/core';
import { planExecutor, type ActionsOutput, type CommonOptions, type PlannedStep } from '@labrig/system-kit';
import { cfiddleSystem } from '../config.js';
import { jupyterToken, mode, type Sys } from '../plan.js';

type Planner = (sys: Sys, o: CommonOptions) => PlannedStep[] | Promise<PlannedStep[]>;

/** What the hosts printed in these steps, `[host] line`. */
export function printSteps(run: RunResult, steps: string[]): void {
  for (const r of run.results) {
    if (!steps.includes(r.step)) continue;
    const out = (r.output as ActionsOutput | undefined)?.stdout;
    if (out) for (const l of out.trimEnd().split('\n')) console.log(`[${r.host}] ${l}`);
  }
}

/**
 * The end of a deploy or update on an SSH cluster: the health output, then the Jupyter URL with
 * its token, printed once, to the terminal only (the run's logs and journal never hold it).
 */
export function printJupyter(sys: Sys, run: RunResult): boolean {
  printSteps(run, ['health-services', 'health-slurm']);
  const head = sys.roles['head']![0]!;
  const token = jupyterToken(sys, false);
  process.stdout.write(`\nJupyter: http://${head.address}:${sys.config.jupyter.port}/lab?token=${token}\n`);
  return true;
}

export function printSlurm(sys: Sys, run: RunResult): boolean {
  printSteps(run, ['slurm-check', 'test-job']);
  const job = run.results.map((r) => (r.output as ActionsOutput | undefined)?.captured?.['job']).find(Boolean);
  console.log(`\nCFiddle on ${sys.platform.name}: delegate-function chain in ~/${sys.config.slurm.delegateConfig}${job ? `; test job ${job} ran the sandbox` : ''}`);
  return true;
}

export function cfiddleExecutor(
  target: string,
  cluster: Planner,
  slurm: Planner,
  after?: { cluster?: (sys: Sys, run: RunResult) => boolean; slurm?: (sys: Sys, run: RunResult) => boolean },
  printOutputs = false,
) {
  return planExecutor<Sys['config'], CommonOptions>(cfiddleSystem, target, (sys, o) => (mode(sys) === 'cluster' ? cluster(sys, o) : slurm(sys, o)), {
    printOutputs,
    ...(after ? { after: (sys, run) => (mode(sys) === 'cluster' ? (after.cluster?.(sys, run) ?? true) : (after.slurm?.(sys, run) ?? true)) } : {}),
  });
}
