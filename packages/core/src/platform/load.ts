/**
 * Platform instances: `configs/platforms/<name>/platform.toml` names its plugin module
 * (`platform = "@labrig/platform-local"`); the module's default export implements `Platform`.
 * Third-party platforms are just packages that export the same contract.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Platform, PlatformContext } from '../contracts.js';
import { parseToml, readConfigText, validateConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';

export { PLATFORMS_DIR, PLATFORM_FILE, platformFileOf, listPlatforms, platformModuleOf, installedPlugins } from './list.js';
import { installedPlugins, listPlatforms, platformFileOf } from './list.js';
import { didYouMean } from '../config/explain.js';

export interface PlatformInstance<Cfg = unknown> {
  /** Folder name: the Nx configuration name (`--configuration=local`). */
  name: string;
  /** The platform file, relative to the workspace root. */
  file: string;
  module: string;
  platform: Platform<Cfg>;
  cfg: Cfg;
  ctx: PlatformContext;
}

function isPlatform(x: unknown): x is Platform {
  const p = x as Partial<Platform> | undefined;
  return !!p && typeof p.name === 'string' && typeof p.inventory === 'function' && typeof p.createConnector === 'function' && typeof p.configSchema === 'object';
}

/** Load and validate a platform instance; every failure is a ConfigError naming the file. */
export async function loadPlatform<Cfg = unknown>(
  root: string,
  name: string,
  opts: { importModule?: ModuleImporter } = {},
): Promise<PlatformInstance<Cfg>> {
  const file = platformFileOf(name);
  if (!existsSync(join(root, file))) {
    const known = listPlatforms(root);
    throw new ConfigError(file, '', 'file not found', {
      hint: known.length
        ? `Use one of the configured platforms (--configuration=${known.join('|')}), or create ${file}.`
        : `Create ${file} (see configs/platforms/local/platform.toml for an example).`,
    });
  }
  const text = readConfigText(join(root, file), { displayPath: file });
  if (text.trim() === '') {
    throw new ConfigError(file, 'platform', 'the file is empty', {
      hint: `Name the platform plugin in ${file}, e.g. platform = "@labrig/platform-local" (configs/platforms/local/platform.toml is a complete example).`,
    });
  }
  const data = parseToml(text, file);
  const module = data['platform'];
  if (typeof module !== 'string' || module === '') {
    throw new ConfigError(file, 'platform', 'missing required field `platform` (the plugin module, e.g. "@labrig/platform-local")');
  }
  let mod: { default?: unknown; platform?: unknown };
  try {
    mod = (await (opts.importModule ?? importModule)(root, module)) as typeof mod;
  } catch (cause) {
    throw moduleError(root, file, 'platform', module, cause);
  }
  const platform = mod.default ?? mod.platform;
  if (!isPlatform(platform)) {
    throw new ConfigError(file, 'platform', `"${module}" does not export a platform (default export with name, configSchema, inventory, createConnector)`);
  }
  const cfg = validateConfig<Cfg>(data, file, platform.configSchema);
  return { name, file, module, platform: platform as Platform<Cfg>, cfg, ctx: { root, stateDir: join(root, '.labrig', 'state', name) } };
}

/**
 * The ConfigError for a plugin module that cannot be loaded: not installed (named with the
 * installed plugins of its kind and a did-you-mean), or installed but failing to load.
 */
export function moduleError(root: string, file: string, kind: 'platform' | 'system', module: string, cause: unknown): ConfigError {
  const installed = installedPlugins(root, kind);
  const notFound = (cause as { code?: string } | undefined)?.code === 'ERR_MODULE_NOT_FOUND' || (cause as { code?: string } | undefined)?.code === 'MODULE_NOT_FOUND';
  if (notFound && !installed.includes(module)) {
    const guess = didYouMean(module, installed);
    return new ConfigError(file, kind, `"${module}" is not an installed ${kind} plugin${guess ? `; did you mean "${guess}"?` : ''}`, {
      hint: `Set \`${kind} = "${guess ?? installed[0] ?? `<a ${kind} plugin>`}"\` in ${file}${installed.length ? ` (installed ${kind} plugins: ${installed.join(', ')})` : ''}, or install the plugin (npm install ${module}).`,
      cause,
    });
  }
  return new ConfigError(file, kind, `the ${kind} plugin "${module}" failed to load: ${(cause as Error)?.message ?? String(cause)}`, {
    hint: `Check that ${module} is built and installed (npm install), or fix \`${kind}\` in ${file}.`,
    cause,
  });
}

/** How plugin modules are loaded; hosts such as Nx executors pass their own (TypeScript) loader. */
export type ModuleImporter = (root: string, module: string) => Promise<unknown>;

const REGISTRY = Symbol.for('labrig.modules');
type Registry = Record<string, () => Promise<unknown>>;

/**
 * Modules a host has already bundled (labrig-run registers the workspace's platform modules, so
 * they load as plain JavaScript and share this process's @labrig/core); `importModule` uses them first.
 */
export function registerModules(modules: Registry): void {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] = { ...g[REGISTRY], ...modules };
}

export function isRegistered(module: string): boolean {
  return !!(globalThis as { [REGISTRY]?: Registry })[REGISTRY]?.[module];
}

/**
 * Import a plugin module by name, resolved from the workspace root: modules a host registered
 * (labrig-run's bundle) first; else Node's own import. A module written in TypeScript (every
 * workspace plugin) that Node cannot load is required with Nx's TypeScript registration switched
 * on for the duration, as Nx does for an executor: so it shares the caller's module instances
 * (one @labrig/core) and typed errors stay recognisable.
 */
export const importModule: ModuleImporter = async (root, module) => {
  const registered = (globalThis as { [REGISTRY]?: Registry })[REGISTRY]?.[module];
  if (registered) return registered();
  const req = createRequire(join(root, 'package.json'));
  const resolved = req.resolve(module);
  if (!/\.[cm]?tsx?$/.test(resolved)) return import(pathToFileURL(resolved).href);
  try {
    return await import(pathToFileURL(resolved).href); // a runtime that loads TypeScript itself (vitest, tsx)
  } catch {
    // Node's own loader: a SyntaxError on types, or require() of a file: URL inside Nx's CommonJS
    // transpile. Nx's registration below reports its own errors.
  }
  const { registerTsProject } = req('nx/src/devkit-internals') as { registerTsProject: (tsconfig: string) => () => void };
  const cleanup = registerTsProject(join(root, 'tsconfig.base.json'));
  try {
    return req(resolved) as unknown;
  } finally {
    cleanup();
  }
};
