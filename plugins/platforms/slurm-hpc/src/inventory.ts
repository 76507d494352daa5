/**
 * The inventory: the login node (from the platform file) plus the compute nodes of the jobs
 * labrig started that were alive when last seen (from `<stateDir>/jobs.json`). Reads files only:
 * no host is contacted. Compute nodes are reached through the login node (ProxyJump, names
 * resolved there), as clusters allow on nodes where the user has a job.
 */
import type { Host, PlatformContext } from '@labrig/core';
import { checkRoles, platformFileOfContext, resolveFromRoot, rolesFor } from '@labrig/platform-kit';
import type { JumpConfig, SlurmHpcConfig } from './config.js';
import { readJobs, type JobRecord } from './job-state.js';
import { LAUNCH_LABEL, launchSettingsOf } from './settings.js';
import { filesystemLabels } from './shared-fs.js';
import { isAlive } from './squeue.js';

export const PLATFORM_NAME = 'slurm-hpc';

/**
 * A host's keys: its own, then the file's `[ssh] identityFiles`, each relative to the workspace
 * root or `~/`. The shared keys go on the hosts too so that they are offered before an agent's
 * keys (sshd's MaxAuthTries counts every key offered; an agent with many keys exhausts it).
 */
function keysOf(own: string[] | undefined, cfg: SlurmHpcConfig, root: string): { identityFiles?: string[] } {
  const all = [...(own ?? []), ...(cfg.ssh.identityFiles ?? [])].map((f) => resolveFromRoot(root, f));
  return all.length > 0 ? { identityFiles: [...new Set(all)] } : {};
}

function jumpHost(j: JumpConfig, cfg: SlurmHpcConfig, root: string): Host {
  return {
    name: j.name,
    address: j.address,
    port: j.port,
    ...(j.user !== undefined ? { user: j.user } : {}),
    roles: ['jump'],
    labels: { platform: PLATFORM_NAME },
    ...keysOf(j.identityFiles, cfg, root),
  };
}

/** The login node as a Host; its labels carry the launch settings and the filesystem facts. */
export function loginHost(cfg: SlurmHpcConfig, ctx: PlatformContext, extraLabels: Record<string, string> = {}): Host {
  const l = cfg.login;
  return {
    name: l.name,
    address: l.address,
    port: l.port,
    ...(l.user !== undefined ? { user: l.user } : {}),
    roles: rolesFor(l.name, cfg.roles, ['login']),
    labels: {
      platform: PLATFORM_NAME,
      ...filesystemLabels(cfg.sharedFilesystem, l.name),
      ...(cfg.slurm.partition !== undefined ? { 'slurm.partition': cfg.slurm.partition } : {}),
      ...extraLabels,
      [LAUNCH_LABEL]: JSON.stringify(launchSettingsOf(cfg, ctx)),
    },
    ...keysOf(l.identityFiles, cfg, ctx.root),
    ...(l.jump ? { jump: jumpHost(l.jump, cfg, ctx.root) } : {}),
  };
}

/** Compute nodes of the recorded alive jobs, one Host per node (the jobs it runs in a label). */
export function computeHosts(cfg: SlurmHpcConfig, login: Host, jobs: Record<string, JobRecord>): Host[] {
  const via: Host = { ...login, labels: { platform: PLATFORM_NAME } };
  const byNode = new Map<string, JobRecord[]>();
  for (const j of Object.values(jobs)) {
    if (!isAlive(j.state)) continue;
    for (const n of j.nodes) byNode.set(n, [...(byNode.get(n) ?? []), j]);
  }
  return [...byNode.entries()]
    .filter(([node]) => node !== login.name)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([node, js]) => ({
      name: node,
      address: node,
      ...(login.user !== undefined ? { user: login.user } : {}),
      roles: rolesFor(node, cfg.roles, ['compute']),
      labels: {
        platform: PLATFORM_NAME,
        ...filesystemLabels(cfg.sharedFilesystem, login.name),
        'slurm.jobs': js.map((j) => `${j.jobName}:${j.jobId}`).join(','),
      },
      ...(login.identityFiles ? { identityFiles: login.identityFiles } : {}),
      jump: via,
    }));
}

/**
 * The kit's `[roles]` rule on a Slurm cluster: the login node and the compute nodes of recorded
 * jobs are known; any other name may be a compute node a later job gets, so only the jump host's
 * name (never a host of the inventory) is refused. Compute node names are not known without asking
 * the cluster, and the inventory reads files only.
 */
export function checkSlurmRoles(cfg: SlurmHpcConfig, file: string, computeNodes: readonly string[] = []): void {
  const jump = cfg.login.jump?.name;
  checkRoles(cfg.roles, [cfg.login.name, ...computeNodes], file, {
    mayAppear: (name) => name !== jump,
  });
}

/** Login node, then the nodes of the jobs recorded alive. */
export async function inventoryOf(cfg: SlurmHpcConfig, ctx: PlatformContext, extraLabels: Record<string, string> = {}): Promise<Host[]> {
  const login = loginHost(cfg, ctx, extraLabels);
  const compute = computeHosts(cfg, login, await readJobs(ctx.stateDir));
  checkSlurmRoles(cfg, platformFileOfContext(ctx), compute.map((h) => h.name));
  return [login, ...compute];
}
