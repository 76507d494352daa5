/** What every system executor shares: finding the project, opening the system, reporting errors. */
import type { ExecutorContext } from '@nx/devkit';
import { parseDuration, parseFailurePolicy, reportError } from '@labrig/core';
import { openSystem, requirePlatformName, type SystemContext } from '../context.js';
import type { RunOverrides } from '../interpret.js';

export { reportError };

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


/** Open the system on its platform, run `fn`, turn errors into a clear failure. */
export async function withSystem(
  o: CommonOptions,
  context: ExecutorContext,
  fn: (ctx: SystemContext) => Promise<boolean>,
  opts: { requireSecrets?: boolean } = {},
): Promise<{ success: boolean }> {
  try {
    const platform = requirePlatformName(context.root, o.platform);
    const ctx = await openSystem(context.root, projectRootOf(context), platform, opts);
    return { success: await fn(ctx) };
  } catch (err) {
    return reportError(err);
  }
}

