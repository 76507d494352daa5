/** `down`: stop exactly what `up` started (by pid file), remove its users, its namespace and the state. */
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { withLock } from './lock.js';
import path from 'node:path';
import { removeNetns } from './netns.js';
import { stopServices } from './services.js';
import { knownHostsPath, sshConfigPath } from './sshconfig.js';
import { stopSshd } from './sshd.js';
import { allHosts, readState, statePath } from './state.js';
import { mapLimit } from './pool.js';
import type { TestbedState } from './types.js';
import { removeUser } from './users.js';

export interface DownResult {
  /** False when there was no testbed at dir. */
  wasUp: boolean;
  hosts: number;
  users: number;
}

/**
 * Safe to run twice and when nothing is up. Keeps the host keys and client key (so a later `up`
 * presents the same host keys to known_hosts) and the sshd logs; removes homes, pid files, state.
 */
export async function down(dir: string): Promise<DownResult> {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) return { wasUp: false, hosts: 0, users: 0 };
  return withLock(abs, () => downLocked(abs));
}

async function downLocked(abs: string): Promise<DownResult> {
  const state: TestbedState | undefined = await readState(abs);
  // Services keep their own pid files under dir: stopped even without a state file.
  await stopServices(abs);
  if (!state) return { wasUp: false, hosts: 0, users: 0 };
  const hosts = allHosts(state);
  await mapLimit(hosts, 16, (h) => stopSshd(h));
  for (const user of state.users) await removeUser(user);
  if (state.netns) await removeNetns(state.netns);
  for (const h of hosts) {
    await rm(h.home, { recursive: true, force: true });
    // Hosts sharing a user: its passwd home (the mount point inside each host's mount namespace).
    if (h.homeMount) {
      await rm(h.homeMount, { recursive: true, force: true });
      await rmdir(path.dirname(h.homeMount)).catch(() => undefined); // <dir>/users, when empty
    }
  }
  await rm(sshConfigPath(abs), { force: true });
  await rm(knownHostsPath(abs), { force: true });
  await rm(statePath(abs), { force: true });
  return { wasUp: true, hosts: hosts.length, users: state.users.length };
}
