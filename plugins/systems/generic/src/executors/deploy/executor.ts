/** deploy: install each role's artifacts, (re)start its process where it changed, wait until ready. */
import type { ExecutorContext } from '@nx/devkit';
import type { SystemContext } from '../../context.js';
import { formatPlan, runPlanned, type RunOverrides } from '@labrig/system-kit';
import { planDeploy, type BuiltArtifact } from '../../plan.js';
import { openStore } from '@labrig/system-kit';
import { readManifest } from '../push/executor.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function deployExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    if (o.dryRun) return console.log(formatPlan(ctx, 'deploy', planDeployOf(ctx, await storeFor(ctx)))), true;
    return deployRoles(ctx, runOverrides(o));
  }, { requireSecrets: !o.dryRun });
}

async function storeFor(ctx: SystemContext) {
  if (ctx.sys.deploy.from === 'build-host') return undefined; // artifacts come from the build host
  const store = ctx.sys.deploy.distribution === 'store' ? await openStore(ctx) : undefined;
  if (ctx.sys.deploy.distribution === 'store' && !store) {
    throw new Error(`${ctx.file}: deploy.distribution = "store" but the platform ${ctx.platform.name} has no S3 store (use "ssh", or give the platform a store)`);
  }
  return store;
}

function planDeployOf(ctx: SystemContext, store: Awaited<ReturnType<typeof storeFor>>) {
  const manifest = readManifest(ctx);
  const built: BuiltArtifact[] = manifest.files.map((f) => ({ ...f, ...(store ? { key: store.keyFor(f.sha256) } : {}) }));
  return planDeploy(ctx, built, manifest.builtOn);
}

/** Install each role's artifacts and (re)start what changed, waiting until each role is ready. */
export async function deployRoles(ctx: SystemContext, overrides: RunOverrides): Promise<boolean> {
  return (await runPlanned(ctx, planDeployOf(ctx, await storeFor(ctx)), `${ctx.name}:deploy`, overrides)).ok;
}
