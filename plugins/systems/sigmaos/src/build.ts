/** What the build leaves in dist/<projectRoot> and push reads back. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUILD_MANIFEST = 'sigmaos-build.json';
export const BUILD_LOG = 'build.log';

export interface BuiltFile {
  /** `bin` (-> s3://<bucket>/bin/<name>) or `wasm` (-> s3://<bucket>/wasm/<name>). */
  kind: 'bin' | 'wasm';
  name: string;
  /** Relative to the dist folder. */
  path: string;
  sha256: string;
  size: number;
}

export interface BuiltImage {
  /** `sigmaos` / `sigmauser`: pushed as <registry>/<name>:TAG. */
  name: string;
  /** The local image build.sh made (e.g. sigmaos-remote). */
  local: string;
  /** OCI archive, relative to the dist folder. */
  archive: string;
  digest: string;
}

export interface BuildManifest {
  system: string;
  buildTarget: string;
  files: BuiltFile[];
  images: BuiltImage[];
}

export function readBuildManifest(outDir: string, system: string): BuildManifest {
  const file = join(outDir, BUILD_MANIFEST);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildManifest;
  } catch (cause) {
    throw new Error(`no build of ${system} at ${file}: run \`nx run ${system}:build\` first`, { cause });
  }
}
