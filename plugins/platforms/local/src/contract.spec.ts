/** The local platform passes the labrig Platform contract checks (@labrig/testkit) on real testbed hosts (127.0.39.x:2339). */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { down } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';

const workspace = join(import.meta.dirname, '../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
const root = mkdtempSync(join(workspace, 'tmp', 'local-contract-')); // inside the workspace: plugins resolve from its node_modules
const tb = mkdtempSync(join(tmpdir(), 'labrig-local-contract-tb-'));
chmodSync(tb, 0o755);

afterAll(async () => {
  await down(tb).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tb, { recursive: true, force: true });
});

it('passes the Platform contract: provision twice, inventory, every host answers, teardown twice', async () => {
  mkdirSync(join(root, 'configs/platforms/lab'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/lab/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tb)}`, 'addressBase = "127.0.39.0"', 'port = 2339'].join('\n'),
  );
  const results = await checkPlatformContract({ root, platform: 'lab' });
  expect(results.map((r) => r.name)).toEqual([
    'loads with the contract shape',
    'a config with an unknown field is a ConfigError naming file and field',
    'provision runs twice with the same hosts',
    'inventory: well-formed hosts, unchanged when asked twice',
    'every host answers a command through the connector',
    'a host that does not answer is a typed error (HostUnreachable)',
    'teardown runs twice',
  ]);
}, 120_000);
