/** Platform state files (what provision created): replaced atomically and durably, guarded by a lock. */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isProcessAlive } from '@labrig/core';

/**
 * Replace `file` with `value` as JSON: written to a temporary file, fsynced, renamed over the old
 * one, and the folder fsynced, so a reader (or a crash) sees the old file or the new one, whole.
 */
export function writeJsonDurably(file: string, value: unknown): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

/**
 * Run `fn` holding `<stateDir>/lock`: one provision or teardown at a time per platform folder (two
 * at once would both create what is missing). The lock is a file created exclusively, holding the
 * owner's pid; a lock left by a process that no longer runs is taken over. When a live process
 * holds it, `locked(file, pid)` is thrown (the plugin's typed error).
 */
export async function withStateLock<T>(stateDir: string, fn: () => Promise<T>, locked: (file: string, pid: number) => Error): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (attempt > 0 || (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid))) throw locked(file, pid);
    rmSync(file, { force: true }); // its owner is gone
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
