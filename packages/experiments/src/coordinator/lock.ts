/**
 * One coordinator per plan and host: a lock file holding the pid and the boot id of the process
 * that runs the plan. It is taken with link(2) (atomic, fails when the file exists). A lock whose
 * process is gone, or that was written before the host last booted, or whose pid now belongs to
 * another program, is stale: it is moved aside and taken again.
 */
import { existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { EARLIER_PROGRAM_PREFIX, PROGRAM_PREFIX, type LockInfo } from './spec.js';

export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether the lock's process is a live coordinator of this boot. */
export function lockHolderAlive(info: LockInfo, bootId = readBootId()): boolean {
  if (info.bootId !== bootId) return false;
  try {
    const cmdline = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${info.pid}/stat`, 'utf8');
    const state = /^\d+ \(.*\) (\S)/.exec(stat)?.[1];
    // node <program> coordinator ...: the program is argv[1] (a shell whose script names it is not
    // it), run in its coordinator mode (the same program is the local agent); a coordinator started
    // by an earlier labrig (labrig-coordinator-<sha>.cjs, no mode) is one too.
    const [, program = '', mode] = cmdline.split('\0');
    const name = program.split('/').pop() ?? '';
    const coordinator = (name.startsWith(PROGRAM_PREFIX) && mode === 'coordinator') || name.startsWith(EARLIER_PROGRAM_PREFIX);
    return /\.cjs$/.test(name) && coordinator && state !== 'Z';
  } catch {
    return false;
  }
}

export function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export type LockResult = { ok: true; brokeStale?: LockInfo } | { ok: false; holder: LockInfo };

export function acquireLock(file: string, info: LockInfo): LockResult {
  const tmp = `${file}.${info.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  let brokeStale: LockInfo | undefined;
  try {
    for (let i = 0; i < 5; i++) {
      try {
        linkSync(tmp, file);
        return brokeStale ? { ok: true, brokeStale } : { ok: true };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readLock(file);
      if (holder && lockHolderAlive(holder)) return { ok: false, holder };
      // Stale (or torn): move it aside; if what was moved is not what was judged, put it back.
      const aside = `${file}.stale-${info.pid}-${Date.now().toString(36)}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // someone else moved it: look again
      }
      const moved = readLock(aside);
      if (holder && moved && (moved.pid !== holder.pid || moved.startedAt !== holder.startedAt)) {
        try {
          linkSync(aside, file);
        } catch {
          /* taken meanwhile */
        }
      } else brokeStale = holder;
      try {
        unlinkSync(aside);
      } catch {
        /* gone */
      }
    }
    const holder = readLock(file);
    return holder ? { ok: false, holder } : { ok: false, holder: { pid: 0, bootId: '', startedAt: '', handoff: '' } };
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

/** Remove the lock when it is still this process's. */
export function releaseLock(file: string, pid = process.pid): void {
  const cur = readLock(file);
  if (cur?.pid === pid && existsSync(file)) unlinkSync(file);
}
