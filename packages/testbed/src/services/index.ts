/**
 * The testbed's on-demand services: S3 (s3rver), an OCI registry (docker-registry) and a
 * Slurm cluster (munged + slurmctld + slurmd). Each runs as detached processes with pid
 * files and logs under `<dir>/services/<name>/`; starting is idempotent.
 */
import { s3Status, stopS3 } from './s3.js';
import { registryStatus, stopRegistry } from './registry.js';
import { slurmStatus, stopSlurm } from './slurm.js';

export { startS3, stopS3, s3Status } from './s3.js';
export type { StartS3Options } from './s3.js';
export { startRegistry, stopRegistry, registryStatus } from './registry.js';
export type { StartRegistryOptions } from './registry.js';
export { startSlurm, stopSlurm, slurmStatus, nodeStates } from './slurm.js';
export type { StartSlurmOptions } from './slurm.js';
export { ServiceError } from './common.js';

export interface ServiceStatus {
  running: boolean;
  /** s3: http://127.0.0.1:PORT; registry: http://127.0.0.1:PORT; slurm: host:ctldPort (SLURM_CONF=…). */
  endpoint?: string;
  /** Live pids by process name. */
  pids: Record<string, number | undefined>;
}

export interface ServicesStatus {
  s3: ServiceStatus;
  registry: ServiceStatus;
  slurm: ServiceStatus;
}

/** Stop every service of this testbed dir (SIGTERM by pid file, wait, SIGKILL). Safe twice. */
export async function stopServices(dir: string): Promise<void> {
  const results = await Promise.allSettled([stopS3(dir), stopRegistry(dir), stopSlurm(dir)]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    throw new AggregateError(
      failed.map((f) => f.reason as unknown),
      `stopServices: ${failed.length} service(s) failed to stop`,
    );
  }
}

export async function serviceStatus(dir: string): Promise<ServicesStatus> {
  const [s3, registry, slurm] = await Promise.all([s3Status(dir), registryStatus(dir), slurmStatus(dir)]);
  return {
    s3: { running: s3.running, endpoint: s3.endpoint, pids: { s3rver: s3.pid } },
    registry: { running: registry.running, endpoint: registry.endpoint, pids: { 'docker-registry': registry.pid } },
    slurm,
  };
}
