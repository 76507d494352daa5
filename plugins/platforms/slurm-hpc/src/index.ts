/**
 * @labrig/platform-slurm-hpc: a Slurm cluster through its login node. The default export is the
 * Platform (what `platform = "@labrig/platform-slurm-hpc"` loads); the named exports are for
 * Slurm-aware system plugins (SlurmLauncher, SlurmProcessSpec, copyTargets) and tools.
 */
export { slurmHpcPlatform, slurmHpcPlatform as default } from './platform.js';
export { configSchema, loadSlurmConfig, PLATFORM_MODULE, type SlurmHpcConfig, type JobShape, type LoginConfig, type JumpConfig, type SlurmSection } from './config.js';
export { SlurmLauncher, type SlurmLauncherOptions, type SlurmProcessStatus } from './launcher.js';
export { JobQueue, type LookupOptions } from './queue.js';
export { LAUNCH_LABEL, launchSettingsOf, settingsFromHost, type LaunchSettings, type SlurmProcessSpec } from './settings.js';
export { copyTargets, FILESYSTEM_LABEL, SHARED_FS_LABEL } from './shared-fs.js';
export { inventoryOf, loginHost, PLATFORM_NAME } from './inventory.js';
export { readJobs, jobsFile, type JobRecord } from './job-state.js';
export { CLUSTER_FILE, type ClusterReport } from './provision.js';
export { expandHostlist } from './hostlist.js';
export * from './errors.js';
