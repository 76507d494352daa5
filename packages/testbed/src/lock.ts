/** A per-dir lock so two `up`/`down` on the same testbed (e.g. parallel test files) take turns. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestbedError } from './errors.js';
import { isRunning } from './proc.js';

export async function withLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const lock = path.join(dir, '.lock');
  const owner = path.join(lock, 'pid');
  await mkdir(dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(owner, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(await readFile(owner, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && !(await isRunning(pid))) {
        await rm(lock, { recursive: true, force: true }); // its holder died
        continue;
      }
      if (Date.now() >= deadline) {
        throw new TestbedError('TIMEOUT', `testbed ${dir} is locked by pid ${pid} (${lock}) for more than ${timeoutMs} ms`, {
          hint: `Wait for pid ${pid} to finish (or stop it), then run again.`,
        });
      }
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
