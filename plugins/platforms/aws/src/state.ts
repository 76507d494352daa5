/**
 * What provision created, kept in `.labrig/state/<folder>/instances.json`: the deployment id, the
 * region, and one record per launch (index, Name, client token, instance id). A launch is recorded
 * with its client token before RunInstances is sent and gets its instance id as soon as the call
 * returns, so a run that fails or is killed at any point leaves what teardown needs to release
 * exactly what was created. Written atomically (temporary file, fsync, rename).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AwsConflict } from './errors.js';
import { writeJsonDurably } from '@labrig/platform-kit';

export const STATE_FILE = 'instances.json';

export interface LaunchRecord {
  index: number;
  name: string;
  /** Idempotency token sent with RunInstances (also a DescribeInstances filter). */
  clientToken: string;
  /** Set once RunInstances returned. */
  instanceId?: string;
  /** ISO time the launch was recorded. */
  at: string;
}

export interface AwsState {
  version: 1;
  deployment: string;
  region: string;
  launches: LaunchRecord[];
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** The recorded state, or undefined when nothing was provisioned (or teardown cleared it). */
export function readState(stateDir: string): AwsState | undefined {
  const file = statePath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let state: AwsState;
  try {
    state = JSON.parse(text) as AwsState;
  } catch (cause) {
    throw new AwsConflict(`${file} is not valid JSON (${(cause as Error).message})`, `Restore it from the instance ids in the EC2 console (tag labrig:deployment), or terminate those instances by hand and remove ${file}.`);
  }
  if (state.version !== 1 || typeof state.deployment !== 'string' || !Array.isArray(state.launches)) {
    throw new AwsConflict(`${file} is not an aws platform state file (version 1)`, `Move it away if it belongs to something else; terminate the instances it lists by hand.`);
  }
  return state;
}

/** Replace the state file with `state` (atomic: a reader sees the old or the new file, whole). */
export function writeState(stateDir: string, state: AwsState): void {
  writeJsonDurably(statePath(stateDir), state);
}

export function removeState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
}

/** The instance ids recorded so far. */
export function recordedIds(state: AwsState): string[] {
  return state.launches.flatMap((l) => (l.instanceId ? [l.instanceId] : []));
}
