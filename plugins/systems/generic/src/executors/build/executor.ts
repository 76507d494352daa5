/**
 * build: run the system's build command into dist/<projectRoot>, digest the outputs, build images.
 * With `[build] on` (or the platform file's `[build] host`) the command runs on that platform host
 * (system-kit's runRemoteBuild: arch check, content-addressed sync, run, verified fetch) and its
 * outputs come back into dist/<projectRoot>; either way Nx caches dist/<projectRoot>.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, addSecret, describeExit, digestFile, installOutputRedaction, parseDuration, runStreamed } from '@labrig/core';
import { buildImage } from '@labrig/artifacts';
import { describeRemoteBuild, normalizeArch, ociArch, placeBuild, resolveBuildHost, runRemoteBuildOn, type BuildPlacementOptions, type RemoteBuildSpec } from '@labrig/system-kit';
import { openSystem, outDirOf } from '../../context.js';
import type { BuiltArtifact } from '../../plan.js';
import { loadSystemFile, systemName, type SystemFile } from '../../system-file.js';
import { expandArgv } from '../../template.js';
import { projectRootOf, reportError } from '../shared.js';

export interface BuildManifest {
  system: string;
  version: string;
  files: BuiltArtifact[];
  images: { name: string; tag: string; archive: string; digest: string }[];
  /** Set when the build ran on a platform host: where its outputs still are (deploy `from = "build-host"`). */
  builtOn?: { platform: string; host: string; arch: string; dir: string };
}

export const MANIFEST = 'artifacts.json';

/**
 * `platform`, `buildOn`, `arch`: set by the configuration of a platform whose builds run on one of
 * its hosts (from `[build] on`/`arch` or the platform file's `[build] host`/`arch`); a build here needs none.
 */
export interface BuildExecutorOptions extends BuildPlacementOptions {
  dryRun?: boolean;
}

/** Every file the build must leave in {out}: its outputs, its artifacts and its images' files. */
function declaredOutputs(sys: SystemFile): string[] {
  return [...new Set([...sys.build.outputs, ...sys.artifacts.map((a) => a.path), ...sys.images.flatMap((i) => i.files.map((f) => f.src))])];
}

export default async function buildExecutor(o: BuildExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
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
    const t0 = Date.now();

    const placed = placeBuild(root, file, sys.build, o);
    let builtOn: BuildManifest['builtOn'];
    if (placed) {
      const ctx = await openSystem(root, projectRoot, placed.platform);
      const host = resolveBuildHost(ctx.inventory, placed.on, placed.onFrom, ctx.roles);
      const spec: RemoteBuildSpec = {
        root,
        projectRoot,
        project: name,
        file,
        sources: sys.sources,
        sourcesField: 'sources',
        command: (dir) => expandArgv(sys.build.command, { system: name, out: dir }, { file, field: 'build.command' }),
        outputs: declaredOutputs(sys),
        outputsField: 'build.outputs',
        arch: { value: placed.arch, ...placed.archFrom },
        pty: sys.build.pty,
        timeoutMs: parseDuration(sys.build.timeout),
        env: ctx.env,
        dest: out,
      };
      console.log(`▶ ${name}: ${o.dryRun ? 'build plan (dry run: nothing is contacted)' : 'build'} on ${host.name} of ${placed.platform}`);
      if (o.dryRun) {
        for (const l of describeRemoteBuild(spec, host)) console.log(`  ${l}`);
        return { success: true };
      }
      const r = await runRemoteBuildOn(spec, host, ctx.platform);
      builtOn = { platform: placed.platform, host: host.name, arch: r.arch, dir: r.dir };
    } else {
      if (o.dryRun) {
        console.log(`▶ ${name}: build plan (dry run): ${expandArgv(sys.build.command, { system: name, out }, { file, field: 'build.command' }).join(' ')} (in ${projectRoot}, here)`);
        return { success: true };
      }
      mkdirSync(out, { recursive: true });
      const argv = expandArgv(sys.build.command, { system: name, out }, { file, field: 'build.command' });
      console.log(`▶ ${name}: build: ${argv.join(' ')}`);
      // Its output is piped through process.stdout/stderr (redacted), live.
      const r = await runStreamed(argv[0]!, argv.slice(1), { cwd: join(root, projectRoot) });
      if (r.exitCode !== 0) {
        console.error(`✖ build command ${describeExit(r)}`);
        return { success: false };
      }
      for (const [i, p] of sys.build.outputs.entries()) {
        if (!existsSync(join(out, p))) throw new ConfigError(file, `build.outputs[${i}]`, `the build did not produce ${p} (looked in ${relative(root, out)})`);
      }
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
        // Built on a platform host: the image is for that host's architecture (FROM scratch, its files as fetched).
        ...(builtOn ? { arch: ociArch(builtOn.arch) } : {}),
      });
      images.push({ name: img.name, tag, archive: relative(out, archive), digest: built.digest });
      console.log(`  image ${img.name}:${tag} ${built.digest}${builtOn ? ` (${ociArch(builtOn.arch)})` : ''}`);
    }
    const manifest: BuildManifest = { system: name, version: sys.version, files, images, ...(builtOn ? { builtOn } : {}) };
    writeFileSync(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(
      `✔ ${name}: built ${files.length} artifact(s)${images.length ? ` and ${images.length} image(s)` : ''}${builtOn ? ` on ${builtOn.host} (${normalizeArch(builtOn.arch)})` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
