/**
 * The Slurm cluster's filesystem labels (the rule they feed, copyTargets, is core's): hosts whose `filesystem` label has the
 * same value see the same files (on a Slurm cluster: the login node and every compute node see
 * the login node's home), so an artifact is copied to one of them only. `sharedFilesystem`
 * says the same in yes/no form for a system that only cares whether to copy per host.
 *
 * Platform-neutral on purpose: a system plugin can use `copyTargets` with any platform's hosts
 * (hosts without the label each count as their own filesystem).
 */
import { FILESYSTEM_LABEL, SHARED_FS_LABEL } from '@labrig/core';

export { FILESYSTEM_LABEL, SHARED_FS_LABEL, copyTargets } from '@labrig/core';

/** Labels for a host of a cluster whose filesystem is (or is not) shared, named after its login node. */
export function filesystemLabels(shared: boolean, loginName: string): Record<string, string> {
  return shared ? { [SHARED_FS_LABEL]: 'true', [FILESYSTEM_LABEL]: `slurm:${loginName}` } : { [SHARED_FS_LABEL]: 'false' };
}
