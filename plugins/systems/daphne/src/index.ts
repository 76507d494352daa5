/**
 * @labrig/system-daphne: DAPHNE's distributed workers on any labrig platform.
 * SSH mode (local, cloudlab, aws, equinix) and Slurm mode (slurm-hpc); see docs/systems/daphne.md.
 */
export { configSchema, definition, modeOf, sshWorkers, validate, type DaphneConfig, type Mode, type SshWorker } from './config.js';
export { cleanSteps, runSteps, statusSteps, stopSteps, transferSteps, waitSteps, workersSteps, type PackageManifest, type RunInput } from './plan.js';
