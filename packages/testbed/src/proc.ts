/** Processes by pid: alive?, descendants (from /proc), signals, waiting. Never by name. */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from '@labrig/core';

/** Whether pid exists (a zombie included; see isRunning). */
export const isAlive = isProcessAlive;

/** Whether pid is alive and not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const st = await readStat(pid);
  return st !== undefined && st.state !== 'Z';
}

/** The pid in a pid file, or undefined when missing/empty. */
export async function readPidFile(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

interface Stat {
  pid: number;
  ppid: number;
  state: string;
}

async function readStat(pid: number): Promise<Stat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ... ; comm may contain spaces and parentheses.
    const close = text.lastIndexOf(')');
    const rest = text.slice(close + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

async function allPids(): Promise<number[]> {
  const entries = await readdir('/proc');
  return entries.filter((e) => /^\d+$/.test(e)).map(Number);
}

/** All descendants of pid (children, grandchildren, ...), parents before children. */
export async function descendants(pid: number): Promise<number[]> {
  const stats = (await Promise.all((await allPids()).map(readStat))).filter((s): s is Stat => s !== undefined);
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Pids of processes whose real uid is `uid`. */
export async function processesOfUid(uid: number): Promise<number[]> {
  const out: number[] = [];
  await Promise.all(
    (await allPids()).map(async (pid) => {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const m = /^Uid:\s+(\d+)/m.exec(status);
        if (m && Number(m[1]) === uid) out.push(pid);
      } catch {
        // gone
      }
    }),
  );
  return out;
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of pids is running; returns those still running at the deadline. */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids;
  for (;;) {
    const states = await Promise.all(left.map(isRunning));
    left = left.filter((_, i) => states[i]);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(20);
  }
}

/**
 * Stops pids: SIGTERM (+SIGCONT so stopped ones see it), wait up to graceMs, then SIGKILL.
 */
export async function terminate(pids: number[], graceMs = 3000): Promise<void> {
  const alive = pids.filter(isAlive);
  if (alive.length === 0) return;
  for (const p of alive) signal(p, 'SIGTERM');
  for (const p of alive) signal(p, 'SIGCONT');
  const left = await waitForExit(alive, graceMs);
  for (const p of left) signal(p, 'SIGKILL');
  await waitForExit(left, 5000);
}

/** SIGKILL pid and its whole tree (parent first so it forks no more). */
export async function killTree(pid: number): Promise<void> {
  signal(pid, 'SIGSTOP');
  const kids = await descendants(pid);
  signal(pid, 'SIGKILL');
  for (const k of kids) signal(k, 'SIGKILL');
  await waitForExit([pid, ...kids], 5000);
}
