/**
 * The run store: `results/<plan>/` holds the plan's journal (`journal.jsonl`, one fsynced JSON
 * line per event) and one folder per run, `<run-id>/attempt-<n>/`, with `run.json` (parameters,
 * system version, hosts, start), `result.json` (end, status, exit codes, every file with its
 * sha256) and `hosts/<host>/` (stdout, stderr, collected files, the host's SHA256SUMS).
 * Nothing is overwritten: an attempt folder is created exclusively, files are written once, a
 * collection lands in a fresh `hosts.partial-*` folder that is renamed to `hosts` only when
 * complete and verified, and a run run again gets the next attempt number.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Journal } from '@labrig/core';
import type { RunStatus } from '../types.js';

export const RESULTS_DIR = 'results';

export type PlanEvent =
  | { type: 'session-start'; time: string; pid: number; runs: number; pending: number; options: Record<string, unknown> }
  | { type: 'session-end'; time: string; done: number; failed: number; pending: number }
  | { type: 'deploy-start'; time: string }
  | { type: 'deploy-end'; time: string; ok: boolean }
  | { type: 'run-start'; time: string; run: string; attempt: number; hosts: string[] }
  | { type: 'run-executed'; time: string; run: string; attempt: number; exit: Record<string, number | null> }
  | { type: 'collect-start'; time: string; run: string; attempt: number }
  | { type: 'run-done'; time: string; run: string; attempt: number; files: number; durationMs: number }
  | { type: 'run-failed'; time: string; run: string; attempt: number; reason: string }
  /** The sweep was handed to a coordinator on `host` (acknowledged by it). */
  | { type: 'coordinator-handoff'; time: string; host: string; pid: number; handoff: string; dir: string }
  /** Runs collected from a coordinator's store (`collect`): each also gets run-start and run-done. */
  | { type: 'coordinator-collect'; time: string; host: string; runs: number; files: number; bytes: number };

export interface RunState {
  status: RunStatus;
  /** Highest attempt started (0: never). */
  attempt: number;
  /** The attempt that ended done (when done). */
  doneAttempt?: number;
  reason?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Last event of an unfinished attempt (resume decides from it). */
  phase?: 'run-start' | 'run-executed' | 'collect-start';
  hosts?: string[];
}

export function planDir(root: string, plan: string): string {
  return join(root, RESULTS_DIR, plan);
}

export function attemptDir(root: string, plan: string, run: string, attempt: number): string {
  return join(planDir(root, plan), run, `attempt-${attempt}`);
}

/** Every run's state from the plan's journal (runs never seen are absent). */
export function foldEvents(events: readonly PlanEvent[]): Map<string, RunState> {
  const states = new Map<string, RunState>();
  for (const e of events) {
    if (!('run' in e)) continue;
    const s = states.get(e.run) ?? { status: 'pending', attempt: 0 };
    switch (e.type) {
      case 'run-start':
        if (s.status === 'done') break; // a stray start after done (never written by labrig) changes nothing
        Object.assign(s, { status: 'running', attempt: Math.max(s.attempt, e.attempt), phase: 'run-start', startedAt: e.time, hosts: e.hosts });
        delete s.reason;
        break;
      case 'run-executed':
      case 'collect-start':
        if (s.status === 'running' && e.attempt === s.attempt) s.phase = e.type;
        break;
      case 'run-done':
        Object.assign(s, { status: 'done', doneAttempt: e.attempt, endedAt: e.time, durationMs: e.durationMs });
        delete s.phase;
        delete s.reason;
        break;
      case 'run-failed':
        if (s.status === 'done') break;
        Object.assign(s, { status: 'failed', reason: e.reason, endedAt: e.time });
        delete s.phase;
        break;
    }
    states.set(e.run, s);
  }
  return states;
}

/**
 * Read the plan's journal (empty when the plan never ran). A line torn by a kill is skipped
 * wherever it is: after a kill the journal is reopened and later sessions append after it. Such
 * a line was the last write of a killed session and nothing acted on it (labrig makes an event
 * durable before acting on it).
 */
export async function readPlanEvents(root: string, plan: string): Promise<PlanEvent[]> {
  const file = join(planDir(root, plan), 'journal.jsonl');
  if (!existsSync(file)) return [];
  return parseJsonLines<PlanEvent>(await readFile(file, 'utf8'));
}

/** One JSON value per line; a line torn by a kill (not JSON) is skipped. */
export function parseJsonLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* torn by a kill */
    }
  }
  return out;
}

/**
 * Open the plan's journal for appending. A line torn by a kill (no trailing newline) is closed
 * first, so the next event starts on its own line.
 */
export async function openPlanJournal(root: string, plan: string): Promise<Journal> {
  const dir = planDir(root, plan);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'journal.jsonl');
  if (existsSync(file)) {
    const fh = await open(file, 'r+');
    try {
      const { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await fh.write('\n', size);
      }
    } finally {
      await fh.close();
    }
  }
  return Journal.open(dir);
}

/**
 * The store's id (`results/<plan>/store-id`, made once): written into every run folder a host
 * starts for this store, so a store deleted and made again, or a coordinator's store, never takes
 * another store's run folder on a host for its own.
 */
export async function storeId(root: string, plan: string): Promise<string> {
  const file = join(planDir(root, plan), 'store-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(planDir(root, plan), { recursive: true });
    const id = randomBytes(8).toString('hex');
    try {
      await writeFile(file, `${id}\n`, { flag: 'wx' });
      return id;
    } catch {
      return (await readFile(file, 'utf8')).trim();
    }
  }
}

/** The attempt numbers that have a folder (a folder can exist without its journal line after a kill). */
export function attemptFolders(root: string, plan: string, run: string): number[] {
  const dir = join(planDir(root, plan), run);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((d) => /^attempt-(\d+)$/.exec(d)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Create the next attempt folder exclusively; returns its number and path. */
export async function createAttempt(root: string, plan: string, run: string, after: number): Promise<{ attempt: number; dir: string }> {
  let n = Math.max(after, ...attemptFolders(root, plan, run), 0) + 1;
  await mkdir(join(planDir(root, plan), run), { recursive: true });
  for (;;) {
    const dir = attemptDir(root, plan, run, n);
    try {
      await mkdir(dir); // exclusive: EEXIST means another attempt took the number
      return { attempt: n, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      n++;
    }
  }
}

/** Write a file that must not exist yet (the store never overwrites). */
export async function writeOnce(file: string, data: string): Promise<void> {
  await writeFile(file, data, { flag: 'wx' });
}

/** Move a complete collection into place: `hosts.partial-*` -> `hosts` (refuses to replace one). */
export async function sealCollection(attemptPath: string, partial: string): Promise<string> {
  const final = join(attemptPath, 'hosts');
  if (existsSync(final)) throw new Error(`${final} exists already: refusing to overwrite a collection`);
  await rename(partial, final);
  return final;
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
