/**
 * What provision created, kept under the platform's state directory (`devices.json`): the ids of
 * the devices this workspace asked the API for, written right after each create returns (and an
 * entry without id just before, so a create whose answer was lost is still found and released).
 * Teardown deletes exactly these. Writes are atomic (temporary file, fsync, rename).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { StateUnreadable } from './errors.js';
import { writeJsonDurably } from '@labrig/platform-kit';

export const STATE_FILE = 'devices.json';

/** One device this workspace created (or is creating). */
export interface DeviceRecord {
  index: number;
  hostname: string;
  /** Set once the create request returned; absent while its outcome is unknown. */
  id?: string;
  /** When the create request was sent (ISO 8601). */
  requestedAt: string;
  /** Where labrig connected to it (teardown forgets that address's host key). */
  address?: string;
  port?: number;
}

export interface DeploymentState {
  version: 1;
  project: string;
  deployment: string;
  /** The API the ids belong to. */
  apiUrl: string;
  devices: DeviceRecord[];
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** The state file as messages name it: relative to the workspace root when it lies inside it. */
export function shownStatePath(root: string, stateDir: string): string {
  const rel = relative(root, statePath(stateDir));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : statePath(stateDir);
}

/** The recorded state, or undefined when there is none (nothing created, or all released). */
export function readState(stateDir: string): DeploymentState | undefined {
  const file = statePath(stateDir);
  if (!existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new StateUnreadable(file, (cause as Error).message, { cause });
  }
  const s = data as Partial<DeploymentState>;
  if (s.version !== 1 || typeof s.project !== 'string' || typeof s.deployment !== 'string' || typeof s.apiUrl !== 'string' || !Array.isArray(s.devices)) {
    throw new StateUnreadable(file, 'not a version 1 device list (version, project, deployment, apiUrl, devices)');
  }
  return s as DeploymentState;
}

/** Replace the state file atomically and durably. */
export function writeState(stateDir: string, state: DeploymentState): void {
  writeJsonDurably(statePath(stateDir), state);
}

/** Forget the state (everything it listed is released). */
export function clearState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
}
