/** Options shared by the experiment targets, and finding the plan. */
import { ConfigError } from '@labrig/core';
import { EXPERIMENTS_DIR, listPlans, peekPlanSystem } from '@labrig/experiments';
import { systemName } from '../../system-file.js';

export interface ExperimentOptions {
  plan?: string;
  only?: string;
  rerunFailed?: boolean;
  parallelRuns?: number;
  output?: 'auto' | 'tty' | 'plain' | 'json';
  failurePolicy?: string;
  timeout?: string;
  /** A host (or role) that runs the sweep instead of this machine. */
  coordinator?: string;
  /** With a coordinator: stop it after the run(s) in flight. */
  stop?: boolean;
  /** With --stop: stop it now. */
  now?: boolean;
  /** With a coordinator: return once it acknowledged the hand-off. */
  detach?: boolean;
}

/** `--plan`, or the one plan under configs/experiments/ that names this system. */
export function planRefOf(root: string, projectRoot: string, plan: string | undefined): string {
  if (plan) return plan;
  const name = systemName(projectRoot);
  const mine = listPlans(root).filter((p) => peekPlanSystem(root, p) === name);
  if (mine.length === 1) return mine[0]!;
  throw new ConfigError(EXPERIMENTS_DIR, '', mine.length ? `${mine.length} plans are for ${name}: pick one` : `no plan names system "${name}"`, {
    hint: mine.length ? `Pass --plan=${mine.join(' | --plan=')}.` : `Create ${EXPERIMENTS_DIR}/<name>.toml with system = "${name}" (see docs/experiments.md), then pass --plan=<name>.`,
  });
}
