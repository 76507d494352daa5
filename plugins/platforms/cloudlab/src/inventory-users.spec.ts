/**
 * `hosts.user` against a manifest as the portal writes it (generated: 160 nodes, 11 project
 * members, two with capitals, a `type="request"` root): one host per node with the configured
 * user; a user with no login anywhere, or missing on some nodes, is a ConfigError on the
 * platform file with readable lists (a few names, then a count).
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { loadCloudlabConfig } from './config.js';
import { lanAddressOf, loginHostOf, MEMBERS, portalManifest } from './testing/portal-manifest.js';
import { makeWorkspace, openCloudlab, writePlatformFiles } from './testing/workspace.js';
import { USER_NAME_PATTERN } from './user-name.js';
import raw from './config.schema.json' with { type: 'json' };

const FILE = 'configs/platforms/cl/platform.toml';
const MANIFEST = 'configs/platforms/cl/manifest.xml';
const HEAD = 'platform = "@labrig/platform-cloudlab"\n[hosts]\nmanifest = "manifest.xml"\n';
const REAL = portalManifest();
let root: string;

beforeEach(() => {
  root = makeWorkspace('cl-users');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function inventory(toml: string, manifest = REAL) {
  writePlatformFiles(root, 'cl', { 'platform.toml': HEAD + toml, 'manifest.xml': manifest });
  const p = await openCloudlab(root, 'cl');
  return p.platform.inventory(p.cfg, p.ctx);
}

async function configErrorOf(toml: string, manifest?: string): Promise<ConfigError> {
  const err = await inventory(toml, manifest).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('a 160-node experiment with 11 members per node', () => {
  for (const user of ['MChen', 'JRivera', 'akumar']) {
    it(`user = "${user}": one host per node, each with that user, its login host and LAN address`, async () => {
      const hosts = await inventory(`user = "${user}"\n`);
      expect(hosts).toHaveLength(160);
      expect(hosts.map((h) => h.name)).toEqual(Array.from({ length: 160 }, (_, i) => `node-${i}`));
      expect(new Set(hosts.map((h) => h.user))).toEqual(new Set([user]));
      expect(hosts.map((h) => h.address)).toEqual(Array.from({ length: 160 }, (_, i) => loginHostOf(i)));
      expect(hosts.map((h) => h.privateAddress)).toEqual(Array.from({ length: 160 }, (_, i) => lanAddressOf(i)));
      expect(hosts.filter((h) => h.roles.includes('leader')).map((h) => h.name)).toEqual(['node-0']);
      expect(hosts[42]).toMatchObject({ port: 22, labels: { hardwareType: 'm510', component: 'pc442', site: 'utah.cloudlab.us', dnsName: 'node-42.big-exp.labrig-PG0.utah.cloudlab.us' } });
    });
  }

  it('a user with no login on any node: the platform file, hosts.user, the value, did-you-mean, the users that have logins', async () => {
    const e = await configErrorOf('user = "mchen"\n');
    expect(e.file).toBe(FILE);
    expect(e.field).toBe('hosts.user');
    expect(e.message.split('\n')[0]).toBe(
      `${FILE}: hosts.user: "mchen" has no login on any node of ${MANIFEST} (did you mean "MChen"?); users with logins: akumar, bwells, JRivera, cnakamura, dokafor, MChen, efischer, gsantos and 3 more`,
    );
    expect(e.hint).toMatch(/case-sensitive/);
    const typo = await configErrorOf('user = "bwels"\n');
    expect(typo.message).toMatch(/"bwels" has no login on any node of .* \(did you mean "bwells"\?\)/);
  });

  it('a user nothing like a member: no did-you-mean', async () => {
    const e = await configErrorOf('user = "zz9"\n');
    expect(e.message).toMatch(/^configs\/platforms\/cl\/platform\.toml: hosts\.user: "zz9" has no login on any node of configs\/platforms\/cl\/manifest\.xml; users with logins: akumar, /);
    expect(e.message).not.toMatch(/did you mean/);
  });

  it('a user with logins on some nodes only: names the nodes without (a few, then a count) and who has logins everywhere', async () => {
    // gsantos joined late: logins on node-0 .. node-9 only.
    const manifest = portalManifest({ membersOf: (i) => MEMBERS.filter((m) => m !== 'gsantos' || i < 10) });
    const e = await configErrorOf('user = "gsantos"\n', manifest);
    expect(e.message.split('\n')[0]).toBe(
      `${FILE}: hosts.user: "gsantos" has a login on 10 of 160 nodes of ${MANIFEST}, not on 150 nodes: node-10, node-11, node-12, node-13, node-14, node-15, node-16, node-17 and 142 more`,
    );
    expect(e.hint).toMatch(/a user with a login on every node \(akumar, bwells, JRivera, cnakamura, dokafor, MChen, efischer, hlindqvist and 2 more\)/);
    // One node without: named alone.
    const one = portalManifest({ nodes: 6, membersOf: (i) => MEMBERS.filter((m) => m !== 'MChen' || i !== 3) });
    expect((await configErrorOf('user = "MChen"\n', one)).message.split('\n')[0]).toBe(`${FILE}: hosts.user: "MChen" has a login on 5 of 6 nodes of ${MANIFEST}, not on node: node-3`);
  });

  it('no user set: the members offered are abbreviated, and every one of them is accepted as hosts.user', async () => {
    const e = await configErrorOf('');
    expect(e.message.split('\n')[0]).toBe(
      `${FILE}: hosts.user: is not set and ${MANIFEST} offers several login users for node-0 (akumar, bwells, JRivera, cnakamura, dokafor, MChen, efischer, gsantos and 3 more)`,
    );
    const small = portalManifest({ nodes: 2 });
    for (const user of MEMBERS) {
      const hosts = await inventory(`user = "${user}"\n`, small);
      expect(hosts.map((h) => h.user)).toEqual([user, user]);
    }
  });
});

describe('hosts.user in the platform file', () => {
  it('the schema pattern is the one the manifest parser checks login user names with', () => {
    expect((raw as { properties: { hosts: { properties: { user: { pattern: string } } } } }).properties.hosts.properties.user.pattern).toBe(USER_NAME_PATTERN);
  });

  for (const user of ['MChen', 'JRivera', 'a', 'x_y-9', 'Zz']) {
    it(`accepts "${user}"`, () => {
      writePlatformFiles(root, 'cl', { 'platform.toml': `${HEAD}user = "${user}"\n` });
      expect(loadCloudlabConfig(root, FILE).hosts.user).toBe(user);
    });
  }

  for (const user of ['9lives', '-x', 'a b', 'root;id', 'a'.repeat(33), '']) {
    it(`refuses ${JSON.stringify(user)}, naming hosts.user`, () => {
      writePlatformFiles(root, 'cl', { 'platform.toml': `${HEAD}user = ${JSON.stringify(user)}\n` });
      let err: unknown;
      try {
        loadCloudlabConfig(root, FILE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message.split('\n')[0]).toMatch(/^configs\/platforms\/cl\/platform\.toml: hosts\.user: /);
    });
  }
});
