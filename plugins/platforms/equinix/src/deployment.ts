/**
 * The devices of a deployment: the project's devices carrying its tag, named `<prefix>-<index>`,
 * not on their way out, sorted by index. Read-only (GET requests only).
 */
import { hostnamePrefixOf, type EquinixConfig } from './config.js';
import { DuplicateHostname } from './errors.js';
import type { MetalClient } from './metal/client.js';
import { LEAVING_STATES, type MetalDevice } from './metal/types.js';
import { deploymentTag, indexOfHostname } from './naming.js';

export interface DeploymentDevice {
  index: number;
  device: MetalDevice;
}

/** Is `device` one of the deployment's, and which index has it? */
export function indexInDeployment(device: MetalDevice, cfg: EquinixConfig): number | undefined {
  if (!device.tags?.includes(deploymentTag(cfg.deployment))) return undefined;
  return indexOfHostname(hostnamePrefixOf(cfg), device.hostname);
}

/** The deployment's live devices, by index; DuplicateHostname when two share one. */
export async function listDeploymentDevices(client: MetalClient, cfg: EquinixConfig): Promise<DeploymentDevice[]> {
  const all = await client.listProjectDevices(cfg.project, { tag: deploymentTag(cfg.deployment) });
  const byIndex = new Map<number, MetalDevice[]>();
  for (const device of all) {
    const index = indexInDeployment(device, cfg);
    if (index === undefined || LEAVING_STATES.has(device.state)) continue;
    byIndex.set(index, [...(byIndex.get(index) ?? []), device]);
  }
  const out: DeploymentDevice[] = [];
  for (const [index, devices] of byIndex) {
    if (devices.length > 1) throw new DuplicateHostname(devices[0]!.hostname, devices.map((d) => d.id), cfg.deployment);
    out.push({ index, device: devices[0]! });
  }
  return out.sort((a, b) => a.index - b.index);
}
