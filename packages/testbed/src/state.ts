/** `<dir>/state.json`: the testbed's state, also the inventory the `local` platform reads. */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TestbedError } from './errors.js';
import type { TestbedHost, TestbedState } from './types.js';

export function statePath(dir: string): string {
  return path.join(path.resolve(dir), 'state.json');
}

const badStateHint = (dir: string) => `Tear the testbed down with \`tools/testbed down --dir ${dir}\` and start it again.`;

/** Reads the state, or undefined when the testbed is not up. */
export async function readState(dir: string): Promise<TestbedState | undefined> {
  const file = statePath(dir);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new TestbedError('BAD_STATE', `${file} is not valid JSON`, { hint: badStateHint(dir), cause: err });
  }
  const s = parsed as Partial<TestbedState>;
  if (s.version !== 1 || !Array.isArray(s.hosts)) {
    throw new TestbedError('BAD_STATE', `${file} is not a testbed state (version 1 expected)`, { hint: badStateHint(dir) });
  }
  return parsed as TestbedState;
}

/** Reads the state; a clear error when the testbed is not up. */
export async function loadState(dir: string): Promise<TestbedState> {
  const state = await readState(dir);
  if (!state) {
    throw new TestbedError('NOT_UP', `no testbed at ${path.resolve(dir)} (no state.json)`);
  }
  return state;
}

/** Writes the state atomically (temp file + rename). */
export async function saveState(state: TestbedState): Promise<void> {
  const file = statePath(state.dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, file);
}

/** All hosts of a state, the login host included. */
export function allHosts(state: TestbedState): TestbedHost[] {
  return state.login ? [...state.hosts, state.login] : [...state.hosts];
}

export function findHost(state: TestbedState, name: string): TestbedHost {
  const host = allHosts(state).find((h) => h.name === name);
  if (!host) {
    const names = allHosts(state).map((h) => h.name);
    throw new TestbedError('UNKNOWN_HOST', `no host "${name}" in the testbed at ${state.dir} (hosts: ${names.join(', ') || 'none'})`);
  }
  return host;
}
