/**
 * Devices -> inventory hosts: name = hostname, address = the IPv4 address of `[login] network`,
 * private address = the private IPv4, roles from `[roles]` (else `leader` for index 0 and `worker`
 * for the others), labels with the device's facts, the `[ssh] identityFiles` as the host's keys.
 * Devices without an address yet are left out.
 */
import type { Host } from '@labrig/core';
import { checkRoles, resolveFromRoot, rolesFor } from '@labrig/platform-kit';
import { hostnamePrefixOf, type EquinixConfig } from './config.js';
import type { DeploymentDevice } from './deployment.js';
import { ipv4Of } from './metal/types.js';
import { hostnameOf, loginUserOf } from './naming.js';

/** The host of one device, or undefined while the API has not assigned its address. */
export function hostOf({ index, device }: DeploymentDevice, cfg: EquinixConfig, root: string): Host | undefined {
  const address = ipv4Of(device, cfg.login.network);
  if (!address) return undefined;
  const privateAddress = ipv4Of(device, 'private');
  return {
    name: device.hostname,
    address,
    port: cfg.login.port,
    user: loginUserOf(cfg.login.user, { index, hostname: device.hostname }),
    roles: rolesFor(device.hostname, cfg.roles, index === 0 ? ['leader'] : ['worker']),
    labels: {
      platform: 'equinix',
      deployment: cfg.deployment,
      deviceId: device.id,
      state: device.state,
      index: String(index),
      ...(device.plan?.slug ? { plan: device.plan.slug } : {}),
      ...(device.metro?.code ? { metro: device.metro.code } : {}),
    },
    ...(privateAddress ? { privateAddress } : {}),
    // On the host itself: the kit's SSH pool does not offer `[ssh] identityFiles` (see docs).
    ...(cfg.ssh.identityFiles?.length ? { identityFiles: cfg.ssh.identityFiles.map((f) => resolveFromRoot(root, f)) } : {}),
  };
}

/** The hostnames of the deployment's devices, created or not: `<hostnamePrefix>-0` … `<hostnamePrefix>-<count-1>`. */
export function deviceHostnames(cfg: EquinixConfig): string[] {
  return Array.from({ length: cfg.devices.count }, (_, i) => hostnameOf(hostnamePrefixOf(cfg), i));
}

/** The kit's `[roles]` rule: every name a role lists is one of the deployment's hostnames (checked before any API call). */
export function checkEquinixRoles(cfg: EquinixConfig, file: string): void {
  checkRoles(cfg.roles, deviceHostnames(cfg), file);
}

/** The inventory: the deployment's devices with index below `[devices] count`, in index order. */
export function hostsOf(devices: readonly DeploymentDevice[], cfg: EquinixConfig, root: string, file?: string): Host[] {
  if (file !== undefined) checkEquinixRoles(cfg, file);
  return devices.filter((d) => d.index < cfg.devices.count).flatMap((d) => hostOf(d, cfg, root) ?? []);
}
