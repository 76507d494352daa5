/** Unix users of the hosts: created with useradd (`*` password field, /bin/sh, clean home), removed with userdel. */
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
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
  await mkdir(home, { recursive: true });
  await chown(home, entry.uid, entry.gid);
  await chmod(home, 0o755);
  return !existing;
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
