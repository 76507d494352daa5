/**
 * Shared filesystems, as hosts tell systems about them: hosts whose `filesystem` label has the
 * same value see the same files (on a Slurm cluster: the login node and every compute node see
 * the login node's home), so an artifact is copied to one of them only. `sharedFilesystem`
 * says the same in yes/no form for a system that only cares whether to copy per host.
 *
 * Platform-neutral on purpose: a system plugin can use `copyTargets` with any platform's hosts
 * (hosts without the label each count as their own filesystem).
 */
import type { Host } from '../contracts.js';

/** `true` when the host shares its filesystem with other hosts of the inventory. */
export const SHARED_FS_LABEL = 'sharedFilesystem';
/** Hosts with the same value share one filesystem. */
export const FILESYSTEM_LABEL = 'filesystem';

/**
 * The hosts to copy artifacts to: one per shared filesystem (a host with role `login` when the
 * group has one, else its first), plus every host that shares nothing. Inventory order is kept.
 */
export function copyTargets(hosts: readonly Host[]): Host[] {
  const chosen = new Map<string, Host>();
  for (const h of hosts) {
    const fs = h.labels[FILESYSTEM_LABEL];
    if (fs === undefined || h.labels[SHARED_FS_LABEL] === 'false') continue;
    const prev = chosen.get(fs);
    if (!prev || (!prev.roles.includes('login') && h.roles.includes('login'))) chosen.set(fs, h);
  }
  const keep = new Set(chosen.values());
  return hosts.filter((h) => {
    const fs = h.labels[FILESYSTEM_LABEL];
    return fs === undefined || h.labels[SHARED_FS_LABEL] === 'false' || keep.has(h);
  });
}
