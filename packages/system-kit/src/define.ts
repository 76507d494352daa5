/**
 * Code-defined system plugins (sigmaos, vhive, cfiddle, daphne, or a third party's): the system
 * file `targets/<name>/system.toml` validated against the plugin's own schema, roles picked from
 * the platform's inventory by the plugin, and one executor per target that turns the plugin's
 * plan (steps × hosts × actions) into a dry-run listing or a journaled engine run.
 */
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { Host, RunResult } from '@labrig/core';
import { ConfigError, OptionError, addSecrets, listPlatforms, loadConfigFile, loadPlatform, parseDuration, parseFailurePolicy, reportError, listNames } from '@labrig/core';
import { formatPlan, printHostOutputs, runPlanned, type PlanContext, type RunOverrides } from './steps/interpret.js';
import type { PlannedStep } from './steps/plan.js';

/** Options every platform target takes. */
export interface CommonOptions {
  /** The platform folder under configs/platforms (set by --configuration). */
  platform?: string;
  dryRun?: boolean;
  output?: 'auto' | 'tty' | 'plain' | 'json';
  failurePolicy?: string;
  concurrency?: number;
  timeout?: string;
}

export function projectRootOf(context: ExecutorContext): string {
  const name = context.projectName;
  const root = name ? context.projectsConfigurations?.projects[name]?.root : undefined;
  if (!root) throw new Error(`labrig: no project root for ${name ?? '(no project)'}`);
  return root;
}

/** Validate the common options (OptionError names the option). */
export function runOverrides(o: CommonOptions): RunOverrides {
  if (o.failurePolicy !== undefined) parseFailurePolicy(o.failurePolicy);
  return {
    ...(o.output ? { output: o.output } : {}),
    ...(o.failurePolicy ? { failurePolicy: o.failurePolicy } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    ...(o.timeout ? { timeoutMs: parseDuration(o.timeout) } : {}),
  };
}

/** The platform a target runs on: its Nx configuration. */
export function requirePlatformName(root: string, platform: string | undefined): string {
  if (platform) return platform;
  const known = listPlatforms(root);
  throw new OptionError(
    'configuration',
    platform,
    `the platform to run on, one of: ${known.length ? known.join(' | ') : '(none configured under configs/platforms/)'} (e.g. -c ${known.includes('local') ? 'local' : (known[0] ?? 'local')}; Nx drops a -c that names no configured platform)`,
  );
}

/** The system's name: its target folder's name. */
export function systemName(projectRoot: string): string {
  return projectRoot.split('/').pop() ?? projectRoot;
}

/** A system plugin written in code. */
export interface SystemDefinition<Cfg> {
  /** The plugin's short name (e.g. `sigmaos`), for messages. */
  kind: string;
  /** JSON Schema of targets/<name>/system.toml (it must allow `system`, the plugin's module). */
  configSchema: object;
  /** Checks the schema cannot express (field combinations); throw a ConfigError naming the field. */
  validate?(cfg: Cfg, file: string): void;
  /** role → its hosts, from the platform's inventory; a ConfigError when the inventory does not fit. */
  assignRoles(cfg: Cfg, inventory: Host[], file: string): Record<string, Host[]>;
}

/** Everything a code-defined system's plans need. */
export interface CodeSystemContext<Cfg> extends PlanContext {
  projectRoot: string;
  /** The system file, relative to the workspace root (for messages). */
  file: string;
  config: Cfg;
  /** Build outputs: <root>/dist/<projectRoot>. */
  outDir: string;
  roles: Record<string, Host[]>;
}

/** Load the system file with the plugin's schema, the platform and its inventory, and assign roles. */
export async function openCodeSystem<Cfg>(def: SystemDefinition<Cfg>, root: string, projectRoot: string, platformName: string): Promise<CodeSystemContext<Cfg>> {
  const file = `${projectRoot}/system.toml`;
  const config = loadConfigFile<Cfg>(join(root, file), def.configSchema, { displayPath: file });
  def.validate?.(config, file);
  const platform = await loadPlatform(root, platformName);
  const inventory = await platform.platform.inventory(platform.cfg, platform.ctx);
  const roles = def.assignRoles(config, inventory, file);
  return { root, projectRoot, name: systemName(projectRoot), file, config, outDir: join(root, 'dist', projectRoot), platform, inventory, roles, secrets: [] };
}

/** The first `n` hosts of the inventory (all when n is undefined); a ConfigError/OptionError when there are fewer. */
export function firstHosts(inventory: Host[], n: number | undefined, where: { file: string; field: string } | { option: string }): Host[] {
  if (n === undefined) return inventory;
  if (!Number.isInteger(n) || n < 1 || n > inventory.length) {
    const want = `a whole number from 1 to ${inventory.length} (the platform has ${inventory.length} host${inventory.length === 1 ? '' : 's'}: ${listNames(inventory.map((h) => h.name))})`;
    if ('option' in where) throw new OptionError(where.option, n, want);
    throw new ConfigError(where.file, where.field, `${n} is not ${want}`);
  }
  return inventory.slice(0, n);
}

export interface PlanExecutorOptions<Cfg, O> {
  /** Print each host's stdout after the run (`[host] line`). */
  printOutputs?: boolean;
  /** After a successful run (collect files, print a summary); its result is the target's. */
  after?: (sys: CodeSystemContext<Cfg>, run: RunResult, o: O) => Promise<boolean> | boolean;
}

/**
 * An Nx executor (run by labrig-run) for one target of a code-defined system: open the system on
 * the platform (`--configuration`), build the plan, then print it (`--dry-run`) or run it.
 * Every error becomes one clear message (typed errors keep their hint); exit status follows the run.
 */
export function planExecutor<Cfg, O extends CommonOptions>(
  def: SystemDefinition<Cfg>,
  target: string,
  plan: (sys: CodeSystemContext<Cfg>, o: O) => PlannedStep[] | Promise<PlannedStep[]>,
  opts: PlanExecutorOptions<Cfg, O> = {},
): (o: O, context: ExecutorContext) => Promise<{ success: boolean }> {
  return async (o, context) => {
    try {
      const overrides = runOverrides(o);
      const platform = requirePlatformName(context.root, o.platform);
      const sys = await openCodeSystem(def, context.root, projectRootOf(context), platform);
      const planned = await plan(sys, o);
      addSecrets(sys.secrets); // what the plan learnt (a token): hidden from everything printed after
      if (o.dryRun) {
        console.log(formatPlan(sys, target, planned));
        return { success: true };
      }
      const run = await runPlanned(sys, planned, `${sys.name}:${target}`, overrides);
      if (opts.printOutputs) printHostOutputs(run);
      if (!run.ok) return { success: false };
      return { success: opts.after ? await opts.after(sys, run, o) : true };
    } catch (err) {
      return reportError(err);
    }
  };
}
