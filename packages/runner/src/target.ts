/**
 * An inferred target that runs a labrig executor through the Nx executor `@labrig/runner:run`,
 * for createNodesV2. Pure: builds configuration, spawns nothing.
 *
 * Options are data, never shell text: fixed and configuration options are `--name=value` strings
 * in arrays, and what the user types reaches the executor byte for byte (see
 * src/executors/run/executor.cjs).
 */
import type { TargetConfiguration } from '@nx/devkit';

export const RUN_EXECUTOR = '@labrig/runner:run';

export interface RunnerTargetOptions {
  /** Options fixed by the target (`{ task: 'load' }`), passed as --name=value. */
  options?: Record<string, string | number | boolean>;
  /** Nx configuration name -> options it sets (`{ local: { platform: 'local' } }`). */
  configurations?: Record<string, Record<string, string | number | boolean>>;
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `{ dryRun: true, task: 'load' }` -> `['--dry-run=true', '--task=load']`. */
export function optionArgs(o: Record<string, string | number | boolean>): string[] {
  return Object.entries(o).map(([k, v]) => `--${kebab(k)}=${String(v)}`);
}

/** The target running `<package>:<executor>` for a project; configurations add their options. */
export function runnerTarget(executor: string, projectRoot: string, t: RunnerTargetOptions = {}): TargetConfiguration {
  return {
    executor: RUN_EXECUTOR,
    options: { executor, projectRoot, args: optionArgs(t.options ?? {}) },
    ...(t.configurations
      ? { configurations: Object.fromEntries(Object.entries(t.configurations).map(([name, o]) => [name, { args: optionArgs(o) }])) }
      : {}),
  };
}
