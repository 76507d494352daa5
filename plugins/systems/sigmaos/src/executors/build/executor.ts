/**
 * build: SigmaOS's own `./build.sh --parallel --target <aws|remote>` in the checkout, in a pty
 * (it runs `docker exec -it`: `script -qefc CMD LOG` from util-linux gives it one and keeps the
 * whole output in dist/<projectRoot>/build.log). A non-zero exit or "BUILD ERROR" in its output
 * fails the build. Then the user proc binaries (bin/user, bin/wasm) are copied into dist/ and each
 * image is exported to an OCI archive (`imageExport`), all listed with digests in sigmaos-build.json.
 * With `[build] on` (or the platform file's `[build] host`) all of that runs on a platform host and
 * dist/ is fetched from there (buildOnHost). Nx caches the target (inputs: the system file and its sources).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, describeExit, digestFile, installOutputRedaction, loadConfigFile, parseDuration, quote, reportError, runStreamed } from '@labrig/core';
import { readOciArchive } from '@labrig/artifacts';
import { describeRemoteBuild, openCodeSystem, placeBuild, projectRootOf, resolveBuildHost, runRemoteBuildOn, systemName, type BuildPlacementOptions, type RemoteBuildSpec, type ResolvedPlacement } from '@labrig/system-kit';
import { BUILD_LOG, BUILD_MANIFEST, type BuildManifest, type BuiltFile } from '../../build.js';
import { IMAGES, configSchema, localPath, sigmaos, type SigmaosConfig } from '../../config.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** `platform`, `buildOn`, `arch`: set by the configuration of a platform whose builds run on one of its hosts ([build] on / host). */
export interface BuildOptions extends BuildPlacementOptions {
  dryRun?: boolean;
}

/**
 * On a platform host: the checkout (without .git and its bin/) is synced there, build.sh runs there
 * in a pty, then the binaries are copied into {out}/bin and {out}/wasm and each image is exported
 * there (imageExport, {archive} under {out}/images); runRemoteBuild brings {out} back into dist/.
 */
async function buildOnHost(o: BuildOptions, placed: ResolvedPlacement, root: string, projectRoot: string, file: string, cfg: SigmaosConfig, checkout: string, out: string): Promise<boolean> {
  const name = systemName(projectRoot);
  const sys = await openCodeSystem(sigmaos, root, projectRoot, placed.platform);
  const host = resolveBuildHost(sys.inventory, placed.on, placed.onFrom, sys.roles);
  const exports = (dir: string) =>
    IMAGES.map((img) => quote(cfg.imageExport.map((a) => a.replaceAll('{image}', `${img}-${cfg.buildTarget}`).replaceAll('{archive}', `${dir}/images/${img}.oci.tar`))));
  const script = (dir: string) =>
    [
      'set -e',
      `out=${quote([dir])}`,
      `script -qefc ${quote([quote(['./build.sh', '--parallel', '--target', cfg.buildTarget])])} "$out/${BUILD_LOG}"`,
      `if grep -q 'BUILD ERROR' "$out/${BUILD_LOG}"; then echo 'build.sh printed BUILD ERROR (exit status 0)' >&2; exit 3; fi`,
      'mkdir -p "$out/bin" "$out/wasm" "$out/images"',
      'if [ -d bin/user ]; then cp -R bin/user/. "$out/bin/"; fi',
      'if [ -d bin/wasm ]; then cp -R bin/wasm/. "$out/wasm/"; fi',
      ...exports(dir),
    ].join('\n');
  const spec: RemoteBuildSpec = {
    root,
    projectRoot,
    project: name,
    file,
    sourceDir: checkout,
    sources: ['**/*'],
    exclude: ['bin/**'],
    sourcesField: 'source',
    command: (dir) => ['sh', '-c', script(dir)],
    outputs: ['bin/', 'wasm/', BUILD_LOG, ...IMAGES.map((img) => `images/${img}.oci.tar`)],
    outputsField: 'imageExport',
    arch: { value: placed.arch, ...placed.archFrom },
    timeoutMs: parseDuration(cfg.build?.timeout ?? '1h'),
    env: cfg.env,
    dest: out,
  };
  console.log(`▶ ${name}: ${o.dryRun ? 'build plan (dry run: nothing is contacted)' : 'build'} on ${host.name} of ${placed.platform}`);
  if (o.dryRun) {
    for (const l of describeRemoteBuild(spec, host)) console.log(`  ${l}`);
    return false;
  }
  await runRemoteBuildOn(spec, host, sys.platform);
  return true;
}

export default async function buildExecutor(o: BuildOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const root = context.root;
    const projectRoot = projectRootOf(context);
    const name = systemName(projectRoot);
    const file = `${projectRoot}/system.toml`;
    const cfg = loadConfigFile<SigmaosConfig>(join(root, file), configSchema, { displayPath: file });
    sigmaos.validate?.(cfg, file);
    const checkout = localPath(cfg.source, root);
    if (!existsSync(join(checkout, 'build.sh'))) {
      throw new ConfigError(file, 'source', `${cfg.source} is no SigmaOS checkout (no build.sh in ${checkout})`, { hint: 'Clone github.com/mit-pdos/sigmaos there, or point `source` at your checkout.' });
    }
    const out = join(root, 'dist', projectRoot);
    installOutputRedaction();
    const placed = placeBuild(root, file, cfg.build, o);
    if (placed) {
      if (!(await buildOnHost(o, placed, root, projectRoot, file, cfg, checkout, out))) return { success: true }; // a dry run
      return { success: await writeManifest(name, file, cfg, out, root) };
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const log = join(out, BUILD_LOG);
    const cmd = quote(['./build.sh', '--parallel', '--target', cfg.buildTarget]);
    console.log(`▶ ${name}: build: ${cmd} (in ${relative(root, checkout) || '.'}, in a pty; log ${relative(root, log)})`);
    const { execa } = await import('execa');
    // `script` gives build.sh its pty; script's own output is piped through the redacted stdout/stderr, live.
    const r = await runStreamed('script', ['-qefc', cmd, log], { cwd: checkout, stdin: 'ignore' });
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const buildError = /BUILD ERROR/.test(text);
    if (r.exitCode !== 0 || buildError) {
      const tail = text.replace(/\r/g, '').trim().split('\n').filter((l) => !/^Script (started|done) on /.test(l)).slice(-5).join('\n  ');
      console.error(`✖ ${name}: build.sh ${r.exitCode !== 0 ? describeExit(r) : 'printed BUILD ERROR (exit status 0)'}; full log: ${relative(root, log)}\n  ${tail}`);
      return { success: false };
    }
    for (const [kind, from] of [['bin', 'bin/user'], ['wasm', 'bin/wasm']] as const) {
      if (!existsSync(join(checkout, from))) continue;
      mkdirSync(join(out, kind), { recursive: true });
      cpSync(join(checkout, from), join(out, kind), { recursive: true });
    }
    mkdirSync(join(out, 'images'), { recursive: true });
    for (const img of IMAGES) {
      const local = `${img}-${cfg.buildTarget}`;
      const archive = join(out, 'images', `${img}.oci.tar`);
      const argv = cfg.imageExport.map((a) => a.replaceAll('{image}', local).replaceAll('{archive}', archive));
      const e = await execa(argv[0]!, argv.slice(1), { cwd: checkout, reject: false, all: true });
      if (e.exitCode !== 0) {
        console.error(`✖ ${name}: exporting image ${local} failed (${quote(argv)} exited with ${e.exitCode}):\n  ${String(e.all ?? '').trim().split('\n').slice(-5).join('\n  ')}`);
        return { success: false };
      }
    }
    return { success: await writeManifest(name, file, cfg, out, root) };
  } catch (err) {
    return reportError(err);
  }
}

/** sigmaos-build.json from what dist/ holds (built here or fetched): binaries, wasm and image archives with digests. */
async function writeManifest(name: string, file: string, cfg: SigmaosConfig, out: string, root: string): Promise<boolean> {
  const files: BuiltFile[] = [];
  for (const kind of ['bin', 'wasm'] as const) {
    for (const f of filesUnder(join(out, kind))) {
      const path = join(kind, f);
      const d = await digestFile(join(out, path));
      files.push({ kind, name: f, path, sha256: d.sha256, size: d.size });
    }
  }
  if (!files.some((f) => f.kind === 'bin')) throw new ConfigError(file, 'source', `build.sh left no user proc binaries in ${cfg.source}/bin/user`);
  const images: BuildManifest['images'] = [];
  for (const img of IMAGES) {
    const archive = join(out, 'images', `${img}.oci.tar`);
    const info = await readOciArchive(archive);
    images.push({ name: img, local: `${img}-${cfg.buildTarget}`, archive: relative(out, archive), digest: info.digest });
    console.log(`  image ${img}-${cfg.buildTarget} -> ${relative(root, archive)} ${info.digest}`);
  }
  const manifest: BuildManifest = { system: name, buildTarget: cfg.buildTarget, files, images };
  writeFileSync(join(out, BUILD_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`✔ ${name}: ${files.filter((f) => f.kind === 'bin').length} user proc binaries, ${files.filter((f) => f.kind === 'wasm').length} wasm, ${images.length} images in ${relative(root, out)}`);
  return true;
}
