/** Throw-away workspaces for the specs: a root with configs/platforms/<name>/ files, opened as core does. */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PlatformInstance, Renderer } from '@labrig/core';
import { loadPlatform } from '@labrig/core';
import type { CloudlabConfig } from '../config.js';

/** A fresh workspace root under the OS temp dir, traversable by testbed users (mode 0755). */
export function makeWorkspace(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), `labrig-${prefix}-`));
  chmodSync(root, 0o755);
  return root;
}

/** Write files into configs/platforms/<name>/ (name -> text). */
export function writePlatformFiles(root: string, name: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    const path = join(root, 'configs', 'platforms', name, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/** Load configs/platforms/<name>/platform.toml with this plugin as its module (a temp root cannot resolve it by name). */
export function openCloudlab(root: string, name: string): Promise<PlatformInstance<CloudlabConfig>> {
  return loadPlatform<CloudlabConfig>(root, name, { importModule: async () => import('../index.js') });
}

/** A renderer that shows nothing (the specs read the run result). */
export const quiet: Renderer = { onEvent() {}, close() {} };
