/**
 * The cloudlab platform passes the labrig Platform contract checks (@labrig/testkit) on real
 * testbed sshd hosts (127.0.67.x:2367) listed in an experiment manifest, as the other specs use them.
 * Without [experiment] (made by hand on the portal), teardown releases nothing and says so: it runs twice too.
 * With [experiment], src/portal/experiment.spec.ts runs the contract against the Portal API stand-in.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { down, up } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';
import { writeTestbedPlatform } from './testing/testbed.js';

const workspace = join(import.meta.dirname, '../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
const root = mkdtempSync(join(workspace, 'tmp', 'cloudlab-contract-')); // inside the workspace: the plugin resolves from its node_modules
const tb = mkdtempSync(join(tmpdir(), 'labrig-cloudlab-contract-tb-'));
chmodSync(tb, 0o755);

afterAll(async () => {
  await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

it('passes the Platform contract: provision twice, inventory, every host answers', async () => {
  const state = await up({ dir: tb, hosts: 2, addressBase: '127.0.67.0', port: 2367 });
  writeTestbedPlatform(root, 'cl', state, '[network]\nsubnet = "127.0.67.0/24"');
  const results = await checkPlatformContract({ root, platform: 'cl' });
  expect(results.map((r) => r.name)).toEqual([
    'loads with the contract shape',
    'a config with an unknown field is a ConfigError naming file and field',
    'provision runs twice with the same hosts',
    'inventory: well-formed hosts, unchanged when asked twice',
    'every host answers a command through the connector',
    'a host that does not answer is a typed error (HostUnreachable)',
    'teardown runs twice',
  ]);
  expect(results.filter((r) => !r.ok)).toEqual([]);
  console.log(results.map((r) => `${r.name}: ${r.ms} ms`).join('\n'));
}, 120_000);
