/** createNodesV2: a CloudLab platform file becomes a project with the kit's targets and link-test. */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CreateNodesContextV2 } from '@nx/devkit';
import { createNodesV2 } from './nodes.js';
import { makeWorkspace, writePlatformFiles } from './testing/workspace.js';

let root: string;
beforeEach(() => {
  root = makeWorkspace('cl-nodes');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('only platform files naming this plugin become projects; each gets link-test run by labrig-run', async () => {
  writePlatformFiles(root, 'utah', { 'platform.toml': 'platform = "@labrig/platform-cloudlab"\n' });
  writePlatformFiles(root, 'here', { 'platform.toml': 'platform = "@labrig/platform-local"\n' });
  const [glob, create] = createNodesV2;
  expect(glob).toBe('configs/platforms/*/platform.toml');
  const results = await create(['configs/platforms/utah/platform.toml', 'configs/platforms/here/platform.toml'], undefined, { workspaceRoot: root } as CreateNodesContextV2);
  expect(results.map(([f]) => f)).toEqual(['configs/platforms/utah/platform.toml']);
  const project = results[0]![1].projects!['configs/platforms/utah']!;
  expect(project.name).toBe('utah');
  expect(Object.keys(project.targets!).sort()).toEqual(['exec', 'hosts', 'link-test', 'prepare', 'provision', 'teardown']);
  expect(project.targets!['link-test']!.options.command).toBe('labrig-run @labrig/platform-cloudlab:link-test utah configs/platforms/utah --platform=utah');
});
