/**
 * The CloudLab prepare steps the platform file enables, in the order they must run: the data
 * partition (its fstab line survives the reboot), kernel parameters (reboot), NUMA CPUs offline
 * (after the reboot, which brings them back), the cluster address (read last, on the booted host).
 */
import type { PlatformContext, Step } from '@labrig/core';
import type { CloudlabConfig } from '../config.js';
import type { HostSystem } from '../host-system.js';
import { clusterAddressStep } from './cluster-address.js';
import { kernelStep } from './kernel.js';
import { numaStep } from './numa.js';
import { partitionStep } from './partition.js';

export { CLUSTER_ADDRESS } from './cluster-address.js';
export { KERNEL_PARAMS } from './kernel.js';
export { NUMA_OFFLINE } from './numa.js';
export { MOUNT_PARTITION } from './partition.js';

export function prepareSteps(cfg: CloudlabConfig, sys: HostSystem, ctx: PlatformContext): Step[] {
  const p = cfg.prepare;
  return [
    ...(p.partition ? [partitionStep(p.partition, sys)] : []),
    ...(p.kernel ? [kernelStep(p.kernel, sys)] : []),
    ...(p.numa ? [numaStep(p.numa, sys)] : []),
    ...(p.clusterAddress ? [clusterAddressStep(cfg.network.subnet, sys, ctx.stateDir)] : []),
  ];
}
