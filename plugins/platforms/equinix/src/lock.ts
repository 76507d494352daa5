/**
 * One provision or teardown at a time per state directory: two at once would both create the
 * missing devices. The lock is a file created exclusively, holding the owner's pid; a lock left by
 * a process that no longer runs is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateLocked } from './errors.js';

export const LOCK_FILE = 'lock';

/** Run `fn` holding the lock of `stateDir`; StateLocked when a live process holds it. */
export async function withStateLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, LOCK_FILE);
  takeLock(file);
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function takeLock(file: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (attempt > 0 || (Number.isInteger(pid) && pid > 0 && isRunning(pid))) throw new StateLocked(file, pid);
    rmSync(file, { force: true }); // its owner is gone
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
