/** The coordinator's lock: one live holder; a dead pid, an earlier boot or another program's pid is stale. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, lockHolderAlive, readBootId, readLock, releaseLock } from './lock.js';
import { EARLIER_PROGRAM_PREFIX, PROGRAM_PREFIX, type LockInfo } from './spec.js';

const dirs: string[] = [];
const children: number[] = [];
afterEach(() => {
  for (const p of children.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'labrig-lock-'));
  dirs.push(d);
  return d;
};
const info = (pid: number, o: Partial<LockInfo> = {}): LockInfo => ({ pid, bootId: readBootId(), startedAt: new Date().toISOString(), handoff: 'h', ...o });

/** A live process whose command line looks like a coordinator's (or, with `mode`, the engine program in another mode; `prefix`: an earlier program name). */
async function fakeCoordinator(dir: string, mode = 'coordinator', prefix = PROGRAM_PREFIX): Promise<number> {
  const file = join(dir, `${prefix}000000000000.cjs`);
  writeFileSync(file, 'setInterval(() => {}, 1000);\n');
  const c = spawn(process.execPath, prefix === PROGRAM_PREFIX ? [file, mode, dir] : [file, dir], { stdio: 'ignore' });
  children.push(c.pid!);
  await new Promise((r) => setTimeout(r, 100));
  return c.pid!;
}

describe('coordinator lock', () => {
  it('is taken once: a live coordinator keeps it', async () => {
    const d = tmp();
    const pid = await fakeCoordinator(d);
    expect(acquireLock(join(d, 'lock'), info(pid))).toEqual({ ok: true });
    const second = acquireLock(join(d, 'lock'), info(process.pid));
    expect(second.ok).toBe(false);
    expect(second.ok ? 0 : second.holder.pid).toBe(pid);
    expect(readdirSync(d).filter((f) => f.startsWith('lock'))).toEqual(['lock']); // no temp files left
  });

  it('a dead pid, an earlier boot, or a pid of another program is stale and taken over', async () => {
    const d = tmp();
    const live = await fakeCoordinator(d);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    for (const stale of [info(dead.pid!), info(live, { bootId: 'an-earlier-boot' }), info(process.pid)]) {
      const file = join(d, 'lock');
      rmSync(file, { force: true });
      writeFileSync(file, JSON.stringify(stale));
      expect(lockHolderAlive(stale)).toBe(false);
      const got = acquireLock(file, info(live));
      expect(got).toMatchObject({ ok: true, brokeStale: { pid: stale.pid } });
      expect(readLock(file)?.pid).toBe(live);
    }
  });

  it('the engine program in its agent mode is no coordinator; an earlier labrig\'s coordinator program is one', async () => {
    const d = tmp();
    expect(lockHolderAlive(info(await fakeCoordinator(d, 'agent')))).toBe(false);
    const e = tmp();
    expect(lockHolderAlive(info(await fakeCoordinator(e, 'coordinator', EARLIER_PROGRAM_PREFIX)))).toBe(true);
  });

  it('a torn lock file is stale; release removes only its own lock', async () => {
    const d = tmp();
    const file = join(d, 'lock');
    writeFileSync(file, '{"pid": 12');
    const pid = await fakeCoordinator(d);
    expect(acquireLock(file, info(pid)).ok).toBe(true);
    releaseLock(file, pid + 1);
    expect(readLock(file)?.pid).toBe(pid);
    releaseLock(file, pid);
    expect(readLock(file)).toBeUndefined();
  });
});
