/**
 * build: the seed's `build` then `package`: run build.command in build.cwd (inside the image when
 * container.enabled), then pack package.include (bin, lib) and every *.daphne of package.scripts
 * into dist/<project>/daphne-package.tgz (reproducible: sorted, no times or owners), with its
 * sha256 in daphne-package.json. Nx caches it (inputs: the system's sources and system file).
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, describeExit, installOutputRedaction, reportError, runStreamed } from '@labrig/core';
import { sha256 } from '@labrig/system-kit';
import { imageDirOf, MANIFEST_FILE, PACKAGE_FILE, SIF_FILE, type PackageManifest } from '../../plan.js';
import { expand, localRuntime, openLocal } from '../local.js';

/** *.daphne files under a folder, relative to `base`, sorted. */
function daphneScripts(dir: string, base: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...daphneScripts(p, base));
    else if (e.name.endsWith('.daphne')) out.push(relative(base, p));
  }
  return out.sort();
}

export default async function buildExecutor(_o: Record<string, never>, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const sys = openLocal(context);
    const cfg = sys.config;
    const { execa } = await import('execa');
    mkdirSync(sys.outDir, { recursive: true });
    const cwd = join(sys.root, sys.projectRoot, cfg.build.cwd);
    if (!existsSync(cwd)) throw new ConfigError(sys.file, 'build.cwd', `${relative(sys.root, cwd)} does not exist (the DAPHNE checkout?)`);
    let argv = cfg.build.command.map((a) => expand(a, sys.outDir));
    if (cfg.container.enabled) {
      const rt = localRuntime(sys, 'the build (container.enabled = true)');
      const sif = join(imageDirOf(sys.root, sys.projectRoot), SIF_FILE);
      if (!existsSync(sif)) throw new ConfigError(sys.file, 'container.enabled', `is true but there is no image ${relative(sys.root, sif)} yet`, { hint: `Run the image target first (nx run ${sys.name}:image).` });
      argv = [rt, 'exec', ...cfg.container.singularityArgs, sif, ...argv];
    }
    console.log(`▶ ${sys.name}: build: ${argv.join(' ')}`);
    installOutputRedaction();
    const r = await runStreamed(argv[0]!, argv.slice(1), { cwd }); // piped through the redacted stdout/stderr, live
    if (r.exitCode !== 0) {
      console.error(`✖ ${sys.name}: the build command ${describeExit(r)}`);
      return { success: false };
    }

    // package: bin, lib (package.include) + *.daphne scripts.
    const pkgDir = resolve(cwd, expand(cfg.package.dir, sys.outDir));
    cfg.package.include.forEach((p, i) => {
      if (!existsSync(join(pkgDir, p))) throw new ConfigError(sys.file, `package.include[${i}]`, `the build did not produce ${p} (looked in ${relative(sys.root, pkgDir) || '.'})`);
    });
    const scripts = cfg.package.scripts.flatMap((d) => daphneScripts(join(cwd, d), cwd));
    const tarArgs = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '-C', pkgDir, ...cfg.package.include, ...(scripts.length ? ['-C', cwd, ...scripts] : [])];
    const tar = await execa('tar', tarArgs, { encoding: 'buffer', reject: false, stripFinalNewline: false });
    if (tar.exitCode !== 0) throw new Error(`tar ${tarArgs.join(' ')} failed: ${Buffer.from(tar.stderr).toString().trim()}`);
    const tgz = gzipSync(Buffer.from(tar.stdout), { level: 9 });
    writeFileSync(join(sys.outDir, PACKAGE_FILE), tgz);
    const list = await execa('tar', ['-tzf', join(sys.outDir, PACKAGE_FILE)], { reject: false });
    const manifest: PackageManifest = { file: PACKAGE_FILE, sha256: sha256(tgz), size: tgz.length, entries: list.stdout.split('\n').filter(Boolean) };
    writeFileSync(join(sys.outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const size = statSync(join(sys.outDir, PACKAGE_FILE)).size;
    console.log(`✔ ${sys.name}: ${relative(sys.root, join(sys.outDir, PACKAGE_FILE))}: ${cfg.package.include.join(', ')} and ${scripts.length} *.daphne script(s), ${size} bytes, sha256 ${manifest.sha256.slice(0, 12)}`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
