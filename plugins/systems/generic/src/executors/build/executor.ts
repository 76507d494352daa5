/** build: run the system's build command into dist/<projectRoot>, digest the outputs, build images. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, addSecret, describeExit, digestFile, installOutputRedaction, runStreamed } from '@labrig/core';
import { buildImage } from '@labrig/artifacts';
import { outDirOf } from '../../context.js';
import type { BuiltArtifact } from '../../plan.js';
import { loadSystemFile, systemName } from '../../system-file.js';
import { expandArgv } from '../../template.js';
import { projectRootOf, reportError } from '../shared.js';

export interface BuildManifest {
  system: string;
  version: string;
  files: BuiltArtifact[];
  images: { name: string; tag: string; archive: string; digest: string }[];
}

export const MANIFEST = 'artifacts.json';

export default async function buildExecutor(_o: Record<string, never>, context: ExecutorContext): Promise<{ success: boolean }> {
  // An Nx executor target of its own (not run by labrig-run): its output is redacted here.
  installOutputRedaction();
  try {
    const projectRoot = projectRootOf(context);
    const root = context.root;
    const sys = loadSystemFile(root, projectRoot);
    // The build command inherits labrig's environment, the system's secrets included.
    for (const v of Object.values(sys.env)) if (typeof v === 'object') addSecret(process.env[v.secret]);
    const name = systemName(projectRoot);
    const file = `${projectRoot}/system.toml`;
    const out = outDirOf(root, projectRoot);
    mkdirSync(out, { recursive: true });
    const argv = expandArgv(sys.build.command, { system: name, out }, { file, field: 'build.command' });
    console.log(`▶ ${name}: build: ${argv.join(' ')}`);
    const t0 = Date.now();
    // Its output is piped through process.stdout/stderr (redacted), live.
    const r = await runStreamed(argv[0]!, argv.slice(1), { cwd: join(root, projectRoot) });
    if (r.exitCode !== 0) {
      console.error(`✖ build command ${describeExit(r)}`);
      return { success: false };
    }
    for (const [i, o] of sys.build.outputs.entries()) {
      if (!existsSync(join(out, o))) throw new ConfigError(file, `build.outputs[${i}]`, `the build did not produce ${o} (looked in ${relative(root, out)})`);
    }
    const files: BuiltArtifact[] = [];
    for (const a of sys.artifacts) {
      const d = await digestFile(join(out, a.path));
      files.push({ name: a.name, path: a.path, sha256: d.sha256, size: d.size });
    }
    const images: BuildManifest['images'] = [];
    for (const img of sys.images) {
      const tag = sys.version.replace(/[^A-Za-z0-9_.-]/g, '-');
      const archive = join(out, 'images', `${img.name}.oci.tar`);
      mkdirSync(join(out, 'images'), { recursive: true });
      const built = await buildImage({
        name: img.name,
        tag,
        files: img.files.map((f) => ({ src: join(out, f.src), dest: f.dest, mode: 0o755 })),
        entrypoint: img.entrypoint,
        outArchive: archive,
      });
      images.push({ name: img.name, tag, archive: relative(out, archive), digest: built.digest });
      console.log(`  image ${img.name}:${tag} ${built.digest}`);
    }
    const manifest: BuildManifest = { system: name, version: sys.version, files, images };
    writeFileSync(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`✔ ${name}: built ${files.length} artifact(s)${images.length ? ` and ${images.length} image(s)` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
