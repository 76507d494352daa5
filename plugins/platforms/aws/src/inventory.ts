/**
 * The inventory: running instances found with DescribeInstances (nothing else is called, nothing
 * changes), by the deployment tag or by VPC, as Hosts sorted by the number at the end of their
 * Name tag. The first host is the leader unless `[roles]` says otherwise.
 */
import type { Host, PlatformContext } from '@labrig/core';
import { assignRoles, resolveFromRoot } from '@labrig/platform-kit';
import { configFileOf, type AwsPlatformConfig } from './config.js';
import type { Ec2Api, Ec2Filter, Ec2Instance } from './ec2.js';
import { AwsConflict, AwsNotProvisioned } from './errors.js';
import { DEPLOYMENT_TAG, instanceName } from './naming.js';
import { readState } from './state.js';

/** The deployment id inventory and provision use: the config's, else the one provision recorded. */
export function knownDeployment(cfg: AwsPlatformConfig, ctx: PlatformContext): string | undefined {
  return cfg.deployment ?? readState(ctx.stateDir)?.deployment;
}

/** The DescribeInstances filters of the inventory (running instances only: others have no address to use). */
export function inventoryFilters(cfg: AwsPlatformConfig, ctx: PlatformContext): Ec2Filter[] {
  const running: Ec2Filter = { name: 'instance-state-name', values: ['running'] };
  if (cfg.inventory.by === 'vpc') return [{ name: 'vpc-id', values: [cfg.inventory.vpcId ?? ''] }, running];
  const deployment = knownDeployment(cfg, ctx);
  if (!deployment) throw new AwsNotProvisioned(configFileOf(ctx), ctx.stateDir);
  return [{ name: `tag:${DEPLOYMENT_TAG}`, values: [deployment] }, running];
}

/** Instances in inventory order: by Name index (names without one last), then host name (Name, else id), then id. */
export function sortInstances(instances: Ec2Instance[]): Ec2Instance[] {
  const key = (i: Ec2Instance) => i.index ?? Number.POSITIVE_INFINITY;
  return [...instances].sort((a, b) => key(a) - key(b) || (a.name ?? a.id).localeCompare(b.name ?? b.id) || a.id.localeCompare(b.id));
}

/** The address labrig connects to, per `hosts.address`. */
function addressOf(i: Ec2Instance, cfg: AwsPlatformConfig, file: string): string {
  const address = cfg.hosts.address === 'private' ? i.privateIp : i.publicIp;
  if (!address) {
    throw new AwsConflict(
      `${i.name ?? i.id} (${i.id}) has no ${cfg.hosts.address} IP address`,
      cfg.hosts.address === 'public'
        ? `Launch into a subnet that assigns public IPv4 addresses, or set hosts.address = "private" in ${file} when this machine is inside the VPC.`
        : `The instance has no private address yet; run again in a moment.`,
    );
  }
  return address;
}

/**
 * Sorted instances as Hosts (names must be unique: they name log files and state). The `[ssh]`
 * identity files (the key pair's private key) go on every host, resolved from the workspace root.
 */
export function toHosts(instances: Ec2Instance[], cfg: AwsPlatformConfig, file: string, root = '.'): Host[] {
  const identityFiles = cfg.ssh.identityFiles?.map((f) => resolveFromRoot(root, f));
  const sorted = sortInstances(instances);
  const seen = new Map<string, string>();
  for (const i of sorted) {
    const name = i.name ?? i.id;
    const other = seen.get(name);
    if (other) {
      throw new AwsConflict(`two running instances are named ${name}: ${other} and ${i.id}`, `Rename or terminate one of them (EC2 console), then run again.`);
    }
    seen.set(name, i.id);
  }
  const roles = assignRoles([...seen.keys()], cfg.roles, file, (_, position) => (position === 0 ? ['leader'] : ['worker']), { alsoKnown: launchedNames(cfg) });
  return sorted.map((i, position) => {
    const name = i.name ?? i.id;
    const labels: Record<string, string> = { platform: 'aws', instanceId: i.id };
    if (i.instanceType) labels['instanceType'] = i.instanceType;
    if (i.availabilityZone) labels['availabilityZone'] = i.availabilityZone;
    if (i.index !== undefined) labels['index'] = String(i.index);
    const deployment = i.tags[DEPLOYMENT_TAG];
    if (deployment) labels['deployment'] = deployment;
    return {
      name,
      address: addressOf(i, cfg, file),
      port: cfg.hosts.port,
      user: cfg.hosts.user,
      roles: roles[position]!,
      labels,
      ...(i.privateIp ? { privateAddress: i.privateIp } : {}),
      ...(identityFiles?.length ? { identityFiles } : {}),
    };
  });
}

/**
 * The Name tags provision gives (`<namePrefix>-<index>` below `[instances] count`) when the
 * inventory is by tag: hosts of the platform even while not running, so `[roles]` may name them.
 */
export function launchedNames(cfg: AwsPlatformConfig): string[] {
  if (cfg.inventory.by !== 'tag' || !cfg.instances) return [];
  const { namePrefix, count } = cfg.instances;
  return Array.from({ length: count }, (_, i) => instanceName(namePrefix, i));
}

/** The inventory through an open EC2 client. */
export async function listHosts(ec2: Ec2Api, cfg: AwsPlatformConfig, ctx: PlatformContext): Promise<Host[]> {
  return toHosts(await ec2.describeInstances(inventoryFilters(cfg, ctx)), cfg, configFileOf(ctx), ctx.root);
}
