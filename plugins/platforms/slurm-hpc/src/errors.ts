/**
 * Typed failures of the slurm-hpc platform. Each names what failed on which host, keeps the
 * underlying error as `cause`, and says what to do in `hint`.
 */
import { LabrigError } from '@labrig/core';

/** A Slurm client command (sinfo, squeue, sacct, scancel) did not answer on the login node. */
export class SlurmUnavailable extends LabrigError {
  readonly code = 'SLURM_UNAVAILABLE';
  readonly host: string;
  constructor(host: string, command: string, detail: string, opts: { cause?: unknown } = {}) {
    super(`on ${host}: \`${command}\` failed: ${detail}`, {
      hint:
        `Check that Slurm's client commands run in a non-interactive SSH session on ${host} (\`ssh ${host} ${command.split(' ')[0] ?? command}\`). ` +
        'When they live outside the default PATH (e.g. behind `module load slurm`), set `slurm.binDir` in the platform file.',
      cause: opts.cause,
      retryable: true,
    });
    this.host = host;
  }
}

/** The platform file names a partition the cluster does not have. */
export class PartitionNotFound extends LabrigError {
  readonly code = 'SLURM_PARTITION';
  readonly file: string;
  readonly field: string;
  readonly partition: string;
  constructor(file: string, field: string, partition: string, known: string[]) {
    super(`${file}: ${field}: the cluster has no partition "${partition}" (sinfo lists: ${known.join(', ') || 'none'})`, {
      hint: `Set \`${field}\` in ${file} to one of ${known.join(', ') || 'the partitions sinfo lists'}, or remove it to use the cluster's default.`,
    });
    this.file = file;
    this.field = field;
    this.partition = partition;
  }
}

/** A host handed to the Slurm launcher carries no launch settings (it does not come from this platform's inventory). */
export class NotASlurmHost extends LabrigError {
  readonly code = 'SLURM_HOST';
  readonly host: string;
  constructor(host: string, detail: string, opts: { cause?: unknown } = {}) {
    super(`${host} is not a slurm-hpc login node: ${detail}`, {
      hint: 'Launch on the login host of the slurm-hpc inventory (role `login`), or construct SlurmLauncher with explicit settings.',
      cause: opts.cause,
    });
    this.host = host;
  }
}

/** Jobs were cancelled but Slurm still lists them after the stop timeout. */
export class JobsStillListed extends LabrigError {
  readonly code = 'SLURM_STOP_TIMEOUT';
  readonly host: string;
  readonly jobIds: string[];
  constructor(host: string, jobIds: string[], waitedMs: number, states: string) {
    super(`on ${host}: jobs ${jobIds.join(',')} are still listed by squeue ${Math.round(waitedMs / 1000)} s after scancel (${states})`, {
      hint: 'A job stuck in COMPLETING usually waits for a node to kill its processes: ask the cluster admins, or raise `slurm.stopTimeout`.',
      retryable: true,
    });
    this.host = host;
    this.jobIds = jobIds;
  }
}

/** The local record of the jobs labrig started (under the platform's state directory) cannot be read. */
export class JobStateUnreadable extends LabrigError {
  readonly code = 'SLURM_STATE';
  readonly file: string;
  constructor(file: string, detail: string, opts: { cause?: unknown } = {}) {
    super(`${file}: ${detail}`, {
      hint: `Remove ${file}: it only caches which jobs labrig started (\`teardown\` still finds them by job-name prefix).`,
      cause: opts.cause,
    });
    this.file = file;
  }
}
