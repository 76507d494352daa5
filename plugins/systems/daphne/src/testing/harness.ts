/** Test helpers: temp workspaces inside <workspace>/tmp, a fake ExecutorContext, captured output, journals. */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { vi } from 'vitest';
import { readJournal, runsDir } from '@labrig/core';

export const workspace = join(import.meta.dirname, '../../../../..');
export const fixturesDir = join(import.meta.dirname, 'fixtures');

/** A temp workspace root inside the workspace (plugins resolve from its node_modules). */
export function tempRoot(prefix: string): string {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const root = mkdtempSync(join(workspace, 'tmp', prefix));
  writeFileSync(join(root, 'nx.json'), '{}\n');
  return root;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

export const ctxFor = (root: string, project: string): ExecutorContext =>
  ({ root, projectName: project, projectsConfigurations: { version: 2, projects: { [project]: { root: `targets/${project}` } } } }) as unknown as ExecutorContext;

/** Run an executor with its output captured. */
export async function run(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string }> {
  const out: string[] = [];
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' '))),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' '))),
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true)),
  ];
  try {
    return { ...(await fn()), out: out.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

export async function ok(fn: () => Promise<{ success: boolean }>): Promise<string> {
  const r = await run(fn);
  if (!r.success) throw new Error(`executor failed:\n${r.out.slice(-5000)}`);
  return r.out;
}

export type Ev = Record<string, unknown>;

/** Journal events of the newest run with this title. */
export async function lastRun(root: string, title: string): Promise<Ev[]> {
  const base = runsDir(root);
  let best: { events: Ev[]; time: string } | undefined;
  for (const id of readdirSync(base).filter((d) => /^\d{8}-/.test(d))) {
    const events = await readJournal(join(base, id));
    const start = events[0];
    if (start?.['title'] !== title) continue;
    const time = String(start['time']);
    if (!best || time >= best.time) best = { events, time };
  }
  if (!best) throw new Error(`no run titled ${title}`);
  return best.events;
}

/** host → status of a step's host-end events. */
export const statuses = (events: Ev[], step: string): Record<string, unknown> =>
  Object.fromEntries(events.filter((e) => e['type'] === 'host-end' && e['step'] === step).map((e) => [e['host'], e['status']]));

export const errorOf = (events: Ev[], step: string): { code?: string; message?: string } | undefined =>
  (events.find((e) => e['type'] === 'host-end' && e['step'] === step && e['error']) as { error?: { code?: string; message?: string } } | undefined)?.error;
