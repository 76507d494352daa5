/** Test helpers: run executors with their output captured, read journals, install the fixtures. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { readJournal, runsDir } from '@labrig/core';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export const ctxFor = (root: string, project = 'sigmaos'): ExecutorContext =>
  ({ root, projectName: project, projectsConfigurations: { version: 2, projects: { [project]: { root: `targets/${project}` } } } }) as unknown as ExecutorContext;

/** Run an executor with console and stdout captured. */
export async function run(fn: () => Promise<{ success: boolean }>): Promise<{ success: boolean; out: string }> {
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
  const r = await run(fn);
  if (!r.success) throw new Error(`executor failed:\n${r.out.slice(-4000)}`);
  return r.out;
}

export type Ev = Record<string, unknown>;

/** Journal events of the newest run with this title. */
export async function lastRun(root: string, title: string): Promise<{ dir: string; events: Ev[] }> {
  const base = runsDir(root);
  let best: { dir: string; events: Ev[]; time: string } | undefined;
  for (const id of readdirSync(base).filter((d) => /^\d{8}-/.test(d))) {
    const events = await readJournal(join(base, id));
    const start = events[0];
    if (start?.['title'] !== title) continue;
    const time = String(start['time']);
    if (!best || time > best.time) best = { dir: join(base, id), events, time };
  }
  if (!best) throw new Error(`no run titled ${title}`);
  return best;
}

export const statuses = (events: Ev[], step: string): Record<string, unknown> =>
  Object.fromEntries(events.filter((e) => e['type'] === 'host-end' && e['step'] === step).map((e) => [e['host'], e['status']]));

export const hostError = (events: Ev[], step: string, host: string) =>
  (events.find((e) => e['type'] === 'host-end' && e['step'] === step && e['host'] === host) as { error?: { code: string; message: string } } | undefined)?.error;

/**
 * Install the fixture commands for testbed hosts (each its own unix user): a bin folder (0755)
 * and a shared state folder (calls log, flags, swarm tokens, ready files) every user can write.
 */
export function installFixtures(dir: string): { bin: string; shared: string; ready: string } {
  chmodSync(dir, 0o755);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const f of readdirSync(join(FIXTURES, 'bin'))) {
    copyFileSync(join(FIXTURES, 'bin', f), join(bin, f));
    chmodSync(join(bin, f), 0o755);
  }
  chmodSync(bin, 0o755);
  const shared = join(dir, 'shared');
  for (const d of [shared, join(shared, 'flags'), join(shared, 'swarm')]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o777);
  }
  const ready = join(shared, 'ready');
  mkdirSync(ready, { recursive: true });
  chmodSync(ready, 0o1777);
  writeFileSync(join(shared, 'calls.log'), '');
  chmodSync(join(shared, 'calls.log'), 0o666);
  return { bin, shared, ready };
}

/**
 * The git repository the hosts clone (real git): the fixture checkout committed on master, readable
 * by every testbed user, plus a gitconfig trusting it (it belongs to another user than the hosts').
 */
export function makeFixtureRepo(dir: string): { url: string; gitconfig: string } {
  const url = join(dir, 'repo');
  cpSync(join(FIXTURES, 'checkout'), url, { recursive: true });
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  const git = (...a: string[]) => execFileSync('git', a, { cwd: url, env });
  git('init', '-q', '-b', 'master');
  git('add', '-A');
  git('commit', '-q', '-m', 'fixture checkout');
  execFileSync('chmod', ['-R', 'a+rX', url]);
  const gitconfig = join(dir, 'gitconfig');
  writeFileSync(gitconfig, '[safe]\n\tdirectory = *\n', { mode: 0o644 });
  return { url, gitconfig };
}
