/**
 * Prepare step `cluster-address`: each host's address on the cluster network (CloudLab's
 * experiment LAN, 10.10.0.0/16 by default), read with `ip -o -4 addr show` and recorded in the
 * platform's state on the coordinator; the inventory gives it to systems as Host.privateAddress.
 * Done when the recorded address is still one of the host's.
 */
import type { Step, StepContext } from '@labrig/core';
import { CommandFailed } from '@labrig/core';
import { runScriptOk, type HostSystem } from '../host-system.js';
import { currentRecord, readClusterAddresses, recordClusterAddress } from '../state.js';
import { parseIpAddrShow, parseSubnet, pickInSubnet, type InterfaceAddress } from '../subnet.js';

export const CLUSTER_ADDRESS = 'cluster-address';

export interface ClusterAddressOutput {
  address: string;
  interface: string;
}

async function addressesOf(ctx: StepContext, sys: HostSystem): Promise<InterfaceAddress[]> {
  const r = await runScriptOk(ctx.remote, sys, 'ip -o -4 addr show', 'ip -o -4 addr show', [], { signal: ctx.signal });
  return parseIpAddrShow(r.stdout);
}

/** What it finds is recorded under `stateDir` (the platform's state folder; the inventory reads it). */
export function clusterAddressStep(subnetCidr: string, sys: HostSystem, stateDir: string): Step<ClusterAddressOutput> {
  const subnet = parseSubnet(subnetCidr);
  return {
    name: CLUSTER_ADDRESS,
    title: `cluster address on ${subnetCidr}`,
    async check(ctx) {
      const recorded = currentRecord(await readClusterAddresses(stateDir), ctx.host, subnetCidr);
      if (!recorded) return false;
      const still = (await addressesOf(ctx, sys)).some((a) => a.address === recorded.clusterAddress);
      return still ? { done: true, output: { address: recorded.clusterAddress, interface: recorded.interface } } : false;
    },
    async run(ctx) {
      const dir = stateDir;
      const all = await addressesOf(ctx, sys);
      const picked = pickInSubnet(all, subnet);
      if (!picked) {
        throw new CommandFailed(ctx.host.name, 'ip -o -4 addr show', {
          exitCode: 1,
          signal: null,
          stderr: `no IPv4 address on ${subnetCidr} (has: ${all.map((a) => `${a.interface} ${a.address}/${a.prefixLength}`).join(', ') || 'none'})`,
        }, { hint: `Check network.subnet in the platform file against the experiment's LAN (the manifest's <interface><ip>); the node may lack its experiment link.` });
      }
      await recordClusterAddress(dir, ctx.host.name, {
        address: ctx.host.address,
        clusterAddress: picked.address,
        interface: picked.interface,
        subnet: subnetCidr,
        recordedAt: new Date().toISOString(),
      });
      ctx.log(`${ctx.host.name}: ${picked.address} on ${picked.interface}`);
      return { address: picked.address, interface: picked.interface };
    },
  };
}
