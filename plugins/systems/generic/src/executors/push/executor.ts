/** push: build outputs to the platform's S3 store and images to its registry, each skipped when there. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { LocalConnector, createRenderer, runSteps } from '@labrig/core';
import { pushImage } from '@labrig/artifacts';
import type { SystemContext } from '../../context.js';
import { openStore } from '@labrig/system-kit';
import { MANIFEST, type BuildManifest } from '../build/executor.js';
import { withSystem, type CommonOptions } from '../shared.js';

export function readManifest(ctx: SystemContext): BuildManifest {
  const file = join(ctx.outDir, MANIFEST);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildManifest;
  } catch (cause) {
    throw new Error(`no build of ${ctx.name} at ${file}: run \`nx run ${ctx.name}:build\` first`, { cause });
  }
}

export interface PushOutput {
  files: { name: string; key: string; uploaded: boolean; bytesSent: number }[];
  images: { name: string; reference: string; digest: string; pushed: boolean }[];
  bytesSent: number;
}

export default async function pushExecutor(o: CommonOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return withSystem(o, context, async (ctx) => {
    const manifest = readManifest(ctx);
    const store = await openStore(ctx);
    const registry = (await ctx.platform.platform.artifactStore?.(ctx.platform.cfg, ctx.platform.ctx))?.registry;
    if (o.dryRun) {
      console.log(`push plan for ${ctx.name} on ${ctx.platform.name} (dry run: nothing is done)`);
      for (const f of manifest.files) console.log(`  ${ctx.sys.deploy.from === 'build-host' ? `${f.path}: copied from the build host at deploy` : store ? `upload ${f.path} -> s3 ${store.keyFor(f.sha256)} unless present` : `${f.path}: no S3 store (distributed over SSH)`}`);
      for (const i of manifest.images) console.log(`  ${registry ? `push image ${i.name}@${i.digest} -> ${registry.address}/${ctx.name}/${i.name}:${i.tag} unless present` : `image ${i.name}: no registry`}`);
      return true;
    }
    return pushArtifacts(ctx, o.output ?? 'auto');
  });
}


/** Upload the build's files to the platform's store and its images to the registry (skipped by content). */
export async function pushArtifacts(ctx: SystemContext, output: 'auto' | 'tty' | 'plain' | 'json'): Promise<boolean> {
  const manifest = readManifest(ctx);
  const store = await openStore(ctx);
  const registry = (await ctx.platform.platform.artifactStore?.(ctx.platform.cfg, ctx.platform.ctx))?.registry;
  const run = await runSteps(
    [
      {
        name: 'push',
        local: true,
        title: `push ${ctx.name}`,
        run: async ({ log }): Promise<PushOutput> => {
          const out: PushOutput = { files: [], images: [], bytesSent: 0 };
          for (const f of manifest.files) {
            if (ctx.sys.deploy.from === 'build-host') {
              log(`${f.name}: deploy copies it from the build host ${manifest.builtOn?.host ?? '(none yet)'} (deploy.from = "build-host")`);
              continue;
            }
            if (!store) {
              log(`${f.name}: no S3 store on ${ctx.platform.name}; deploy copies it over SSH`);
              continue;
            }
            const r = await store.putFile(join(ctx.outDir, f.path), { name: f.name });
            out.files.push({ name: f.name, key: r.key, uploaded: r.uploaded, bytesSent: r.bytesSent });
            out.bytesSent += r.bytesSent;
            log(`${f.name}: ${r.uploaded ? `uploaded ${r.bytesSent} bytes` : 'already in the store'} (${r.key})`);
          }
          for (const i of manifest.images) {
            if (!registry) {
              log(`image ${i.name}: no registry on ${ctx.platform.name}`);
              continue;
            }
            const r = await pushImage({ archive: join(ctx.outDir, i.archive), registry: registry.address, repository: `${ctx.name}/${i.name}`, tag: i.tag, tlsVerify: !registry.insecure });
            out.images.push({ name: i.name, reference: r.reference, digest: r.digest, pushed: r.pushed });
            log(`image ${i.name}: ${r.pushed ? 'pushed' : 'already in the registry'} (${r.reference})`);
          }
          return out;
        },
      },
    ],
    { root: ctx.root, hosts: [], connector: new LocalConnector(), title: `${ctx.name}:push`, output: createRenderer(output) },
  );
  return run.ok;
}
