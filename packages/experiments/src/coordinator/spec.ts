/**
 * What a laptop hands to a coordinator: the plan as loaded (runs, ids, timeouts, collection), the
 * hosts as the coordinator reaches them, and every host's command for every run, computed on the
 * laptop by the system's own ExperimentTarget (so any system plugin can run under a coordinator:
 * its templates never have to run there). The attempt folder of a run is not known in advance:
 * it stands in the commands as RUN_DIR_TOKEN and is filled in when the attempt starts. Secret
 * values are not in the spec: only their names; the values reach the coordinator as one JSON
 * object on its standard input (SECRETS_ON_STDIN), written by the starting shell's printf builtin.
 */
import type { ExpiryHandOff, ExtendRequest } from '@labrig/core';
import type { Plan } from '../plan/load.js';

/** Folder of a plan's coordinator on its host, relative to the login home. */
export const COORDINATOR_HOME = '.labrig/coordinator';
/** Prefix of the coordinator program's file name: also how a live coordinator is recognised in /proc/<pid>/cmdline. */
export { PROGRAM_PREFIX } from '@labrig/runner/program';
/** The coordinator program's name before it became the labrig engine program (still recognised as alive). */
export const EARLIER_PROGRAM_PREFIX = 'labrig-coordinator-';
export const RUN_DIR_TOKEN = '@@labrig-run-dir@@';
/** The coordinator's flag: its secrets come as one JSON object on its standard input (not its environment). */
export const SECRETS_ON_STDIN = '--secrets=stdin';
export const SPEC_FORMAT = 1;

export function coordinatorDir(plan: string): string {
  return `${COORDINATOR_HOME}/${plan}`;
}

export interface SpecHost {
  name: string;
  address: string;
  port: number;
  user?: string;
}

export interface SpecTask {
  /** The task's hosts, in order (names of `hosts`). */
  hosts: string[];
  /** Names of the environment variables the task's command gets (values: the coordinator's environment at start). */
  env: string[];
}

export interface CoordinatorSpec {
  format: typeof SPEC_FORMAT;
  plan: Plan;
  only?: string;
  rerunFailed: boolean;
  parallelRuns: number;
  pollMs?: number;
  /** Every host a run may use, as the coordinator reaches it (private address when there is one). */
  hosts: SpecHost[];
  tasks: Record<string, SpecTask>;
  /** run id -> host set (names joined by ',') -> host -> argv (RUN_DIR_TOKEN for the attempt's folder). */
  argv: Record<string, Record<string, Record<string, string[]>>>;
  /** The deployment key's private half on the coordinator host, relative to the login home. */
  identityFile: string;
  /** Runs done in the laptop's store when the plan was handed over: the coordinator does not run them. */
  doneHere: string[];
  /** Recorded in every run.json. */
  version: Record<string, unknown>;
  /** The machines' expiry, watched by the coordinator (from Platform.expiryHandOff). */
  expiry?: SpecExpiry;
}

/** An ExpiryHandOff in the spec: the secret headers' values are not in it, only the environment variables that carry them. */
export interface SpecExpiry extends Omit<ExpiryHandOff, 'extend'> {
  extend?: Omit<ExtendRequest, 'secretHeaders'> & {
    /** Header -> name of the environment variable that holds its value (the starting shell's). */
    secretHeaders: Record<string, string>;
  };
}

/** The key of a host set in `CoordinatorSpec.argv`. */
export const hostSetKey = (names: readonly string[]) => names.join(',');

/** One line of the coordinator's own journal (`coordinator.jsonl` beside the spec). */
export type CoordinatorEvent =
  | { type: 'start'; time: string; pid: number; bootId: string; handoff: string; node: string; spec: string }
  | { type: 'stop-requested'; time: string; mode: 'after-run' | 'now' }
  | { type: 'end'; time: string; done: number; failed: number; pending: number; stopped: boolean }
  | { type: 'error'; time: string; message: string }
  /**
   * What the coordinator did about the machines' expiry: watching (at start), warned, extended,
   * pending (waits for an administrator), failed (the request), moved (read from the platform:
   * extended elsewhere, by hand or by the laptop).
   */
  | { type: 'expiry'; time: string; what: string; expiresAt: string; action: 'watching' | 'warned' | 'extended' | 'pending' | 'failed' | 'moved'; hours?: number; detail?: string };

/** The lock file's content: who runs the plan's coordinator. */
export interface LockInfo {
  pid: number;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot is not this boot's process. */
  bootId: string;
  startedAt: string;
  handoff: string;
}
