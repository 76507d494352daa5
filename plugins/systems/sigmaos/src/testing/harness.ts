/** Test helpers: run executors with their output captured, read journals, install the fixtures. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executorContext } from '@labrig/testkit';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export const ctxFor = (root: string, project = 'sigmaos') => executorContext(root, project);
export { runExecutor as run, expectSuccess as ok, lastRun, hostStatuses as statuses, hostError, type JournalEvent as Ev } from '@labrig/testkit';

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
