/**
 * The equinix platform passes the labrig Platform contract checks (@labrig/testkit): a workspace
 * whose platform file names @labrig/platform-equinix, the Metal API stand-in
 * (testing/metal-fixture.ts) handing out the addresses of real testbed sshd hosts
 * (127.0.65.x:2365), device i logging in as testbed host i's user (`{index}`). The token comes
 * from the variable the platform file names, as it would for real.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { down, up, type TestbedState } from '@labrig/testbed';
import { checkPlatformContract } from '@labrig/testkit';
import { MetalApiFixture } from './testing/metal-fixture.js';

const TOKEN_ENV = 'LABRIG_CONTRACT_METAL_TOKEN';
const TOKEN = `metal-contract-${Math.random().toString(36).slice(2)}`;
const PROJECT = 'f1e2d3c4-0000-4000-8000-000000000065';
const CREATE = /^\/projects\/[^/]+\/devices$/;

const workspace = join(import.meta.dirname, '../../../..');
mkdirSync(join(workspace, 'tmp'), { recursive: true });
const root = mkdtempSync(join(workspace, 'tmp', 'equinix-contract-')); // inside the workspace: plugins resolve from its node_modules
const tbDir = mkdtempSync(join(tmpdir(), 'labrig-equinix-contract-tb-'));
chmodSync(tbDir, 0o755); // the hosts' users read their keys below it
let tb: TestbedState;
let fixture: MetalApiFixture | undefined;

beforeAll(async () => {
  tb = await up({ dir: tbDir, hosts: 2, addressBase: '127.0.65.0', port: 2365 });
  fixture = await MetalApiFixture.start({ token: TOKEN, projectId: PROJECT, publicAddresses: tb.hosts.map((h) => h.address), activeAfterMs: 300, goneAfterMs: 150 });
  vi.stubEnv(TOKEN_ENV, TOKEN);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fixture?.close();
  await down(tbDir).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
  rmSync(tbDir, { recursive: true, force: true });
});

it('passes the Platform contract: provision twice, inventory, every host answers, teardown twice', async () => {
  const f = fixture!;
  // Someone else's device in the same project: never in the inventory, never deleted.
  const theirs = f.seed({ hostname: 'tb-0', tags: ['labrig', 'labrig:deployment=other'], publicAddress: '203.0.113.65' });
  mkdirSync(join(root, 'configs/platforms/metal'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/metal/platform.toml'),
    [
      'platform = "@labrig/platform-equinix"',
      `project = "${PROJECT}"`,
      'deployment = "contract"',
      `apiUrl = "${f.url}"`,
      `tokenEnv = "${TOKEN_ENV}"`,
      '[devices]',
      'count = 2',
      'hostnamePrefix = "tb"',
      'plan = "c3.small.x86"',
      'metro = "da"',
      'operatingSystem = "ubuntu_22_04"',
      '[login]',
      `user = "tb${tb.id}h{index}"`,
      `port = ${tb.hosts[0]!.port}`,
      '[wait]',
      'active = "20s"',
      'ssh = "20s"',
      'deleted = "10s"',
      'pollInterval = "100ms"',
      '[retry]',
      'baseDelay = "50ms"',
      'maxDelay = "1s"',
      '[ssh]',
      `identityFiles = [${JSON.stringify(tb.identityFile)}]`,
    ].join('\n') + '\n',
  );

  const results = await checkPlatformContract({ root, platform: 'metal' });
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

  // It ran against the stand-in for real: two creates (the second provision created nothing), exactly those deleted.
  expect(f.requestsTo('POST', CREATE)).toHaveLength(2);
  expect(f.deletedIds).toHaveLength(2);
  expect(f.devices().map((d) => d.id)).toEqual([theirs.id]);
  expect(f.requests.every((r) => r.authorized)).toBe(true);
}, 120_000);
