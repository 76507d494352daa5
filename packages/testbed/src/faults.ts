/** Fault injection on one host of a loaded state: kill, freeze/thaw, restart, host key rotation; log counts. */
import { readFile } from 'node:fs/promises';
import { TestbedError } from './errors.js';
import { replaceKeyPair } from './keys.js';
import { descendants, killTree, signal } from './proc.js';
import { hostFiles, sshdPid, startSshd, stopListener } from './sshd.js';
import { writeSshFiles } from './sshconfig.js';
import { findHost } from './state.js';
import type { TestbedState } from './types.js';

async function runningPid(state: TestbedState, name: string): Promise<number> {
  const host = findHost(state, name);
  const pid = await sshdPid(host);
  if (pid === undefined) {
    throw new TestbedError('NOT_UP', `the sshd of ${name} is not running (pid file ${host.pidFile})`, {
      hint: `Start it again with \`tools/testbed restart ${name}\`.`,
    });
  }
  return pid;
}

/** SIGKILL the host's sshd and everything under it: connections die, the port refuses. */
export async function kill(state: TestbedState, name: string): Promise<void> {
  await killTree(await runningPid(state, name));
}

/**
 * SIGSTOP the host's sshd and all its descendants (per-connection sshds, sessions):
 * existing connections hang, new ones connect at TCP level but get no banner.
 * Returns the pids stopped.
 */
export async function freeze(state: TestbedState, name: string): Promise<number[]> {
  const pid = await runningPid(state, name);
  // Listener first, so it forks no new child while the tree is walked.
  signal(pid, 'SIGSTOP');
  const stopped = new Set<number>([pid]);
  // Children forked just before the stop may still fork: walk until nothing new shows up.
  for (let round = 0; round < 10; round++) {
    const fresh = (await descendants(pid)).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  return [...stopped];
}

/** SIGCONT the host's sshd and all its descendants. */
export async function thaw(state: TestbedState, name: string): Promise<number[]> {
  const pid = await runningPid(state, name);
  const kids = await descendants(pid);
  for (const p of kids) signal(p, 'SIGCONT');
  signal(pid, 'SIGCONT');
  return [pid, ...kids];
}

/** Starts the host's sshd again (after kill); nothing when it runs. Returns the pid. */
export async function restart(state: TestbedState, name: string): Promise<number> {
  const host = findHost(state, name);
  const pid = await sshdPid(host);
  if (pid !== undefined) return pid;
  return startSshd(host);
}

/** New host key, sshd restarted (existing connections stay). Returns the new pid. */
export async function rotateHostKey(state: TestbedState, name: string): Promise<number> {
  const host = findHost(state, name);
  await replaceKeyPair(hostFiles(host).hostKeyFile, `${host.name}@labrig-testbed-${state.id}`);
  await stopListener(host);
  const pid = await startSshd(host);
  await writeSshFiles(state);
  return pid;
}

/** Number of "Accepted publickey" lines in the host's sshd log (all connections since `up` made the host). */
export async function acceptedConnections(state: TestbedState, name: string): Promise<number> {
  const host = findHost(state, name);
  let text: string;
  try {
    text = await readFile(host.logFile, 'utf8');
  } catch (err) {
    throw new TestbedError('NOT_UP', `cannot read the sshd log of ${name} (${host.logFile})`, { cause: err });
  }
  let n = 0;
  for (const line of text.split('\n')) if (line.includes('Accepted publickey')) n++;
  return n;
}
