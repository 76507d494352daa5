/** Platform file errors: one ConfigError naming the file and the field; the shipped example is valid. */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { loadCloudlabConfig } from './config.js';
import { artifactStoreOf } from './platform.js';
import { makeWorkspace, openCloudlab, writePlatformFiles } from './testing/workspace.js';

const FILE = 'configs/platforms/cl/platform.toml';
const HEAD = 'platform = "@labrig/platform-cloudlab"\n[hosts]\nmanifest = "manifest.xml"\n';
let root: string;

beforeEach(() => {
  root = makeWorkspace('cl-cfg');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const cases: [string, string, RegExp][] = [
  ['wrong type', '[prepare.partition]\nblockDevice = "/dev/sda4"\nforce = "yes"\n', /prepare\.partition\.force.*boolean/],
  ['missing field', '[prepare.partition]\nmountPoint = "/data"\n', /prepare\.partition.*blockDevice/],
  ['unknown key', '[prepare.kernel]\nparams = ["mitigations=off"]\nrebootTimout = "5m"\n', /prepare\.kernel.*rebootTimout/],
  ['bad subnet', '[network]\nsubnet = "10.10.0.0"\n', /network\.subnet/],
  ['a kernel parameter a shell would read', '[prepare.kernel]\nparams = ["quiet; reboot"]\n', /prepare\.kernel\.params\[0\]/],
  ['credentials in [store]', '[store]\nbucket = "lab-artifacts"\nsecretAccessKey = "abc"\n', /store.*secretAccessKey/],
  ['an endpoint without a bucket', '[store]\nendpoint = "https://s3.example.org"\n', /store\.bucket: missing field `bucket`, required when `endpoint` is set/],
  ['bad failure policy (shared section)', '[run]\nfailurePolicy = "sometimes"\n', /run\.failurePolicy/],
];

describe('platform file errors', () => {
  for (const [what, extra, field] of cases) {
    it(`${what}: a ConfigError naming the file and the field`, () => {
      writePlatformFiles(root, 'cl', { 'platform.toml': HEAD + extra });
      let err: unknown;
      try {
        loadCloudlabConfig(root, FILE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const first = (err as ConfigError).message.split('\n')[0]!;
      expect(first.startsWith(`${FILE}: `)).toBe(true);
      expect(first).toMatch(field);
    });
  }
});

describe('the shipped example', () => {
  it('configs/platforms/cloudlab/ is valid and its manifest gives the hosts', async () => {
    cpSync(join(import.meta.dirname, '../../../../configs/platforms/cloudlab'), join(root, 'configs/platforms/cloudlab'), { recursive: true });
    const p = await openCloudlab(root, 'cloudlab');
    expect(p.cfg.prepare.partition).toEqual({ blockDevice: '/dev/sda4', mountPoint: '/data', fsType: 'ext4', mountOptions: 'defaults,nofail', chown: true, force: false });
    expect(p.cfg.network.subnet).toBe('10.10.0.0/16');
    expect(p.platform.prepare!(p.cfg, p.ctx).map((s) => s.name)).toEqual(['mount-partition', 'kernel-params', 'numa-offline', 'cluster-address']);
    const hosts = await p.platform.inventory(p.cfg, p.ctx);
    expect(hosts.map((h) => `${h.name} ${h.user}@${h.address} ${h.roles.join(',')} ${h.privateAddress}`)).toEqual([
      'node0 alice@c220g5-110531.wisc.cloudlab.us leader 10.10.1.1',
      'node1 alice@c220g5-110522.wisc.cloudlab.us worker 10.10.1.2',
      'node2 alice@c220g5-110509.wisc.cloudlab.us worker 10.10.1.3',
      'node3 alice@c220g5-110517.wisc.cloudlab.us worker 10.10.1.4',
    ]);
    expect(await p.platform.artifactStore!(p.cfg, p.ctx)).toBeUndefined();
    // Made on the portal (no [experiment]): teardown releases nothing, and says so.
    const out: string[] = [];
    const log = console.log;
    console.log = (l: string) => void out.push(l);
    try {
      await p.platform.teardown!(p.cfg, p.ctx);
    } finally {
      console.log = log;
    }
    expect(out.join('\n')).toMatch(/made on the portal, not by labrig: nothing to release/);
  });

  it('[store] becomes the artifact store, without credentials', () => {
    writePlatformFiles(root, 'cl', { 'platform.toml': `${HEAD}[store]\nbucket = "lab-artifacts"\nregion = "us-east-1"\nregistry = "registry.example.org:5000"\n` });
    expect(artifactStoreOf(loadCloudlabConfig(root, FILE).store)).toEqual({
      s3: { bucket: 'lab-artifacts', region: 'us-east-1' },
      registry: { address: 'registry.example.org:5000' },
    });
  });
});
