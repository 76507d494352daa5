/**
 * build: SigmaOS's own `./build.sh --parallel --target <aws|remote>` in the checkout, in a pty
 * (it runs `docker exec -it`: `script -qefc CMD LOG` from util-linux gives it one and keeps the
 * whole output in dist/<projectRoot>/build.log). A non-zero exit or "BUILD ERROR" in its output
 * fails the build. Then the user proc binaries (bin/user, bin/wasm) are copied into dist/ and each
 * image is exported to an OCI archive (`imageExport`), all listed with digests in sigmaos-build.json.
 * Nx caches the target (inputs: the system file and its sources).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { ConfigError, describeExit, digestFile, installOutputRedaction, loadConfigFile, quote, reportError, runStreamed } from '@labrig/core';
import { readOciArchive } from '@labrig/artifacts';
import { projectRootOf, systemName } from '@labrig/system-kit';
import { BUILD_LOG, BUILD_MANIFEST, type BuildManifest, type BuiltFile } from '../../build.js';
import { IMAGES, configSchema, localPath, sigmaos, type SigmaosConfig } from '../../config.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

export default async function buildExecutor(_o: Record<string, never>, context: ExecutorContext): Promise<{ success: boolean }> {
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
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const log = join(out, BUILD_LOG);
    const cmd = quote(['./build.sh', '--parallel', '--target', cfg.buildTarget]);
    console.log(`▶ ${name}: build: ${cmd} (in ${relative(root, checkout) || '.'}, in a pty; log ${relative(root, log)})`);
    const { execa } = await import('execa');
    // `script` gives build.sh its pty; script's own output is piped through the redacted stdout/stderr, live.
    installOutputRedaction();
    const r = await runStreamed('script', ['-qefc', cmd, log], { cwd: checkout, stdin: 'ignore' });
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const buildError = /BUILD ERROR/.test(text);
    if (r.exitCode !== 0 || buildError) {
      const tail = text.replace(/\r/g, '').trim().split('\n').filter((l) => !/^Script (started|done) on /.test(l)).slice(-5).join('\n  ');
      console.error(`✖ ${name}: build.sh ${r.exitCode !== 0 ? describeExit(r) : 'printed BUILD ERROR (exit status 0)'}; full log: ${relative(root, log)}\n  ${tail}`);
      return { success: false };
    }
    const files: BuiltFile[] = [];
    for (const [kind, from] of [['bin', 'bin/user'], ['wasm', 'bin/wasm']] as const) {
      for (const f of filesUnder(join(checkout, from))) {
        const path = join(kind, f);
        mkdirSync(join(out, kind), { recursive: true });
        cpSync(join(checkout, from, f), join(out, path));
        const d = await digestFile(join(out, path));
        files.push({ kind, name: f, path, sha256: d.sha256, size: d.size });
      }
    }
    if (!files.some((f) => f.kind === 'bin')) throw new ConfigError(file, 'source', `build.sh left no user proc binaries in ${join(relative(root, checkout), 'bin/user')}`);
    const images: BuildManifest['images'] = [];
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
      const info = await readOciArchive(archive);
      images.push({ name: img, local, archive: relative(out, archive), digest: info.digest });
      console.log(`  image ${local} -> ${relative(root, archive)} ${info.digest}`);
    }
    const manifest: BuildManifest = { system: name, buildTarget: cfg.buildTarget, files, images };
    writeFileSync(join(out, BUILD_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`✔ ${name}: ${files.filter((f) => f.kind === 'bin').length} user proc binaries, ${files.filter((f) => f.kind === 'wasm').length} wasm, ${images.length} images in ${relative(root, out)}`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
