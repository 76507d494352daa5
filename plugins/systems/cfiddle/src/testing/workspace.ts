/** Test helpers: a temp workspace inside <workspace>/tmp (plugins resolve from its node_modules), executors run with output captured. */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { vi } from 'vitest';

export const workspace = join(import.meta.dirname, '../../../../..');

export function tempWorkspace(prefix: string): string {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const root = mkdtempSync(join(workspace, 'tmp', prefix));
  writeFileSync(join(root, 'nx.json'), '{}\n');
  return root;
}

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

export const ctxFor = (root: string, project = 'cfiddle'): ExecutorContext =>
  ({ root, projectName: project, projectsConfigurations: { version: 2, projects: { [project]: { root: `targets/${project}` } } } }) as unknown as ExecutorContext;

/** Run an executor with everything it prints captured (console and stdout). */
export async function capture(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string }> {
  const out: string[] = [];
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' '))),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' '))),
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true)),
  ];
  try {
    return { ...(await fn()), out: out.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

export async function ok(fn: () => Promise<{ success: boolean }>): Promise<string> {
  const r = await capture(fn);
  if (!r.success) throw new Error(`executor failed:\n${r.out.slice(-6000)}`);
  return r.out;
}
