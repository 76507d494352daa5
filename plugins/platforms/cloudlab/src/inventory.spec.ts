/**
 * The inventory from a platform folder: manifest or servers.txt beside platform.toml, roles by
 * order or by name, cluster addresses from the manifest or from recorded state; and its errors.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { CLUSTER_ADDRESSES_FILE } from './state.js';
import { makeWorkspace, openCloudlab, writePlatformFiles } from './testing/workspace.js';

const SAMPLE = readFileSync(join(import.meta.dirname, 'testing', 'fixtures', 'manifest.xml'), 'utf8');
const HEAD = 'platform = "@labrig/platform-cloudlab"\n';
let root: string;

beforeEach(() => {
  root = makeWorkspace('cl-inv');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function inventory(toml: string, files: Record<string, string> = { 'manifest.xml': SAMPLE }) {
  writePlatformFiles(root, 'cl', { 'platform.toml': HEAD + toml, ...files });
  const p = await openCloudlab(root, 'cl');
  return { p, hosts: await p.platform.inventory(p.cfg, p.ctx) };
}

async function configErrorOf(toml: string, files?: Record<string, string>): Promise<ConfigError> {
  const err = await inventory(toml, files).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('inventory from a manifest', () => {
  it('hosts in manifest order: the login of the configured user, leader first, cluster addresses on the subnet', async () => {
    const { hosts } = await inventory('[hosts]\nmanifest = "manifest.xml"\nuser = "bob"\n');
    expect(hosts.map((h) => [h.name, h.roles.join(',')])).toEqual([
      ['node0', 'leader'],
      ['node1', 'worker'],
      ['node2', 'worker'],
      ['node3', 'worker'],
    ]);
    expect(hosts[2]).toEqual({
      name: 'node2',
      address: 'c220g5-110509.wisc.cloudlab.us',
      port: 22,
      user: 'bob',
      roles: ['worker'],
      labels: {
        platform: 'cloudlab',
        source: 'manifest',
        hardwareType: 'c220g5',
        component: 'c220g5-110509',
        site: 'wisc.cloudlab.us',
        dnsName: 'node2.sigma-exp.sigmaos-PG0.wisc.cloudlab.us',
        publicIpv4: '128.105.145.9',
      },
      privateAddress: '10.10.1.3',
    });
  });

  it('roles by name: [roles] names the leader and other roles; the rest are workers', async () => {
    const { hosts } = await inventory('[hosts]\nmanifest = "manifest.xml"\nuser = "alice"\n[roles]\nleader = ["node2"]\nstorage = ["node2", "node3"]\n');
    expect(Object.fromEntries(hosts.map((h) => [h.name, h.roles]))).toEqual({
      node0: ['worker'],
      node1: ['worker'],
      node2: ['leader', 'storage'],
      node3: ['storage'],
    });
  });

  it('no cluster address when the subnet does not hold the manifest addresses', async () => {
    const { hosts } = await inventory('[hosts]\nmanifest = "manifest.xml"\nuser = "alice"\n[network]\nsubnet = "192.168.0.0/16"\n');
    expect(hosts.every((h) => h.privateAddress === undefined)).toBe(true);
  });

  it('recorded cluster addresses win, but only for the same machine and subnet', async () => {
    writePlatformFiles(root, 'cl', { 'platform.toml': `${HEAD}[hosts]\nmanifest = "manifest.xml"\nuser = "alice"\n`, 'manifest.xml': SAMPLE });
    const p = await openCloudlab(root, 'cl');
    mkdirSync(p.ctx.stateDir, { recursive: true });
    const rec = (address: string, clusterAddress: string, subnet = '10.10.0.0/16') => ({ address, clusterAddress, interface: 'enp94s0f0', subnet, recordedAt: '2025-12-01T10:00:00Z' });
    writeFileSync(
      join(p.ctx.stateDir, CLUSTER_ADDRESSES_FILE),
      JSON.stringify({
        version: 1,
        hosts: {
          node0: rec('c220g5-110531.wisc.cloudlab.us', '10.10.2.1'),
          node1: rec('c220g5-999999.wisc.cloudlab.us', '10.10.2.2'), // an older experiment's machine
          node2: rec('c220g5-110509.wisc.cloudlab.us', '10.11.0.3', '10.11.0.0/16'), // another subnet
        },
      }),
    );
    const hosts = await p.platform.inventory(p.cfg, p.ctx);
    expect(hosts.map((h) => h.privateAddress)).toEqual(['10.10.2.1', '10.10.1.2', '10.10.1.3', '10.10.1.4']);
    expect(hosts[0]!.labels['clusterInterface']).toBe('enp94s0f0');
  });
});

describe('inventory from servers.txt', () => {
  it('hosts in file order with the configured user and port; leader first', async () => {
    const { hosts } = await inventory('[hosts]\nserversFile = "servers.txt"\nuser = "alice"\nport = 2222\n', {
      'servers.txt': 'node0 c220g5-110531.wisc.cloudlab.us\nnode1 c220g5-110522.wisc.cloudlab.us\n',
    });
    expect(hosts).toEqual([
      { name: 'node0', address: 'c220g5-110531.wisc.cloudlab.us', port: 2222, user: 'alice', roles: ['leader'], labels: { platform: 'cloudlab', source: 'servers.txt' } },
      { name: 'node1', address: 'c220g5-110522.wisc.cloudlab.us', port: 2222, user: 'alice', roles: ['worker'], labels: { platform: 'cloudlab', source: 'servers.txt' } },
    ]);
  });

  it('a bad line is a ConfigError naming servers.txt and the line', async () => {
    const e = await configErrorOf('[hosts]\nserversFile = "servers.txt"\n', { 'servers.txt': 'node0 a.example.org\nnode1\n' });
    expect(e.message.split('\n')[0]).toBe('configs/platforms/cl/servers.txt:2: expected `<name> <hostname>`, got 1 field: "node1"');
  });
});

describe('inventory errors name the platform file and the field', () => {
  const cases: [string, string, Record<string, string> | undefined, RegExp][] = [
    ['neither source', '[hosts]\nuser = "alice"\n', undefined, /^configs\/platforms\/cl\/platform\.toml: hosts: needs `manifest` .* or `serversFile`/],
    ['both sources', '[hosts]\nmanifest = "manifest.xml"\nserversFile = "servers.txt"\n', undefined, /platform\.toml: hosts: sets both/],
    ['missing manifest', '[hosts]\nmanifest = "exp.xml"\n', {}, /platform\.toml: hosts\.manifest: configs\/platforms\/cl\/exp\.xml does not exist/],
    ['several login users', '[hosts]\nmanifest = "manifest.xml"\n', undefined, /platform\.toml: hosts\.user: is not set and .*manifest\.xml offers several login users for node0 \(alice, bob\)/],
    ['role naming an unknown host', '[hosts]\nmanifest = "manifest.xml"\nuser = "alice"\n[roles]\nleader = ["node9"]\n', undefined, /platform\.toml: roles\.leader: names "node9" \(did you mean "node0"\?\), not a host of this experiment; known hosts: node0, node1, node2, node3$/],
  ];
  for (const [what, toml, files, message] of cases) {
    it(what, async () => {
      expect((await configErrorOf(toml, files)).message).toMatch(message);
    });
  }
});
