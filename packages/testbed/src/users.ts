/** Unix users of the hosts: created with useradd (`*` password field, /bin/sh, clean home), removed with userdel. */
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { TestbedError, describeError } from './errors.js';
import { processesOfUid, signal, waitForExit } from './proc.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export async function lookupUser(name: string): Promise<PasswdEntry | undefined> {
  const text = await readFile('/etc/passwd', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' };
    }
  }
  return undefined;
}

/**
 * Makes sure user `name` exists with home `home` (created empty, owned by the user).
 * An existing user is adopted only when its home is `home` (a leftover of this same testbed).
 * Returns true when the user was created now.
 */
export async function ensureUser(name: string, home: string): Promise<boolean> {
  const existing = await lookupUser(name);
  if (existing && path.resolve(existing.home) !== path.resolve(home)) {
    throw new TestbedError(
      'USER',
      `user ${name} already exists with home ${existing.home}, not ${home}: it does not belong to this testbed`,
      { hint: `If it is left over from an earlier testbed, remove it (\`userdel ${name}\`); otherwise use another --dir.` },
    );
  }
  if (!existing) {
    try {
      // -M: no /etc/skel copy (no rc files); -p '*': no password but not locked (sshd with UsePAM no refuses '!').
      await execa('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-p', '*', '-U', '-c', 'labrig testbed host', name], {
        stdin: 'ignore',
      });
    } catch (err) {
      throw new TestbedError('USER', `useradd ${name} failed: ${describeError(err)}`, { cause: err });
    }
  }
  const entry = await lookupUser(name);
  if (!entry) throw new TestbedError('USER', `user ${name} missing from /etc/passwd after useradd`);
  await ensureHome(home, entry);
  return !existing;
}

/** Makes sure folder `home` exists, owned by the user, mode 0755 (a host's own home when hosts share a user). */
export async function ensureHome(home: string, entry: PasswdEntry): Promise<void> {
  await mkdir(home, { recursive: true });
  await chown(home, entry.uid, entry.gid);
  await chmod(home, 0o755);
}

/**
 * Kills the user's processes that see folder `home` at `mountPoint` (those of one host when hosts
 * share a user: `TestbedHost.homeMount`), e.g. a process a deploy left running in the background,
 * which is outside the host's sshd process tree. Other hosts' processes of the same user stay.
 */
export async function killProcessesOfHome(name: string, home: string, mountPoint: string): Promise<void> {
  const entry = await lookupUser(name);
  if (!entry || entry.uid === 0) return;
  let target: { dev: number; ino: number };
  try {
    target = await stat(home);
  } catch {
    return;
  }
  const pids: number[] = [];
  for (const pid of await processesOfUid(entry.uid)) {
    // /proc/<pid>/root walks the process's own mount namespace: there, mountPoint is its host's home.
    const seen = await stat(`/proc/${pid}/root${mountPoint}`).catch(() => undefined);
    if (seen && seen.dev === target.dev && seen.ino === target.ino) pids.push(pid);
  }
  for (const p of pids) signal(p, 'SIGKILL');
  await waitForExit(pids, 5000);
}

/** Kills the user's processes (by uid) and removes the user; nothing when it does not exist. */
export async function removeUser(name: string): Promise<void> {
  const entry = await lookupUser(name);
  if (!entry) return;
  if (entry.uid === 0) throw new TestbedError('USER', `refusing to remove ${name}: uid 0`, { hint: `Check /etc/passwd: no testbed user has uid 0, so ${name} is not one.` });
  let pids = await processesOfUid(entry.uid);
  if (pids.length > 0) {
    for (const p of pids) signal(p, 'SIGKILL');
    pids = await waitForExit(pids, 5000);
  }
  try {
    await execa('userdel', [name], { stdin: 'ignore' });
  } catch (err) {
    if (await lookupUser(name)) {
      throw new TestbedError('USER', `userdel ${name} failed: ${describeError(err)}`, { cause: err });
    }
  }
}
