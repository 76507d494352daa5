/**
 * One provision or teardown at a time per platform folder: two provisions racing would both see
 * an index missing and launch it twice (paid instances). A lock file holding the owner's pid,
 * created exclusively; a lock whose process is gone is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AwsStateLocked } from './errors.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the lock (or take over a dead owner's); throws AwsStateLocked when a live process holds it. */
function acquire(file: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new AwsStateLocked(file, pid);
    rmSync(file, { force: true });
  }
  throw new AwsStateLocked(file, Number.parseInt(readFileSync(file, 'utf8'), 10));
}

/** Run `fn` holding `<stateDir>/lock`. */
export async function withStateLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lock');
  acquire(file);
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
