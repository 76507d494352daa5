/**
 * `sharedUser`: every host logs in as ONE unix user name (as on CloudLab, where each project member
 * has a login under the same name on every node), yet each host keeps its own clean home: its sshd
 * runs in its own mount namespace with the host's `home` bind-mounted over the user's home.
 * Real sshds, users and mount namespaces; 127.0.156.x:2610.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from './down.js';
import { kill, restart } from './faults.js';
import { tcpProbe } from './probe.js';
import { isRunning } from './proc.js';
import { loadState } from './state.js';
import type { TestbedState } from './types.js';
import { up } from './up.js';
import { lookupUser } from './users.js';

const opts = { hosts: 2, sharedUser: true, addressBase: '127.0.156.0', port: 2610 };
let dir: string;
let state: TestbedState;
/** A background process left on tb-0 (outlives its session; `down` must end it). */
let bg0 = 0;

/** `cmd` on host `name` through the testbed's own ssh_config (host keys pinned; ProxyJump for hosts behind tb-login). */
async function ssh(name: string, cmd: string, of: TestbedState = state): Promise<string> {
  const r = await execa('ssh', ['-F', of.sshConfigFile, name, cmd], { reject: false, timeout: 15_000, stdin: 'ignore' });
  expect(r.exitCode, `ssh ${name} ${cmd}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('hosts sharing one unix user', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'labrig-tbshared-'));
    state = await up({ dir, ...opts });
  }, 120_000);

  afterAll(async () => {
    if (dir) {
      await down(dir);
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('every host logs in as the same user, recorded once in the state with the option', async () => {
    const [a, b] = state.hosts;
    expect(a!.user).toBe(b!.user);
    expect(state.users).toEqual([a!.user]);
    expect((await loadState(dir)).options.sharedUser).toBe(true);
    const entry = await lookupUser(a!.user);
    expect(entry?.home).toBe(a!.homeMount);
    expect(a!.home).not.toBe(b!.home);
    for (const h of state.hosts) expect((await ssh(h.name, 'id -un; echo "$HOME"; pwd')).split('\n')).toEqual([h.user, h.homeMount, h.homeMount]);
  });

  it("each host has its own home: a file written in ~ on tb-0 is in tb-0's home folder, not on tb-1", async () => {
    const [a, b] = state.hosts;
    await ssh('tb-0', 'echo written-on-tb-0 > ~/mine && mkdir -p ~/.cache/x');
    expect(await readFile(path.join(a!.home, 'mine'), 'utf8')).toBe('written-on-tb-0\n');
    expect(existsSync(path.join(b!.home, 'mine'))).toBe(false);
    // The user's home on this machine's filesystem stays empty: the file went to tb-0's own folder.
    expect(await readdir(a!.homeMount!)).toEqual([]);
    expect(await ssh('tb-1', 'test -e ~/mine && echo present || echo absent; ls -A ~ | wc -l')).toBe('absent\n0');
    expect(await ssh('tb-0', 'cat ~/mine')).toBe('written-on-tb-0');
  });

  it('kill and restart of tb-0: it comes back with its own home, tb-1 untouched', async () => {
    const [a, b] = state.hosts;
    await kill(state, 'tb-0');
    expect(await tcpProbe(a!.address, a!.port, 1000)).toBe('refused');
    await restart(state, 'tb-0');
    expect(await ssh('tb-0', 'cat ~/mine')).toBe('written-on-tb-0');
    expect(await ssh('tb-1', 'test -e ~/mine && echo present || echo absent')).toBe('absent');
    expect(existsSync(path.join(b!.home, 'mine'))).toBe(false);
  });

  it("up again: same sshds; with one host fewer, only the removed host's processes die and the user stays", async () => {
    const pidOf = async (f: string) => Number((await readFile(f, 'utf8')).trim());
    const pids = await Promise.all(state.hosts.map((h) => pidOf(h.pidFile)));
    const again = await up({ dir, ...opts });
    expect(await Promise.all(again.hosts.map((h) => pidOf(h.pidFile)))).toEqual(pids);
    // Processes a deploy leaves running in the background: outside the sshd's process tree.
    const bg = async (name: string) => Number((await ssh(name, 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!')).trim());
    bg0 = await bg('tb-0');
    const bg1 = await bg('tb-1');
    const removed = state.hosts[1]!;
    state = await up({ dir, ...opts, hosts: 1 });
    expect(state.hosts.map((h) => h.name)).toEqual(['tb-0']);
    expect(await isRunning(bg1)).toBe(false);
    expect(await isRunning(bg0)).toBe(true);
    expect(existsSync(removed.home)).toBe(false);
    expect(await tcpProbe(removed.address, removed.port, 1000)).toBe('refused');
    expect(await lookupUser(state.hosts[0]!.user)).toBeDefined();
    expect(state.users).toEqual([state.hosts[0]!.user]);
    expect(await ssh('tb-0', 'cat ~/mine')).toBe('written-on-tb-0');
    // Back to two: tb-1 starts with a clean home.
    state = await up({ dir, ...opts });
    expect(await ssh('tb-1', 'ls -A ~ | wc -l')).toBe('0');
  });

  it('down removes the user (once), its processes and every home', async () => {
    const user = state.hosts[0]!.user;
    expect(await isRunning(bg0)).toBe(true);
    const homes = [...state.hosts.map((h) => h.home), state.hosts[0]!.homeMount!];
    const r = await down(dir);
    expect(r).toMatchObject({ wasUp: true, hosts: 2, users: 1 });
    expect(await lookupUser(user)).toBeUndefined();
    expect(await isRunning(bg0)).toBe(false);
    for (const h of homes) expect(existsSync(h), h).toBe(false);
  });
});

describe('hosts sharing one unix user, with a login host and a host behind it (network namespace)', () => {
  let jdir: string;
  let js: TestbedState;

  beforeAll(async () => {
    jdir = await mkdtemp(path.join(tmpdir(), 'labrig-tbsharedj-'));
    js = await up({ dir: jdir, ...opts, port: 2611, login: true, hostsBehindLogin: 1 });
  }, 120_000);

  afterAll(async () => {
    if (jdir) {
      await down(jdir);
      await rm(jdir, { recursive: true, force: true });
    }
  }, 60_000);

  it('the login host and the host behind it log in as the same user, each with its own home, also after a restart', async () => {
    const behind = js.hosts[1]!;
    expect(behind.netns).toBeDefined();
    expect(new Set([...js.hosts, js.login!].map((h) => h.user)).size).toBe(1);
    expect(await ssh('tb-1', 'id -un; echo behind > ~/mine; pwd', js)).toBe(`${behind.user}\n${behind.homeMount}`);
    expect(await readFile(path.join(behind.home, 'mine'), 'utf8')).toBe('behind\n');
    expect(await ssh('tb-login', 'ls -A ~ | wc -l', js)).toBe('0');
    expect(await ssh('tb-0', 'ls -A ~ | wc -l', js)).toBe('0');
    await kill(js, 'tb-1');
    await restart(js, 'tb-1');
    expect(await ssh('tb-1', 'cat ~/mine', js)).toBe('behind');
    expect(existsSync(path.join(js.login!.home, 'mine'))).toBe(false);
  });
});
