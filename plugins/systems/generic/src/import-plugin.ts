/**
 * Loading platform plugins from inside an Nx executor. Nx transpiles TypeScript plugins through
 * a CommonJS require hook only while it loads the executor itself, and Node's ESM loader has no
 * TypeScript support, so a plugin written in TypeScript (like every workspace plugin) is required
 * with Nx's own TypeScript registration switched on for the duration. Required, it shares the
 * executor's module instances (one @labrig/core), so typed errors stay recognisable.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { importModule, isRegistered, type ModuleImporter } from '@labrig/core';

export const importPluginModule: ModuleImporter = async (root, module) => {
  if (isRegistered(module)) return importModule(root, module); // bundled by labrig-run
  const req = createRequire(join(root, 'package.json'));
  const resolved = req.resolve(module);
  if (!/\.[cm]?tsx?$/.test(resolved)) return importModule(root, module);
  try {
    return await importModule(root, module); // a runtime that loads TypeScript itself (vitest, tsx)
  } catch {
    // Not here: Node's own loader (a SyntaxError on types, or require() of a file: URL once Nx has
    // transpiled this module to CommonJS). Nx's registration below reports its own errors.
  }
  const { registerTsProject } = req('nx/src/devkit-internals') as { registerTsProject: (tsconfig: string) => () => void };
  const cleanup = registerTsProject(join(root, 'tsconfig.base.json'));
  try {
    return req(resolved) as unknown;
  } finally {
    cleanup();
  }
};
