/**
 * Shared SSH pools (the labrig agent's): leases on one pool per settings, connections kept when a
 * lease closes, one connection per host under concurrent leases, known_hosts changes, dead
 * connections replaced, idle pools closed. Real sshd hosts (127.0.147.x:2520).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptedConnections, kill, restart } from '@labrig/testbed';
import { SshPool, type SshPoolEvent, type SshPoolOptions } from './pool.js';
import { acquireSshPool, enableSharedPools } from './shared.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('shared', { hosts: 3, addressBase: '127.0.147.0', port: 2520 });

const opts = (o: Partial<SshPoolOptions> = {}): SshPoolOptions => ({
  knownHostsFile: path.join(tb.dir, 'known_hosts.shared'),
  sshConfigFile: false,
  agent: false,
  defaultIdentityFiles: [],
  ...o,
});
const logins = async (): Promise<number[]> => Promise.all(tb.state.hosts.map((h) => acceptedConnections(tb.state, h.name)));
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('acquireSshPool', () => {
  it('without sharing (a command of its own) gives a pool of its own, closed with it', async () => {
    const p = acquireSshPool(opts());
    expect(p).toBeInstanceOf(SshPool);
    await (await p.connect(tb.hosts[0]!)).exec(['true']);
    expect(p.stats().open).toBe(1);
    await p.close();
    expect(p.stats().open).toBe(0);
  });

  it('with sharing: leases of the same settings share connections, kept when a lease closes; other settings get their own pool', async () => {
    const events: Array<SshPoolEvent & { pool: string }> = [];
    const shared = enableSharedPools((e) => events.push(e));
    const before = await logins();
    const a = acquireSshPool(opts());
    await Promise.all(tb.hosts.map(async (h) => (await a.connect(h)).exec(['true'])));
    await a.close();
    expect(sum(await logins()) - sum(before)).toBe(3);
    // Two commands at once (Nx running push and setup): one connection per host between them.
    const b = acquireSshPool(opts());
    const c = acquireSshPool(opts());
    const r = await Promise.all([...tb.hosts, ...tb.hosts].map(async (h, i) => (await (i % 2 ? b : c).connect(h)).exec(['echo', h.name])));
    expect(r.map((x) => x.stdout.trim()).sort()).toEqual([...tb.hosts, ...tb.hosts].map((h) => h.name).sort());
    expect(sum(await logins()) - sum(before)).toBe(3);
    expect(b.stats().connectionsOpened).toBe(3);
    expect(shared.list()).toHaveLength(1);
    expect(shared.list()[0]!.leases).toBe(2);
    await b.close();
    await c.close();
    expect(() => c.connect(tb.hosts[0]!)).toThrow(/lease was closed/);
    // Another known_hosts file: another pool, its own connections.
    const d = acquireSshPool(opts({ knownHostsFile: path.join(tb.dir, 'known_hosts.other') }));
    await (await d.connect(tb.hosts[0]!)).exec(['true']);
    await d.close();
    expect(sum(await logins()) - sum(before)).toBe(4);
    expect(shared.list()).toHaveLength(2);
    expect(shared.list().every((p) => p.leases === 0)).toBe(true);
    expect(events).toEqual([]);
  });

  it('re-checks known_hosts at each lease: added lines keep the connections, a removed line drops them (journaled)', async () => {
    const events: Array<SshPoolEvent & { pool: string }> = [];
    enableSharedPools((e) => events.push(e));
    const kh = path.join(tb.dir, 'known_hosts.shared');
    const before = sum(await logins());
    appendFileSync(kh, '[127.0.147.99]:2520 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxQ0s0n0000000000000000000000000000000000000\n');
    const a = acquireSshPool(opts());
    await Promise.all(tb.hosts.map(async (h) => (await a.connect(h)).exec(['true'])));
    await a.close();
    expect(sum(await logins())).toBe(before);
    const h1 = tb.state.hosts[1]!;
    writeFileSync(kh, readFileSync(kh, 'utf8').split('\n').filter((l) => !l.startsWith(`[${h1.address}]:${h1.port} `)).join('\n'));
    const b = acquireSshPool(opts());
    expect(b.stats().connectionsDropped).toBe(3);
    await Promise.all(tb.hosts.map(async (h) => (await b.connect(h)).exec(['true'])));
    await b.close();
    expect(sum(await logins())).toBe(before + 3);
    expect(events).toEqual([expect.objectContaining({ type: 'connections-dropped', hosts: expect.arrayContaining(tb.hosts.map((h) => h.name)) })]);
  });

  it('replaces a connection that died between commands, counted and journaled', async () => {
    const events: Array<SshPoolEvent & { pool: string }> = [];
    const shared = enableSharedPools((e) => events.push(e));
    const a = acquireSshPool(opts());
    await (await a.connect(tb.hosts[2]!)).exec(['true']);
    await a.close();
    await kill(tb.state, tb.hosts[2]!.name);
    await restart(tb.state, tb.hosts[2]!.name);
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'connection-lost') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(events).toContainEqual(expect.objectContaining({ type: 'connection-lost', host: tb.hosts[2]!.name }));
    const b = acquireSshPool(opts());
    expect((await (await b.connect(tb.hosts[2]!)).exec(['echo', 'back'])).stdout.trim()).toBe('back');
    expect(b.stats().connectionsLost).toBe(1);
    await b.close();
    // Idle pools are closed after their idle time; leased ones never.
    const held = acquireSshPool(opts({ knownHostsFile: path.join(tb.dir, 'known_hosts.held') }));
    await new Promise((r) => setTimeout(r, 30));
    expect(await shared.closeIdle(20)).toBe(2);
    expect(shared.list().map((p) => p.leases)).toEqual([1]);
    await held.close();
    await shared.closeAll();
    expect(shared.list()).toEqual([]);
  });
});
