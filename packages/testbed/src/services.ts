/** The optional services (written in ./services/), started by `up` when asked and stopped by `down`. */
export { startS3 } from './services/s3.js';
export { startRegistry } from './services/registry.js';
export { startSlurm } from './services/slurm.js';
export { stopServices } from './services/index.js';
