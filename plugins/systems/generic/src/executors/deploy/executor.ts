/** deploy: install each role's artifacts, (re)start its process where it changed, wait until ready. */
import type { ExecutorContext } from '@nx/devkit';
import { formatPlan, runPlanned } from '../../interpret.js';
import { planDeploy, type BuiltArtifact } from '../../plan.js';
import { openStore } from '../../store.js';
import { readManifest } from '../push/executor.js';
import { runOverrides, withSystem, type CommonOptions } from '../shared.js';

export default async function deployExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const manifest = readManifest(ctx);
    const store = ctx.sys.deploy.distribution === 'store' ? await openStore(ctx) : undefined;
    if (ctx.sys.deploy.distribution === 'store' && !store) {
      throw new Error(`${ctx.file}: deploy.distribution = "store" but the platform ${ctx.platform.name} has no S3 store (use "ssh", or give the platform a store)`);
    }
    const built: BuiltArtifact[] = manifest.files.map((f) => ({ ...f, ...(store ? { key: store.keyFor(f.sha256) } : {}) }));
    const plan = planDeploy(ctx, built);
    if (o.dryRun) return console.log(formatPlan(ctx, 'deploy', plan)), true;
    return (await runPlanned(ctx, plan, `${ctx.name}:deploy`, runOverrides(o))).ok;
  }, { requireSecrets: !o.dryRun });
}
