/**
 * The Slurm launcher: a long-running process is a batch job named `<jobPrefix><process name>`
 * whose script runs the command once per task with srun (per-task logs). Status comes from the
 * batched job queue (one squeue per poll for every job asked about, sacct when the cluster keeps
 * accounting); the ProcessSpec stamp travels in the job's comment, so any process, even a fresh
 * one on another machine, re-finds a job by name and tells whether it runs what it should.
 * Stop is scancel, then waiting until Slurm no longer lists the job.
 *
 * Settings come from the login Host's `slurm.launch` label (see settings.ts), or are fixed when
 * the launcher is constructed with them.
 */
import type { Host, Launcher, ProcessStatus, Remote } from '@labrig/core';
import { CommandFailed, lastLines, quote } from '@labrig/core';
import { JobsStillListed, SlurmUnavailable } from './errors.js';
import { updateJobs, type JobRecord } from './job-state.js';
import { JobQueue } from './queue.js';
import { renderBatchScript, jobLogFile, parseJobId, buildSubmitArgv, taskLogFiles } from './script.js';
import { jobNameOf, resolveShape, settingsFromHost, slurmBin, type LaunchSettings, type SlurmProcessSpec } from './settings.js';
import { isAlive, isTerminal, pickJob, type QueueEntry } from './squeue.js';

/** A ProcessStatus with what Slurm says about the job. */
export interface SlurmProcessStatus extends ProcessStatus {
  jobName: string;
  /** Undefined when no job of that name is known. */
  jobId?: string;
  /** Slurm's state (PENDING, RUNNING, COMPLETED, CANCELLED, ...), `UNKNOWN` when no job is known. */
  state: string;
  /** Why it pends (`Resources`, `Priority`, ...) or `None`. */
  reason?: string;
  nodes: string[];
  ntasks?: number;
  /** One log per task (`<job>-<jobid>-<task>.log`); `logFile` is the batch step's own log. */
  taskLogs: string[];
}

export interface SlurmLauncherOptions {
  /** Fixed settings, or how to find them for a host. Default: the host's `slurm.launch` label. */
  settings?: LaunchSettings | ((host: Host) => LaunchSettings);
  /** The queue reader (shared to batch polls across launchers). Default: one per launcher. */
  queue?: JobQueue;
}

const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/** What scancel says about a job that ended (or was forgotten) meanwhile: not a failure to stop it. */
const ALREADY_GONE = /already completing or completed|Invalid job id|Job has already finished/i;

/** scancel; a non-zero exit only fails when some message is not about jobs that are gone already. */
async function scancel(remote: Remote, argv: string[], signal?: AbortSignal): Promise<void> {
  const r = await remote.exec(argv, { allowFailure: true, ...(signal ? { signal } : {}) });
  if (r.exitCode === 0) return;
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 0 && lines.every((l) => ALREADY_GONE.test(l))) return;
  throw new SlurmUnavailable(remote.host.name, quote(argv), lastLines(r.stderr || r.stdout, 3) || `exit ${r.exitCode}`);
}

export class SlurmLauncher implements Launcher {
  readonly queue: JobQueue;
  private readonly settingsFor: (host: Host) => LaunchSettings;

  constructor(opts: SlurmLauncherOptions = {}) {
    const s = opts.settings;
    this.settingsFor = typeof s === 'function' ? s : s ? () => s : settingsFromHost;
    this.queue = opts.queue ?? new JobQueue();
  }

  async start(remote: Remote, spec: SlurmProcessSpec, signal?: AbortSignal): Promise<SlurmProcessStatus> {
    const s = this.settingsFor(remote.host);
    const jobName = jobNameOf(s, spec.name);
    const shape = resolveShape(s, spec);
    const script = renderBatchScript(s, spec, shape, jobName);
    const argv = buildSubmitArgv(s, spec, shape, jobName);
    const current = pickJob(await this.queue.lookup(remote, s, [jobName], { exitCodes: false, ...(signal ? { signal } : {}) }));
    if (current && isAlive(current.state)) {
      throw new CommandFailed(
        remote.host.name,
        `sbatch --job-name=${jobName}`,
        { exitCode: 3, signal: null, stderr: `${jobName} is already ${current.state} as job ${current.jobId}` },
        { hint: `Stop it first (the system's stop target, or scancel ${current.jobId}), or it belongs to another deployment using the same job name.` },
      );
    }
    const r = await remote.exec(argv, { stdin: script, allowFailure: true, ...(signal ? { signal } : {}) });
    const jobId = parseJobId(r.stdout);
    if (r.exitCode !== 0 || jobId === undefined) {
      throw new CommandFailed(remote.host.name, quote(argv.slice(5)), r, {
        hint: `sbatch refused the job: check slurm.partition/account/time and the sbatchArgs in the platform file (\`${slurmBin(s, 'sinfo')}\` lists partitions).`,
      });
    }
    const record: JobRecord = {
      name: spec.name,
      jobName,
      jobId,
      login: remote.host.name,
      ntasks: shape.ntasks,
      ...(spec.stamp !== undefined ? { stamp: spec.stamp } : {}),
      state: 'PENDING',
      nodes: [],
      since: new Date().toISOString(),
    };
    if (s.stateDir) await updateJobs(s.stateDir, (jobs) => ({ ...jobs, [spec.name]: record }));
    const comment = { ntasks: shape.ntasks, ...(spec.stamp !== undefined ? { stamp: spec.stamp } : {}) };
    return this.describe(s, spec.name, jobName, { jobId, jobName, state: 'PENDING', reason: 'None', nodes: [], comment });
  }

  async status(remote: Remote, name: string, signal?: AbortSignal): Promise<SlurmProcessStatus> {
    const s = this.settingsFor(remote.host);
    const jobName = jobNameOf(s, name);
    const job = pickJob(await this.queue.lookup(remote, s, [jobName], signal ? { signal } : {}));
    if (s.stateDir) await this.remember(s.stateDir, remote.host.name, name, job);
    return this.describe(s, name, jobName, job);
  }

  async stop(remote: Remote, name: string, opts: { graceMs?: number; signal?: AbortSignal } = {}): Promise<{ wasRunning: boolean }> {
    const s = this.settingsFor(remote.host);
    const jobName = jobNameOf(s, name);
    const { signal } = opts;
    const listed = (await this.queue.lookup(remote, s, [jobName], { exitCodes: false, ...(signal ? { signal } : {}) })).filter((e) => !isTerminal(e.state));
    const wasRunning = listed.some((e) => isAlive(e.state));
    await this.cancel(remote, s, listed, opts.graceMs ?? 5000, signal);
    if (s.stateDir) await updateJobs(s.stateDir, (jobs) => (jobs[name] ? (delete jobs[name], jobs) : undefined));
    return { wasRunning };
  }

  /**
   * scancel the jobs (Slurm sends TERM, then KILL after its KillWait), and wait until squeue no
   * longer lists them as pending, running or ending. Still there after `graceMs`: KILL every
   * step (`scancel --signal=KILL --full`), then wait up to the stop timeout.
   */
  async cancel(remote: Remote, s: LaunchSettings, jobs: readonly QueueEntry[], graceMs: number, signal?: AbortSignal): Promise<void> {
    if (jobs.length === 0) return;
    await scancel(remote, [slurmBin(s, 'scancel'), ...jobs.map((e) => e.jobId)], signal);
    const started = Date.now();
    let killed = false;
    for (;;) {
      const left = await this.stillListed(remote, s, jobs, signal);
      if (left.length === 0) return;
      const waited = Date.now() - started;
      if (!killed && waited >= graceMs) {
        await scancel(remote, [slurmBin(s, 'scancel'), '--signal=KILL', '--full', ...left.map((e) => e.jobId)], signal);
        killed = true;
      }
      if (waited >= graceMs + s.stopTimeoutMs) {
        throw new JobsStillListed(remote.host.name, left.map((e) => e.jobId), waited, left.map((e) => `${e.jobId} ${e.state}`).join(', '));
      }
      await delay(Math.min(s.pollIntervalMs, Math.max(100, graceMs)), signal);
    }
  }

  /**
   * Which of these jobs squeue still lists as not ended: one batched poll by job name (squeue
   * --jobs fails outright on an id the controller has already forgotten).
   */
  private async stillListed(remote: Remote, s: LaunchSettings, jobs: readonly QueueEntry[], signal?: AbortSignal): Promise<QueueEntry[]> {
    const names = [...new Set(jobs.map((e) => e.jobName))];
    const ids = new Set(jobs.map((e) => e.jobId));
    const now = await this.queue.lookup(remote, s, names, { exitCodes: false, ...(signal ? { signal } : {}) });
    return now.filter((e) => ids.has(e.jobId) && !isTerminal(e.state));
  }

  /**
   * Keep the local record in step with what the queue says: nodes appear once the job runs; a
   * job Slurm no longer knows at all (it ended longer ago than MinJobAge) is forgotten.
   */
  private async remember(stateDir: string, login: string, name: string, job: QueueEntry | undefined): Promise<void> {
    await updateJobs(stateDir, (jobs) => {
      const known = jobs[name];
      if (!job) return known ? (delete jobs[name], jobs) : undefined;
      if (known && known.jobId === job.jobId) {
        if (known.state === job.state && known.nodes.join(',') === job.nodes.join(',')) return undefined;
        return { ...jobs, [name]: { ...known, state: job.state, nodes: job.nodes } };
      }
      // A job of ours this workspace did not record (started elsewhere, or the record was lost): adopt it while it is alive.
      if (!isAlive(job.state)) return undefined;
      return {
        ...jobs,
        [name]: {
          name,
          jobName: job.jobName,
          jobId: job.jobId,
          login,
          ntasks: job.comment?.ntasks ?? 1,
          ...(job.comment?.stamp !== undefined ? { stamp: job.comment.stamp } : {}),
          state: job.state,
          nodes: job.nodes,
          since: new Date().toISOString(),
        },
      };
    });
  }

  private describe(s: LaunchSettings, name: string, jobName: string, job: QueueEntry | undefined): SlurmProcessStatus {
    if (!job) {
      return { name, running: false, jobName, state: 'UNKNOWN', nodes: [], taskLogs: [], logFile: jobLogFile(s, jobName, '<jobid>') };
    }
    const ntasks = job.comment?.ntasks;
    const exitCode = job.exitCode ?? (job.state === 'COMPLETED' ? 0 : undefined);
    return {
      name,
      running: isAlive(job.state),
      jobName,
      jobId: job.jobId,
      state: job.state,
      reason: job.reason,
      nodes: job.nodes,
      ...(ntasks !== undefined ? { ntasks } : {}),
      ...(exitCode !== undefined && !isAlive(job.state) ? { exitCode } : {}),
      ...(job.comment?.stamp !== undefined ? { stamp: job.comment.stamp } : {}),
      logFile: jobLogFile(s, jobName, job.jobId),
      taskLogs: ntasks !== undefined ? taskLogFiles(s, jobName, job.jobId, ntasks) : [],
    };
  }
}
