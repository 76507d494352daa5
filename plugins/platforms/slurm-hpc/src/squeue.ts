/**
 * squeue: the one query behind every status. Jobs are found by name (exact, `--name`) for the
 * current user (`--me`, Slurm >= 20.11), every state included (`--states=all`: jobs that ended a
 * short while ago, MinJobAge, are still listed with their final state).
 */
import type { JobComment } from './comment.js';
import { decodeComment } from './comment.js';
import { expandHostlist } from './hostlist.js';
import { slurmBin, type LaunchSettings } from './settings.js';

/** One job as squeue (and sacct, for ended jobs) reports it. */
export interface QueueEntry {
  jobId: string;
  jobName: string;
  /** Slurm's job state: PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, ... */
  state: string;
  /** Why it pends, or `None`. */
  reason: string;
  /** Node names (expanded from squeue's host list); none while pending. */
  nodes: string[];
  /** What labrig wrote into the job's comment, when it did. */
  comment?: JobComment;
  /** Exit status, when the job ended and sacct knows it (128+signal for a signal). */
  exitCode?: number;
}

/** Ended for good: the job is no longer in the queue's hands. */
const TERMINAL = new Set([
  'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'REVOKED',
]);
/** Ending: still listed (its processes are being killed), but not running any more. */
const ENDING = new Set(['COMPLETING', 'STAGE_OUT', 'SIGNALING']);

/** Terminal states (the job is gone from the queue's point of view). */
export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

/** Queued or running: what `ProcessStatus.running` reports (a pending job counts as alive: it will run). */
export function isAlive(state: string): boolean {
  return !TERMINAL.has(state) && !ENDING.has(state);
}

const FIELDS = '%i|%j|%T|%r|%N|%k';

/** squeue argv for jobs of these names (all of the user's jobs when `names` is undefined). */
export function buildSqueueArgv(s: Pick<LaunchSettings, 'binDir'>, names: readonly string[] | undefined, opts: { allStates?: boolean } = {}): string[] {
  return [
    slurmBin(s, 'squeue'),
    '--me',
    '--noheader',
    ...(opts.allStates === false ? [] : ['--states=all']),
    ...(names ? [`--name=${names.join(',')}`] : []),
    `--format=${FIELDS}`,
  ];
}

/** squeue's lines → entries (the comment is the last field: it may itself hold `|`). */
export function parseSqueue(stdout: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const [jobId = '', jobName = '', state = '', reason = '', nodes = '', ...rest] = line.split('|');
    if (!/^\d+/.test(jobId.trim())) continue;
    const comment = decodeComment(rest.join('|'));
    out.push({
      jobId: jobId.trim(),
      jobName,
      state: state.trim().split(/\s+/)[0] ?? '',
      reason: reason.trim(),
      nodes: expandHostlist(nodes),
      ...(comment ? { comment } : {}),
    });
  }
  return out;
}

/** Job ids compared as numbers where they are (array jobs `12_3` as strings). */
export function compareJobIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
}

/** The job a name stands for: the newest alive one, else the newest of any state. */
export function pickJob(entries: readonly QueueEntry[]): QueueEntry | undefined {
  const newest = (list: readonly QueueEntry[]) => [...list].sort((a, b) => compareJobIds(b.jobId, a.jobId))[0];
  return newest(entries.filter((e) => isAlive(e.state))) ?? newest(entries);
}
