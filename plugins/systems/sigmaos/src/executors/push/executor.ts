/**
 * push: the user proc binaries to s3://<bucket>/bin/<name> and /wasm/<name> (bucket = TAG unless
 * set), the images to <registry>/sigmaos:TAG and <registry>/sigmauser:TAG; each skipped when it is
 * already there (objects by the sha256 in their metadata, images by digest). The S3 endpoint and
 * credentials and the default registry are the platform's artifact store (the testbed's S3 server
 * and registry on `local`); without one, AWS S3 with the standard credential chain.
 */
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { LocalConnector, createRenderer, reportError, runSteps } from '@labrig/core';
import { S3Store, pushImage } from '@labrig/artifacts';
import { openCodeSystem, projectRootOf, requirePlatformName, runOverrides, type CodeSystemContext, type CommonOptions } from '@labrig/system-kit';
import { readBuildManifest, type BuiltFile } from '../../build.js';
import { bucketOf, sigmaos, type SigmaosConfig } from '../../config.js';
import { effective, type ClusterOptions } from '../../plan.js';

type Sys = CodeSystemContext<SigmaosConfig>;

/** Where images go: `host:port` and the repository prefix. */
export function registryOf(cfg: SigmaosConfig, platformRegistry: { address: string; insecure?: boolean } | undefined): { address: string; namespace: string; insecure: boolean } | undefined {
  if (cfg.registry) {
    const [address, ...ns] = cfg.registry.split('/');
    return { address: address!, namespace: ns.join('/'), insecure: false };
  }
  return platformRegistry ? { address: platformRegistry.address, namespace: '', insecure: platformRegistry.insecure ?? false } : undefined;
}

async function storeOf(sys: Sys): Promise<S3Store> {
  const { platform, cfg, ctx } = sys.platform;
  const s3 = (await platform.artifactStore?.(cfg, ctx))?.s3;
  return new S3Store({
    bucket: bucketOf(sys.config),
    ...(s3?.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3?.region ? { region: s3.region } : {}),
    ...(s3?.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
    ...(s3?.credentials ? { credentials: s3.credentials } : {}),
  });
}

const keyOf = (f: BuiltFile) => `${f.kind}/${f.name}`;

/** Upload one file under its name (`bin/<proc>`) unless the object there has the same content. */
async function putNamed(store: S3Store, outDir: string, f: BuiltFile): Promise<{ uploaded: boolean }> {
  const r = await store.putNamedFile(join(outDir, f.path), keyOf(f));
  if (r.sha256 !== f.sha256) throw new Error(`${join(outDir, f.path)} changed since the build (sha256 ${r.sha256}, expected ${f.sha256}): run the build target again`);
  return { uploaded: r.uploaded };
}

export default async function pushExecutor(o: CommonOptions & ClusterOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const overrides = runOverrides(o);
    const sys = await openCodeSystem(sigmaos, context.root, projectRootOf(context), requirePlatformName(context.root, o.platform));
    const cfg = effective(sys.config, o);
    const manifest = readBuildManifest(sys.outDir, sys.name);
    const registry = registryOf(cfg, (await sys.platform.platform.artifactStore?.(sys.platform.cfg, sys.platform.ctx))?.registry);
    const bucket = bucketOf(cfg);
    if (o.dryRun) {
      console.log(`push plan for ${sys.name} on ${sys.platform.name} (dry run: nothing is done)`);
      for (const f of manifest.files) console.log(`  upload ${f.path} -> s3://${bucket}/${keyOf(f)} (sha256 ${f.sha256.slice(0, 12)}) unless there`);
      for (const i of manifest.images) {
        console.log(`  ${registry ? `push image ${i.local} ${i.digest} -> ${registry.address}/${registry.namespace ? `${registry.namespace}/` : ''}${i.name}:${cfg.tag} unless there` : `image ${i.name}: no registry (set registry in ${sys.file})`}`);
      }
      return { success: true };
    }
    if (!registry && manifest.images.length) throw new Error(`no registry for the images: the platform ${sys.platform.name} has none; set \`registry\` in ${sys.file}`);
    const store = await storeOf(sys);
    const run = await runSteps(
      [
        {
          name: 'push',
          local: true,
          title: `push ${sys.name} (tag ${cfg.tag})`,
          run: async ({ log }) => {
            const out = { uploaded: [] as string[], present: [] as string[], pushed: [] as string[], images: [] as string[] };
            for (const f of manifest.files) {
              const r = await putNamed(store, sys.outDir, f);
              (r.uploaded ? out.uploaded : out.present).push(keyOf(f));
              log(`s3://${bucket}/${keyOf(f)}: ${r.uploaded ? `uploaded ${f.size} bytes` : 'already there'}`);
            }
            for (const i of manifest.images) {
              const repository = registry!.namespace ? `${registry!.namespace}/${i.name}` : i.name;
              const r = await pushImage({ archive: join(sys.outDir, i.archive), registry: registry!.address, repository, tag: cfg.tag, tlsVerify: !registry!.insecure });
              out.images.push(`${registry!.address}/${repository}:${cfg.tag}`);
              if (r.pushed || r.tagged) out.pushed.push(i.name);
              log(`image ${registry!.address}/${repository}:${cfg.tag}: ${r.pushed ? 'pushed' : r.tagged ? 'tagged (content was there)' : 'already there'} (${r.digest})`);
            }
            return out;
          },
        },
      ],
      { root: sys.root, hosts: [], connector: new LocalConnector(), title: `${sys.name}:push`, output: createRenderer(overrides.output ?? 'auto') },
    );
    store.close();
    return { success: run.ok };
  } catch (err) {
    return reportError(err);
  }
}
