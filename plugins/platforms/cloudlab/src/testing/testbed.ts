/**
 * One small testbed per spec file (real sshd hosts on 127.0.60.x:2360) and a CloudLab platform
 * folder whose manifest lists its hosts: the plugin sees them as CloudLab nodes.
 */
import { join } from 'node:path';
import type { TestbedState } from '@labrig/testbed';
import { up } from '@labrig/testbed';
import { renderManifest } from './testbed-manifest.js';
import { writePlatformFiles } from './workspace.js';

export const ADDRESS_BASE = '127.0.60.0';
export const PORT = 2360;

/** Start `hosts` (at most 3) testbed hosts under `<root>/.labrig/testbed`. */
export function startTestbed(root: string, hosts: number): Promise<TestbedState> {
  return up({ dir: join(root, '.labrig', 'testbed'), hosts, addressBase: ADDRESS_BASE, port: PORT });
}

/**
 * configs/platforms/<name>/ with a manifest of the testbed hosts (cluster address = `clusterAddress(i)`,
 * default the host's own address) and a platform.toml of `extra` lines after the [hosts] and [ssh] sections.
 */
export function writeTestbedPlatform(root: string, name: string, state: TestbedState, extra = '', clusterAddress?: (i: number) => string): void {
  const manifest = renderManifest(
    state.hosts.map((h, i) => ({ name: h.name, hostname: h.address, port: h.port, user: h.user, clusterAddress: clusterAddress?.(i) ?? h.address })),
  );
  const toml = [
    'platform = "@labrig/platform-cloudlab"',
    '[hosts]',
    'manifest = "manifest.xml"',
    '[ssh]',
    `identityFiles = [${JSON.stringify(state.identityFile)}]`,
    'connectTimeout = "5s"',
    extra,
  ].join('\n');
  writePlatformFiles(root, name, { 'platform.toml': `${toml}\n`, 'manifest.xml': manifest });
}
