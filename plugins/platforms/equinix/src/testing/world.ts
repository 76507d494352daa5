/**
 * What the specs that provision need: real sshd hosts of the testbed (127.0.62.x:2362, at most 3)
 * standing in for the devices' public addresses, the Metal API stand-in handing those addresses
 * out, and a platform file pointing at both.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up, type TestbedState } from '@labrig/testbed';
import { MetalApiFixture } from './metal-fixture.js';

export const TESTBED = { addressBase: '127.0.62.0', port: 2362, hosts: 3 } as const;

export interface MetalWorld {
  testbed: TestbedState;
  fixture: MetalApiFixture;
  token: string;
  projectId: string;
  /** Stop the stand-in and the testbed, remove the testbed directory. */
  close(): Promise<void>;
}

/** Start the testbed and the stand-in; the token is random per run. */
export async function startWorld(o: { activeAfterMs?: number } = {}): Promise<MetalWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'labrig-equinix-tb-'));
  chmodSync(dir, 0o755); // the hosts' users read their keys below it
  const testbed = await up({ dir, hosts: TESTBED.hosts, addressBase: TESTBED.addressBase, port: TESTBED.port });
  const token = `metal-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const projectId = 'f1e2d3c4-0000-4000-8000-000000000062';
  const fixture = await MetalApiFixture.start({
    token,
    projectId,
    publicAddresses: testbed.hosts.map((h) => h.address),
    activeAfterMs: o.activeAfterMs ?? 300,
    goneAfterMs: 150,
  });
  return {
    testbed,
    fixture,
    token,
    projectId,
    async close() {
      await fixture.close();
      await down(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Write `configs/platforms/<name>/platform.toml` under `root` for the world: the device with index
 * i logs in as the testbed user of host i (the stand-in hands addresses out in creation order).
 */
export function writePlatformFile(root: string, name: string, w: MetalWorld, o: { count?: number; tokenEnv?: string } = {}): string {
  const file = join(root, 'configs/platforms', name, 'platform.toml');
  mkdirSync(join(root, 'configs/platforms', name), { recursive: true });
  writeFileSync(
    file,
    [
      'platform = "@labrig/platform-equinix"',
      `project = "${w.projectId}"`,
      'deployment = "e2e"',
      `apiUrl = "${w.fixture.url}"`,
      ...(o.tokenEnv ? [`tokenEnv = "${o.tokenEnv}"`] : []),
      '[devices]',
      `count = ${o.count ?? 3}`,
      'hostnamePrefix = "tb"',
      'plan = "c3.small.x86"',
      'metro = "da"',
      'operatingSystem = "ubuntu_22_04"',
      '[login]',
      `user = "tb${w.testbed.id}h{index}"`,
      `port = ${TESTBED.port}`,
      '[wait]',
      'active = "20s"',
      'ssh = "20s"',
      'deleted = "10s"',
      'pollInterval = "100ms"',
      '[retry]',
      'baseDelay = "50ms"',
      'maxDelay = "1s"',
      '[ssh]',
      `identityFiles = [${JSON.stringify(w.testbed.identityFile)}]`,
    ].join('\n') + '\n',
  );
  return file;
}
