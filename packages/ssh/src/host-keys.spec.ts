/** Host key policies and auth errors against real sshd hosts (127.0.20.33-34:2320). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuthFailed, HostKeyMismatch } from '@labrig/core';
import { rotateHostKey, toHost } from '@labrig/testbed';
import type { TestbedHost, TestbedState } from '@labrig/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostKeyUnknown } from '@labrig/core';
import type { SshPool, SshPoolOptions } from './pool.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('hostkeys', { hosts: 2, addressBase: '127.0.20.32', port: 2320 });
let dir: string;
let state: TestbedState;
let knownHosts: string;

async function withPool<T>(opts: Partial<SshPoolOptions>, fn: (p: SshPool) => Promise<T>): Promise<T> {
  const pool = tb.pool({ knownHostsFile: knownHosts, ...opts });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

beforeAll(() => {
  ({ dir, state } = tb);
  knownHosts = path.join(dir, '.labrig', 'known_hosts');
});

const pubKeyOf = (h: TestbedHost): string => {
  const [type, b64] = readFileSync(`${(h as TestbedHost & { hostKeyFile: string }).hostKeyFile}.pub`, 'utf8').trim().split(/\s+/);
  return `${type} ${b64}`;
};

describe('host keys', () => {
  it('accept-new records a new host once (re-runs add nothing)', async () => {
    const hosts = tb.hosts;
    await withPool({}, async (p) => {
      await Promise.all(hosts.map((h) => p.connect(h).then((r) => r.exec(['true']))));
    });
    await withPool({}, async (p) => {
      await Promise.all(hosts.map((h) => p.connect(h).then((r) => r.exec(['true']))));
    });
    const lines = readFileSync(knownHosts, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(state.hosts.map((h) => `[${h.address}]:${h.port} ${pubKeyOf(h)}`).sort());
  });

  it('strict refuses an unknown host, accepts a known one', async () => {
    const other = path.join(dir, 'empty_known_hosts');
    const err = await withPool({ knownHostsFile: other, hostKeyPolicy: 'strict' }, (p) =>
      p.connect(toHost(state.hosts[0] as TestbedHost)),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyUnknown);
    expect((err as Error).message).toContain('[127.0.20.33]:2320');
    await withPool({ hostKeyPolicy: 'strict' }, async (p) => {
      const r = await p.connect(toHost(state.hosts[0] as TestbedHost));
      expect((await r.exec(['echo', 'ok'])).stdout).toBe('ok\n');
    });
  });

  it('after rotateHostKey a fresh pool fails with HostKeyMismatch naming the file', async () => {
    const h = state.hosts[1] as TestbedHost;
    await rotateHostKey(state, h.name);
    const before = readFileSync(knownHosts, 'utf8');
    const err = await withPool({}, (p) => p.connect(toHost(h))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    const m = err as HostKeyMismatch;
    expect(m.knownHostsFile).toBe(knownHosts);
    expect(m.host).toBe(h.name);
    expect(m.message).toContain(`[${h.address}]:${h.port}`);
    expect(m.hint).toContain(knownHosts);
    expect(readFileSync(knownHosts, 'utf8')).toBe(before); // nothing appended
    // policy off connects anyway
    await withPool({ hostKeyPolicy: 'off' }, async (p) => {
      await (await p.connect(toHost(h))).exec(['true']);
    });
  });
});

describe('auth', () => {
  it('a wrong key -> AuthFailed telling which files were tried', async () => {
    const keyDir = mkdtempSync(path.join(tmpdir(), 'labrig-ssh-key-'));
    const wrong = path.join(keyDir, 'id_wrong');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const h = { ...toHost(state.hosts[0] as TestbedHost), identityFiles: [wrong, path.join(keyDir, 'missing')] };
    const err = await withPool({}, (p) => p.connect(h)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailed);
    expect((err as Error).message).toContain(`publickey ${wrong}`);
    expect((err as Error).message).toContain('missing (missing)');
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('ssh-agent is used when given', async () => {
    const keyDir = mkdtempSync(path.join(tmpdir(), 'labrig-ssh-agent-'));
    const sock = path.join(keyDir, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    try {
      const host0 = state.hosts[0] as TestbedHost;
      execFileSync('ssh-add', ['-q', host0.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const h = { ...toHost(host0), identityFiles: [] };
      await withPool({ agent: sock }, async (p) => {
        expect((await (await p.connect(h)).exec(['id', '-un'])).stdout.trim()).toBe(host0.user);
      });
    } finally {
      if (pid) process.kill(pid);
      rmSync(keyDir, { recursive: true, force: true });
    }
  });
});
