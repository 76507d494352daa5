import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedConnections,
  down,
  fingerprint,
  freeze,
  kill,
  loadState,
  restart,
  rotateHostKey,
  status,
  tcpProbe,
  thaw,
  up,
  type TestbedHost,
  type TestbedState,
} from './index.js';
import { isRunning } from './proc.js';
import { lookupUser } from './users.js';
import { netnsExists } from './netns.js';

const ADDRESS_BASE = '127.0.10.0';
const PORT = 2310;

function sshArgs(h: TestbedHost, extra: string[] = []): string[] {
  return [
    '-i', h.identityFile,
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    ...extra,
    '-p', String(h.port),
    `${h.user}@${h.address}`,
  ];
}

async function ssh(h: TestbedHost, command: string, extra: string[] = [], timeout = 15_000) {
  return execa('ssh', [...sshArgs(h, extra), command], { reject: false, timeout, stdin: 'ignore' });
}

/** Reads the SSH banner: the first bytes sshd sends. Fails (timeout) when the sshd is frozen. */
async function banner(h: TestbedHost, timeoutMs: number): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: h.address, port: h.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('banner timeout'));
    }, timeoutMs);
    sock.once('data', (d) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(d.toString());
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function pidOf(h: TestbedHost): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  return Number((await readFile(h.pidFile, 'utf8')).trim());
}

describe('testbed hosts', () => {
  let dir: string;
  let state: TestbedState;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'labrig-tb-'));
    const t0 = Date.now();
    state = await up({ dir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT });
    console.log(`up 4 hosts: ${Date.now() - t0} ms`);
  });

  afterAll(async () => {
    await down(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('brings up 4 real sshds, each accepting its own user with the client key', async () => {
    expect(state.hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1', 'tb-2', 'tb-3']);
    expect(state.hosts.map((h) => h.address)).toEqual(['127.0.10.1', '127.0.10.2', '127.0.10.3', '127.0.10.4']);
    expect(new Set(state.hosts.map((h) => h.user)).size).toBe(4);
    for (const h of state.hosts) {
      const before = await acceptedConnections(state, h.name);
      const r = await ssh(h, 'true');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await acceptedConnections(state, h.name)).toBe(before + 1);
    }
    const who = await ssh(state.hosts[1]!, 'id -un; pwd');
    expect(who.stdout.split('\n')).toEqual([state.hosts[1]!.user, state.hosts[1]!.home]);
  });

  it('a second connection is counted too; the state is loadable and status is ok', async () => {
    const h = state.hosts[0]!;
    const before = await acceptedConnections(state, h.name);
    expect((await ssh(h, 'echo hi')).stdout).toBe('hi');
    expect(await acceptedConnections(state, h.name)).toBe(before + 1);
    const loaded = await loadState(dir);
    expect(loaded.hosts).toEqual(state.hosts);
    const st = await status(dir);
    expect(st.ok).toBe(true);
    expect(st.hosts.every((x) => x.alive && x.answer === 'open')).toBe(true);
  });

  it('the generated ssh_config and known_hosts work with strict host key checking', async () => {
    const r = await execa('ssh', ['-F', state.sshConfigFile, 'tb-2', 'id -un'], { reject: false, timeout: 15_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(state.hosts[2]!.user);
  });

  it('two concurrent ups on the same dir take turns and agree', async () => {
    const [a, b] = await Promise.all([
      up({ dir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT }),
      up({ dir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT }),
    ]);
    expect(a.hosts).toEqual(b.hosts);
  });

  it('up twice with the same options is idempotent (same pids)', async () => {
    const pids = await Promise.all(state.hosts.map(pidOf));
    const t0 = Date.now();
    const again = await up({ dir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await Promise.all(again.hosts.map(pidOf))).toEqual(pids);
    expect(again.hosts).toEqual(state.hosts);
  });

  it('kill makes the port refuse; restart brings it back', async () => {
    const h = state.hosts[3]!;
    await kill(state, h.name);
    expect(await tcpProbe(h.address, h.port, 1000)).toBe('refused');
    expect((await status(dir)).hosts.find((x) => x.name === h.name)?.alive).toBe(false);
    await restart(state, h.name);
    expect(await tcpProbe(h.address, h.port, 1000)).toBe('open');
    expect((await ssh(h, 'true')).exitCode).toBe(0);
  });

  it('freeze makes a handshake hang, existing sessions too; thaw makes both work again', async () => {
    const h = state.hosts[2]!;
    // A session open before the freeze: its per-connection sshd must be stopped too.
    const session = execa('ssh', [...sshArgs(h), 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo $i; sleep 0.2; done'], {
      reject: false,
      stdin: 'ignore',
    });
    const lines: string[] = [];
    session.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (lines.length > 0) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    const stopped = await freeze(state, h.name);
    expect(stopped.length).toBeGreaterThan(1);
    const seenAtFreeze = lines.length;
    await expect(banner(h, 1500)).rejects.toThrow(/banner timeout/);
    const r = await ssh(h, 'true', ['-o', 'ConnectTimeout=2'], 2500);
    expect(r.exitCode).not.toBe(0);
    expect(lines.length).toBeLessThanOrEqual(seenAtFreeze + 1);
    await thaw(state, h.name);
    expect(await banner(h, 3000)).toMatch(/^SSH-2\.0-OpenSSH/);
    expect((await ssh(h, 'true')).exitCode).toBe(0);
    const done = await session;
    expect(done.exitCode).toBe(0);
    expect(lines.at(-1)).toBe('20');
  });

  it('rotateHostKey changes the host key fingerprint and sshd serves the new key', async () => {
    const h = state.hosts[1]!;
    const before = await fingerprint(`${h.hostKeyFile}.pub`);
    await rotateHostKey(state, h.name);
    const after = await fingerprint(`${h.hostKeyFile}.pub`);
    expect(after).not.toBe(before);
    const scan = await execa('ssh-keyscan', ['-t', 'ed25519', '-p', String(h.port), h.address], { reject: false });
    const served = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: scan.stdout });
    expect(served.stdout).toContain(after);
    expect((await ssh(h, 'true')).exitCode).toBe(0);
  });

  it('a different host count adds and removes hosts', async () => {
    const s6 = await up({ dir, hosts: 6, addressBase: ADDRESS_BASE, port: PORT });
    expect(s6.hosts).toHaveLength(6);
    expect((await ssh(s6.hosts[5]!, 'true')).exitCode).toBe(0);
    const removed = s6.hosts[5]!;
    const s4 = await up({ dir, hosts: 4, addressBase: ADDRESS_BASE, port: PORT });
    expect(s4.hosts).toHaveLength(4);
    expect(await lookupUser(removed.user)).toBeUndefined();
    expect(await tcpProbe(removed.address, removed.port, 1000)).toBe('refused');
    state = s4;
  });

  it('rejects bad options naming the option and the value', async () => {
    await expect(up({ dir, hosts: -1 })).rejects.toThrow(/--hosts: "-1"/);
    await expect(up({ dir, hosts: 2, addressBase: '10.0.0.0' })).rejects.toThrow(/--address-base: "10.0.0.0"/);
    await expect(up({ dir, hosts: 2, port: 70000 })).rejects.toThrow(/--port: "70000"/);
    await expect(up({ dir, hosts: 2, hostsBehindLogin: 1 })).rejects.toThrow(/--behind/);
    await expect(loadState(path.join(dir, 'nothing'))).rejects.toMatchObject({
      code: 'NOT_UP',
      message: expect.stringMatching(/no testbed at/),
      hint: expect.stringMatching(/`tools\/testbed up`/),
    });
  });
});

describe('login host and hosts behind it', () => {
  let dir: string;
  let state: TestbedState;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'labrig-tbj-'));
    state = await up({ dir, hosts: 3, login: true, hostsBehindLogin: 2, addressBase: ADDRESS_BASE, port: PORT + 1 });
  });

  afterAll(async () => {
    await down(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('records the login host and which hosts are behind it', () => {
    expect(state.login?.name).toBe('tb-login');
    expect(state.hosts.map((h) => Boolean(h.behindLogin))).toEqual([false, true, true]);
    expect(state.hosts[2]!.jump).toBe('tb-login');
  });

  it('the login host is reachable from here', async () => {
    const r = await ssh(state.login!, 'id -un');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(state.login!.user);
  });

  it('a private host is NOT reachable directly but IS reachable with ssh -J', async () => {
    const p = state.hosts[2]!;
    expect(await tcpProbe(p.address, p.port, 1000)).not.toBe('open');
    const direct = await ssh(p, 'true', [], 10_000);
    expect(direct.exitCode).not.toBe(0);
    // -J does not pass -i/-o to the jump connection: the jump host is described in the generated config.
    const before = await acceptedConnections(state, 'tb-login');
    const jumped = await ssh(p, 'id -un', ['-F', state.sshConfigFile, '-J', 'tb-login']);
    expect(jumped.exitCode, jumped.stderr).toBe(0);
    expect(jumped.stdout).toBe(p.user);
    expect(await acceptedConnections(state, 'tb-login')).toBe(before + 1);
    const byName = await execa('ssh', ['-F', state.sshConfigFile, 'tb-1', 'true'], { reject: false, timeout: 15_000 });
    expect(byName.exitCode, byName.stderr).toBe(0);
  });

  it('fault injection works on a host inside the namespace', async () => {
    const p = state.hosts[1]!;
    await kill(state, p.name);
    expect((await status(dir)).hosts.find((x) => x.name === p.name)?.answer).toBe('refused');
    await restart(state, p.name);
    expect((await status(dir)).ok).toBe(true);
  });

  it('down removes processes, users and the namespace; twice is fine', async () => {
    // A process left running in the background on a host (as deploys do) must not keep its user alive.
    const bg = await ssh(state.hosts[0]!, 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!');
    const bgPid = Number(bg.stdout.trim());
    expect(bgPid).toBeGreaterThan(0);
    const pids = [...(await Promise.all([...state.hosts, state.login!].map(pidOf))), bgPid];
    const netns = state.netns!.name;
    expect(await netnsExists(netns)).toBe(true);
    const r = await down(dir);
    expect(r.wasUp).toBe(true);
    // Zombies (not yet reaped by pid 1) do not count.
    expect((await Promise.all(pids.map(isRunning))).some(Boolean)).toBe(false);
    for (const h of [...state.hosts, state.login!]) expect(await lookupUser(h.user)).toBeUndefined();
    expect(await netnsExists(netns)).toBe(false);
    expect((await down(dir)).wasUp).toBe(false);
    await expect(loadState(dir)).rejects.toMatchObject({ code: 'NOT_UP', hint: expect.stringMatching(/`tools\/testbed up`/) });
  });
});
