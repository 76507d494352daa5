/** Run ids and run directories: `<root>/.labrig/runs/<id>/`, plus `latest` pointing at the newest. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const RUNS_DIR = path.join('.labrig', 'runs');

/** `20261122-153012.345-ab12`: UTC time to the millisecond (ids sort by start time) and a random suffix. */
export function createRunId(now: Date = new Date(), suffix: string = randomBytes(2).toString('hex')): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const d = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const t = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${d}-${t}.${p(now.getUTCMilliseconds(), 3)}-${suffix}`;
}

export function runsDir(root: string): string {
  return path.join(root, RUNS_DIR);
}

/**
 * Create the run directory (with `logs/`). With no id given, a fresh one is made; a clash
 * (two runs in the same millisecond with the same suffix) picks another suffix.
 */
export async function createRunDir(root: string, id?: string): Promise<{ id: string; dir: string }> {
  const base = runsDir(root);
  await mkdir(base, { recursive: true });
  for (let tries = 0; ; tries++) {
    const runId = id ?? createRunId();
    const dir = path.join(base, runId);
    try {
      await mkdir(dir);
      await mkdir(path.join(dir, 'logs'));
      return { id: runId, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || id !== undefined || tries > 20) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new Error(`run directory ${dir} already exists; pick another run id`, { cause: e });
        }
        throw e;
      }
    }
  }
}

/** Point `<runs>/latest` at the run (a relative symlink; a plain file holding the id where symlinks fail). */
export async function markLatest(root: string, id: string): Promise<void> {
  const base = runsDir(root);
  const link = path.join(base, 'latest');
  const tmp = path.join(base, `.latest-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    await symlink(id, tmp);
    await rename(tmp, link);
  } catch {
    await rm(tmp, { force: true });
    await rm(link, { force: true, recursive: false }).catch(() => undefined);
    await writeFile(link, `${id}\n`);
  }
}

/** The directory of the latest run, or undefined when there is none. */
export async function latestRunDir(root: string): Promise<string | undefined> {
  const base = runsDir(root);
  const link = path.join(base, 'latest');
  try {
    return path.join(base, await readlink(link));
  } catch {
    try {
      const id = (await readFile(link, 'utf8')).trim();
      return id ? path.join(base, id) : undefined;
    } catch {
      return undefined;
    }
  }
}
