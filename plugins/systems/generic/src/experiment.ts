/**
 * The generic system as an experiment target (packages/experiments): deploy = push + setup +
 * deploy of this system (each skipping what is already there), a run = one of the system file's
 * tasks with the run's parameters as {param.<name>} and its folder as {run.dir}.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Connector, Host } from '@labrig/core';
import { ConfigError } from '@labrig/core';
import type { ExperimentTarget, Params, Plan } from '@labrig/experiments';
import type { SystemContext } from './context.js';
import { deployRoles } from './executors/deploy/executor.js';
import { pushArtifacts, readManifest } from './executors/push/executor.js';
import type { RunOverrides } from '@labrig/system-kit';
import { runPlanned } from '@labrig/system-kit';
import { planSetup, tplFor } from './plan.js';
import { expandArgv } from './template.js';

/** Plan checks that need the system file: the task exists and every {param.x} it reads has a value. */
export function checkPlanAgainstSystem(ctx: SystemContext, plan: Plan): void {
  if (plan.system !== ctx.name) {
    throw new ConfigError(plan.file, 'system', `the plan is for system "${plan.system}", not "${ctx.name}"`, { hint: `Run it with nx run ${plan.system}:experiment --plan=${plan.name}.` });
  }
  for (const [i, e] of plan.experiments.entries()) {
    const where = plan.experiments.length > 1 || e.name !== 'main' ? `experiments[${i}].task` : 'task';
    const task = ctx.sys.tasks[e.task];
    if (!task) {
      throw new ConfigError(plan.file, where, `the system ${ctx.name} has no task "${e.task}"`, { hint: `Tasks of ${ctx.file}: ${Object.keys(ctx.sys.tasks).join(', ') || 'none ([tasks.<name>])'}.` });
    }
    const needed = [...task.command.join(' ').matchAll(/\{param\.([A-Za-z0-9_-]+)\}/g)].map((m) => m[1]!);
    for (const p of needed) {
      if (!(p in e.settings) && !(p in task.params)) {
        throw new ConfigError(plan.file, 'settings', `the task ${e.task} reads {param.${p}}, which the plan does not set`, { hint: `Add ${p} to [settings] (or a default to [tasks.${e.task}.params] in ${ctx.file}).` });
      }
    }
  }
}

/** Git commit, and a digest of the uncommitted changes under the system's folder. */
function gitVersion(root: string, projectRoot: string): Record<string, unknown> {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git('rev-parse', 'HEAD').trim();
    const diff = git('diff', 'HEAD', '--', projectRoot);
    const untracked = git('ls-files', '--others', '--exclude-standard', '--', projectRoot);
    const dirty = diff !== '' || untracked !== '';
    return { commit, dirty, ...(dirty ? { dirtyDigest: createHash('sha256').update(diff).update(untracked).digest('hex') } : {}) };
  } catch {
    return { commit: null, note: 'not a git checkout' };
  }
}

export function experimentTarget(ctx: SystemContext, connector: Connector, o: { overrides: RunOverrides; output: 'auto' | 'tty' | 'plain' | 'json' }): ExperimentTarget {
  const taskOf = (name: string) => ctx.sys.tasks[name]!;
  return {
    async deploy() {
      if (!(await pushArtifacts(ctx, o.output))) return false;
      if (!(await runPlanned(ctx, planSetup(ctx), `${ctx.name}:setup`, o.overrides)).ok) return false;
      return deployRoles(ctx, o.overrides);
    },
    taskHosts: (task) => ctx.roles[taskOf(task).role]!,
    taskArgv(task, host: Host, hostsOfRun: Host[], params: Params, run) {
      const t = taskOf(task);
      // Within the run, {host.index} counts the run's own hosts (a host set of --parallel-runs).
      const tpl = { ...tplFor(ctx, host), index: hostsOfRun.findIndex((h) => h.name === host.name), params: { ...t.params, ...params }, run };
      return expandArgv(t.command, tpl, { file: ctx.file, field: `tasks.${task}.command` });
    },
    taskEnv: () => ctx.env,
    connect: (host) => connector.connect(host),
    async version() {
      let artifacts: Record<string, string> = {};
      try {
        artifacts = Object.fromEntries(readManifest(ctx).files.map((f) => [f.name, f.sha256]));
      } catch {
        /* no build: recorded as none */
      }
      return { system: ctx.name, systemVersion: ctx.sys.version, ...gitVersion(ctx.root, ctx.projectRoot), artifacts };
    },
  };
}
