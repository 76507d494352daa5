/**
 * @labrig/system-cfiddle: a CFiddle cluster (NVSL/cfiddle-cluster). On an SSH cluster (equinix,
 * cloudlab, aws, local) labrig builds the whole Docker-Swarm Slurm cluster; on slurm-hpc it
 * installs only the sandbox image and the delegate-function chain. See docs/systems/cfiddle.md.
 */
export { cfiddleSystem, modeOf, IMAGES, SLURM_HPC, type CfiddleConfig } from './config.js';
export {
  EXPORTS_MARK,
  OVERRIDE_FILE,
  delegateConfig,
  exportLines,
  headAddress,
  overrideCompose,
  planClusterDeploy,
  planClusterStatus,
  planClusterStop,
  planClusterTeardown,
  planClusterUpdate,
  planSlurmDeploy,
  planSlurmStatus,
  planSlurmStop,
  planSlurmTeardown,
  planSlurmUpdate,
} from './plan.js';
