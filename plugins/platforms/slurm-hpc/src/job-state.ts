/**
 * `<stateDir>/jobs.json`: the jobs labrig started for this deployment (one per process name),
 * with their job id, stamp, task count, state and nodes as last seen. Written by the launcher
 * (start, status, stop) and teardown; read by the inventory, which must not contact the cluster.
 * Slurm stays the truth: a fresh process re-finds jobs by name (squeue) and refreshes this file.
 *
 * Writes replace the file atomically (temp file + rename) and are serialised within a process.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobStateUnreadable } from './errors.js';

export interface JobRecord {
  /** The process name (ProcessSpec.name). */
  name: string;
  jobName: string;
  jobId: string;
  /** Inventory name of the login node the job was submitted from. */
  login: string;
  ntasks: number;
  stamp?: string;
  /** Slurm state as last seen. */
  state: string;
  /** Node names as last seen (none while pending). */
  nodes: string[];
  /** ISO time of submission (or of first sight, for a job re-found by name). */
  since: string;
}

export interface JobStateFile {
  version: 1;
  jobs: Record<string, JobRecord>;
}

export const JOBS_FILE = 'jobs.json';

export function jobsFile(stateDir: string): string {
  return join(stateDir, JOBS_FILE);
}

/** The recorded jobs (none when the file does not exist). */
export async function readJobs(stateDir: string): Promise<Record<string, JobRecord>> {
  const file = jobsFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new JobStateUnreadable(file, `cannot be read (${(e as Error).message})`, { cause: e });
  }
  let parsed: Partial<JobStateFile>;
  try {
    parsed = JSON.parse(text) as Partial<JobStateFile>;
  } catch (cause) {
    throw new JobStateUnreadable(file, 'is not valid JSON', { cause });
  }
  if (parsed.version !== 1 || typeof parsed.jobs !== 'object' || parsed.jobs === null) {
    throw new JobStateUnreadable(file, 'is not a slurm-hpc job record (version 1 expected)');
  }
  return parsed.jobs;
}

async function writeJobs(stateDir: string, jobs: Record<string, JobRecord>): Promise<void> {
  const file = jobsFile(stateDir);
  if (Object.keys(jobs).length === 0) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const body: JobStateFile = { version: 1, jobs };
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Change the recorded jobs with `edit` (which returns the new map, or undefined for no change),
 * one change at a time per state directory in this process.
 */
export function updateJobs(stateDir: string, edit: (jobs: Record<string, JobRecord>) => Record<string, JobRecord> | undefined): Promise<void> {
  const prev = queues.get(stateDir) ?? Promise.resolve();
  const next = prev.then(noop, noop).then(async () => {
    const jobs = await readJobs(stateDir);
    const changed = edit({ ...jobs });
    if (changed) await writeJobs(stateDir, changed);
  });
  queues.set(stateDir, next);
  void next.then(noop, noop).finally(() => {
    if (queues.get(stateDir) === next) queues.delete(stateDir);
  });
  return next;
}

function noop(): void {}
