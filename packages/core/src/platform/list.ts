/**
 * Where platform files live, and which exist. Light on purpose (node:fs only): Nx plugins'
 * createNodesV2 imports it while building the project graph.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const PLATFORMS_DIR = 'configs/platforms';
export const PLATFORM_FILE = 'platform.toml';

/** `configs/platforms/<name>/platform.toml`, relative to the root. */
export function platformFileOf(name: string): string {
  return `${PLATFORMS_DIR}/${name}/${PLATFORM_FILE}`;
}

/** Names of the platform folders that have a platform file (sorted). Reads directories only. */
export function listPlatforms(root: string): string[] {
  const dir = join(root, PLATFORMS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, PLATFORM_FILE)))
    .map((d) => d.name)
    .sort();
}

/** The module a platform file names (`platform = "..."`), read without validating the file (for graph building). */
export function platformModuleOf(path: string): string | undefined {
  try {
    return /^\s*platform\s*=\s*["']([^"']+)["']/m.exec(readFileSync(path, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** A plugin module's `labrig` section of its package.json (read, not loaded); undefined when the module is not installed. */
export function readLabrigSection(root: string, module: string): Record<string, unknown> | undefined {
  let file: string;
  try {
    file = createRequire(join(root, 'package.json')).resolve(`${module}/package.json`);
  } catch {
    file = join(root, 'node_modules', module, 'package.json');
  }
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { labrig?: Record<string, unknown> }).labrig ?? {};
  } catch {
    return undefined;
  }
}

/**
 * The installed labrig plugins of a kind: packages under the workspace's node_modules whose
 * package.json has `"labrig": { "<kind>": ... }` (sorted). For error messages; reads only
 * package.json files, one folder level (and one under each @scope) deep.
 */
export function installedPlugins(root: string, kind: 'platform' | 'system'): string[] {
  const dir = join(root, 'node_modules');
  const found: string[] = [];
  const consider = (name: string, pkgDir: string) => {
    try {
      const labrig = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { labrig?: Record<string, unknown> }).labrig;
      if (labrig && labrig[kind] !== undefined) found.push(name);
    } catch {
      /* not a package */
    }
  };
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  for (const e of entries) {
    if (e.startsWith('.')) continue;
    if (e.startsWith('@')) {
      let scoped: string[] = [];
      try {
        scoped = readdirSync(join(dir, e));
      } catch {
        /* unreadable scope */
      }
      for (const s of scoped) consider(`${e}/${s}`, join(dir, e, s));
    } else consider(e, join(dir, e));
  }
  return found.sort();
}
