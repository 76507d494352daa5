/**
 * `nx g @labrig/core:platform <name>`: a platform plugin package that works as generated: its
 * hosts are listed in its platform file and reached over SSH; its spec starts two testbed hosts
 * and runs the Platform contract checks (@labrig/testkit) on them. Run `npm install` afterwards
 * so the workspace links the new package.
 */
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tree } from '@nx/devkit';
import { generateFiles } from '@nx/devkit';

export interface PlatformGeneratorOptions {
  name: string;
  packageName?: string;
  directory?: string;
}

/** Validate and complete the options (pure). */
export function normalizeOptions(o: PlatformGeneratorOptions): Required<PlatformGeneratorOptions> & { offset: string; addressBase: string; port: number } {
  if (!/^[a-z][a-z0-9-]*$/.test(o.name ?? '')) throw new Error(`--name: got ${JSON.stringify(o.name)}, expected lowercase letters, digits and dashes (e.g. acme)`);
  const directory = (o.directory ?? `plugins/platforms/${o.name}`).replace(/\/+$/, '');
  // The generated spec's testbed range, from the name, so plugins do not collide with each other.
  const h = createHash('sha256').update(o.name).digest();
  return {
    name: o.name,
    packageName: o.packageName ?? `@labrig/platform-${o.name}`,
    directory,
    offset: relative(join('/', directory), '/') || '.',
    addressBase: `127.1.${h[0]! % 250}.0`,
    port: 2400 + (h[1]! % 100),
  };
}

export default async function platformGenerator(tree: Tree, raw: PlatformGeneratorOptions): Promise<void> {
  const o = normalizeOptions(raw);
  if (tree.exists(join(o.directory, 'package.json'))) throw new Error(`${o.directory} exists already: pick another --name or --directory`);
  const files = join(fileURLToPath(new URL('.', import.meta.url)), 'files');
  generateFiles(tree, files, o.directory, { ...o, tmpl: '' });
}
