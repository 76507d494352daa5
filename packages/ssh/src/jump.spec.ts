/** ProxyJump (host.jump and ssh config) and ssh config aliases, against a testbed with a login host. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { HostUnreachable } from '@labrig/core';
import type { Host } from '@labrig/core';
import { acceptedConnections, toHost } from '@labrig/testbed';
import type { TestbedHost, TestbedState } from '@labrig/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshPool, SshPoolOptions } from './pool.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('jump', { hosts: 2, addressBase: '127.0.20.64', port: 2320, login: true, hostsBehindLogin: 1 });
let dir: string;
let state: TestbedState;
let login: TestbedHost;
let direct: TestbedHost;
let behind: TestbedHost;

const basePool = (extra: Partial<SshPoolOptions> = {}): SshPool => tb.pool({ readyTimeoutMs: 5000, ...extra });

beforeAll(() => {
  ({ dir, state } = tb);
  login = state.login as TestbedHost;
  direct = state.hosts.find((h) => !h.behindLogin) as TestbedHost;
  behind = state.hosts.find((h) => h.behindLogin) as TestbedHost;
});

describe('ProxyJump', () => {
  it('a host behind the login host is not reachable directly', async () => {
    const pool = basePool({ readyTimeoutMs: 2000 });
    try {
      const err = await pool.connect(toHost(behind)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostUnreachable);
    } finally {
      await pool.close();
    }
  });

  it('host.jump: reached through the login host, whose connection is reused', async () => {
    const pool = basePool();
    try {
      const loginBefore = await acceptedConnections(state, login.name);
      const target: Host = { ...toHost(behind), jump: toHost(login) };
      const [r1, r2] = await Promise.all([pool.connect(target), pool.connect(target)]);
      expect((await r1!.exec(['id', '-un'])).stdout.trim()).toBe(behind.user);
      expect((await r2!.exec(['sh', '-c', 'echo "$SSH_CONNECTION"'])).stdout).toMatch(/^\S+ \d+ \S+ 2320\n$/);
      const loginRemote = await pool.connect(toHost(login));
      expect((await loginRemote.exec(['id', '-un'])).stdout.trim()).toBe(login.user);
      expect(pool.stats()).toMatchObject({ connectionsOpened: 2, open: 2 });
      expect((await acceptedConnections(state, login.name)) - loginBefore).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('ProxyJump from an ssh config file (aliases for both hops)', async () => {
    const cfg = path.join(dir, 'ssh_config.test');
    writeFileSync(
      cfg,
      [
        'Host inner-alias',
        `  HostName ${behind.address}`,
        `  Port ${behind.port}`,
        `  User ${behind.user}`,
        `  IdentityFile ${behind.identityFile}`,
        '  ProxyJump bastion',
        '',
        'Host bastion',
        `  HostName ${login.address}`,
        `  User ${login.user}`,
        `  IdentityFile ${login.identityFile}`,
        '',
        'Host *',
        `  Port ${login.port}`,
        '',
      ].join('\n'),
    );
    const pool = basePool({ sshConfigFile: cfg });
    try {
      const r = await pool.connect({ name: 'inner', address: 'inner-alias', roles: [], labels: {} });
      expect((await r.exec(['id', '-un'])).stdout.trim()).toBe(behind.user);
      expect(pool.stats().connectionsOpened).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

describe('ssh config', () => {
  it('Host/HostName/User/Port/IdentityFile map an alias to a testbed host; explicit Host fields win', async () => {
    const cfg = path.join(dir, 'ssh_config.alias');
    writeFileSync(
      cfg,
      [
        '# test config',
        'Host my-alias other-alias',
        `  HostName ${direct.address}`,
        `  User ${direct.user}`,
        `  Port=${direct.port}`,
        `  IdentityFile ${direct.identityFile}`,
        '',
        'Host *',
        '  User nobody-wrong',
        '  Port 22',
        '',
      ].join('\n'),
    );
    const pool = basePool({ sshConfigFile: cfg });
    try {
      const r = await pool.connect({ name: 'aliased', address: 'my-alias', roles: [], labels: {} });
      expect((await r.exec(['id', '-un'])).stdout.trim()).toBe(direct.user);
      // An explicit (wrong) port on the Host wins over the config: connection refused.
      const err = await pool
        .connect({ name: 'explicit', address: 'other-alias', port: 2399, roles: [], labels: {} })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostUnreachable);
      expect((err as Error).message).toContain(`${direct.address}:2399`);
    } finally {
      await pool.close();
    }
  });
});
