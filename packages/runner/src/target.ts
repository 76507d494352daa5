/**
 * An inferred target that runs a labrig executor through `labrig-run` (as `nx:run-commands`),
 * for createNodesV2. Pure: builds configuration, spawns nothing.
 */
import type { TargetConfiguration } from '@nx/devkit';

const shellWord = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface RunnerTargetOptions {
  /** Options fixed by the target (`{ task: 'load' }`), passed as --name=value. */
  options?: Record<string, string | number | boolean>;
  /** Nx configuration name -> options it sets (`{ local: { platform: 'local' } }`). */
  configurations?: Record<string, Record<string, string | number | boolean>>;
  defaultConfiguration?: string;
}

function asArgs(o: Record<string, string | number | boolean>): string {
  return Object.entries(o)
    .map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${shellWord(String(v))}`)
    .join(' ');
}

/** `labrig-run <executor> <project> <projectRoot> [fixed options]`, configurations as extra args. */
export function runnerTarget(executor: string, project: string, projectRoot: string, t: RunnerTargetOptions = {}): TargetConfiguration {
  const fixed = t.options ? asArgs(t.options) : '';
  const command = ['labrig-run', shellWord(executor), shellWord(project), shellWord(projectRoot), fixed].filter(Boolean).join(' ');
  return {
    executor: 'nx:run-commands',
    options: { command },
    ...(t.configurations
      ? { configurations: Object.fromEntries(Object.entries(t.configurations).map(([name, o]) => [name, { args: asArgs(o) }])) }
      : {}),
    ...(t.defaultConfiguration ? { defaultConfiguration: t.defaultConfiguration } : {}),
  };
}
