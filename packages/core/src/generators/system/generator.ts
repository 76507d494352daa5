/**
 * `nx g @labrig/core:system <name>`: a code-defined system plugin package that works as generated:
 * a small service (setup writes its config on every host, deploy starts it and waits for its ready
 * file, stop, status), its targets declared in package.json for @labrig/system-kit/nx, an example
 * system file, and a spec that runs the System contract checks (@labrig/testkit) on two testbed
 * hosts. Run `npm install` afterwards so the workspace links the new package; copy
 * example/system.toml to targets/<name>/system.toml to make the project.
 */
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tree } from '@nx/devkit';
import { generateFiles } from '@nx/devkit';

export interface SystemGeneratorOptions {
  name: string;
  packageName?: string;
  directory?: string;
}

/** Validate and complete the options (pure). */
export function normalizeOptions(o: SystemGeneratorOptions): Required<SystemGeneratorOptions> & { offset: string; addressBase: string; port: number } {
  if (!/^[a-z][a-z0-9-]*$/.test(o.name ?? '')) throw new Error(`--name: got ${JSON.stringify(o.name)}, expected lowercase letters, digits and dashes (e.g. kvstore)`);
  const directory = (o.directory ?? `plugins/systems/${o.name}`).replace(/\/+$/, '');
  // The generated spec's testbed range, from the name (127.2.x: apart from generated platforms' 127.1.x).
  const h = createHash('sha256').update(o.name).digest();
  return {
    name: o.name,
    packageName: o.packageName ?? `@labrig/system-${o.name}`,
    directory,
    offset: relative(join('/', directory), '/') || '.',
    addressBase: `127.2.${h[0]! % 250}.0`,
    port: 2500 + (h[1]! % 100),
  };
}

export default async function systemGenerator(tree: Tree, raw: SystemGeneratorOptions): Promise<void> {
  const o = normalizeOptions(raw);
  if (tree.exists(join(o.directory, 'package.json'))) throw new Error(`${o.directory} exists already: pick another --name or --directory`);
  const files = join(fileURLToPath(new URL('.', import.meta.url)), 'files');
  generateFiles(tree, files, o.directory, { ...o, tmpl: '' });
}
