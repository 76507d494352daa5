/** Test helpers: a temp workspace inside <workspace>/tmp (plugins resolve from its node_modules), executors run with output captured. */
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { executorContext, tempWorkspace as makeTempWorkspace } from '@labrig/testkit';

export const workspace = join(import.meta.dirname, '../../../../..');

export const tempWorkspace = (prefix: string): string => makeTempWorkspace(workspace, prefix);

export function writeIn(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** targets/cfiddle/system.toml of the repository, plus extra TOML appended at the end. */
export function copySystemFile(root: string, extra = ''): void {
  mkdirSync(join(root, 'targets/cfiddle'), { recursive: true });
  cpSync(join(workspace, 'targets/cfiddle/system.toml'), join(root, 'targets/cfiddle/system.toml'));
  if (extra) appendFileSync(join(root, 'targets/cfiddle/system.toml'), `\n${extra}\n`);
}

export const ctxFor = (root: string, project = 'cfiddle') => executorContext(root, project);
export { runExecutor as capture, expectSuccess as ok } from '@labrig/testkit';
