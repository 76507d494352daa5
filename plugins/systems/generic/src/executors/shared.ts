/** What every system executor shares: finding the project, opening the system, reporting errors. */
import type { ExecutorContext } from '@nx/devkit';
import { reportError } from '@labrig/core';
import { projectRootOf, requirePlatformName, runOverrides, type CommonOptions } from '@labrig/system-kit';
import { openSystem, type SystemContext } from '../context.js';

export { reportError };
export { projectRootOf, runOverrides, type CommonOptions } from '@labrig/system-kit';

/** Open the system on its platform, run `fn`, turn errors into a clear failure. */
export async function withSystem(
  o: CommonOptions,
  context: ExecutorContext,
  fn: (ctx: SystemContext) => Promise<boolean>,
  opts: { requireSecrets?: boolean } = {},
): Promise<{ success: boolean }> {
  try {
    runOverrides(o); // bad option values are refused before anything (a dry run too)
    const platform = requirePlatformName(context.root, o.platform);
    const ctx = await openSystem(context.root, projectRootOf(context), platform, opts);
    return { success: await fn(ctx) };
  } catch (err) {
    return reportError(err);
  }
}
