/**
 * image: the Singularity/Apptainer image DAPHNE is built in and (Slurm mode) runs in, the seed's
 * `singularity` command: `<runtime> build [buildArgs] daphne.sif <container.from>` into
 * dist/<project>-image/. Skipped when the image exists and was built from the same source.
 * With container.enabled = false there is nothing to build; without a runtime it fails saying so.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { describeExit, digestFile, installOutputRedaction, reportError, runStreamed } from '@labrig/core';
import { imageDirOf, SIF_FILE } from '../../plan.js';
import { localRuntime, openLocal } from '../local.js';

export default async function imageExecutor(o: { force?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const sys = openLocal(context);
    const c = sys.config.container;
    if (!c.enabled) {
      console.log(`${sys.name}: container.enabled = false: no image to build (the build runs without a container)`);
      return { success: true };
    }
    const rt = localRuntime(sys, 'the image target');
    const dir = imageDirOf(sys.root, sys.projectRoot);
    const sif = join(dir, SIF_FILE);
    const stampFile = `${sif}.json`;
    const source = JSON.stringify({ from: c.from, buildArgs: c.buildArgs });
    if (!o.force && existsSync(sif) && existsSync(stampFile)) {
      const old = JSON.parse(readFileSync(stampFile, 'utf8')) as { source: string; sha256: string };
      if (old.source === source) {
        console.log(`${sys.name}: ${relative(sys.root, sif)} is up to date (from ${c.from}; --force to rebuild)`);
        return { success: true };
      }
    }
    mkdirSync(dir, { recursive: true });
    const tmp = `${sif}.tmp`;
    rmSync(tmp, { force: true });
    const argv = [rt, 'build', ...c.buildArgs, tmp, c.from];
    console.log(`▶ ${sys.name}: image: ${argv.join(' ')}`);
    installOutputRedaction();
    const r = await runStreamed(argv[0]!, argv.slice(1), { cwd: join(sys.root, sys.projectRoot) }); // piped through the redacted stdout/stderr, live
    if (r.exitCode !== 0 || !existsSync(tmp)) {
      console.error(`✖ ${sys.name}: ${argv[0]} build ${describeExit(r)}${existsSync(tmp) ? '' : ' and made no image'}`);
      return { success: false };
    }
    renameSync(tmp, sif);
    const d = await digestFile(sif);
    writeFileSync(stampFile, `${JSON.stringify({ source, sha256: d.sha256, size: d.size }, null, 2)}\n`);
    console.log(`✔ ${sys.name}: ${relative(sys.root, sif)} (${d.size} bytes, sha256 ${d.sha256.slice(0, 12)})`);
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}
