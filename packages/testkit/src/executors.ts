/**
 * What a plugin's spec needs to run its executors the way labrig-run does, and read back what
 * they did: a temporary workspace inside the real one (plugins resolve from its node_modules), an
 * ExecutorContext for a project, the executor's printed output captured, and the journal of the
 * newest run of a target (`<project>:<target>`) with each host's status per step.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { readJournal, runsDir } from '@labrig/core';

/** A fresh folder `<workspace>/tmp/<prefix>XXXXXX` with an empty nx.json (a workspace root). */
export function tempWorkspace(workspace: string, prefix: string): string {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  const root = mkdtempSync(join(workspace, 'tmp', prefix));
  writeFileSync(join(root, 'nx.json'), '{}\n');
  return root;
}

/** The context Nx gives an executor of `project` (rooted at targets/<project> by default). */
export function executorContext(root: string, project: string, projectRoot = `targets/${project}`): ExecutorContext {
  return { root, cwd: root, isVerbose: false, projectName: project, projectsConfigurations: { version: 2, projects: { [project]: { root: projectRoot } } } } as unknown as ExecutorContext;
}

export interface ExecutorRun {
  success: boolean;
  /** Everything it printed (console, stdout, stderr), in order. */
  out: string;
}

/** Run an executor with everything it prints captured (and not shown). */
export async function runExecutor(fn: () => Promise<{ success: boolean }>): Promise<ExecutorRun> {
  const out: string[] = [];
  const { log, error, warn, info } = console;
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const keep = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  const keepChunk = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
  Object.assign(console, { log: keep, error: keep, warn: keep, info: keep });
  process.stdout.write = keepChunk;
  process.stderr.write = keepChunk;
  try {
    return { ...(await fn()), out: out.join('\n') };
  } finally {
    Object.assign(console, { log, error, warn, info });
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
}

/** Run an executor that must succeed; its output, or an Error holding the end of it. */
export async function expectSuccess(fn: () => Promise<{ success: boolean }>): Promise<string> {
  const r = await runExecutor(fn);
  if (!r.success) throw new Error(`executor failed:\n${r.out.slice(-6000)}`);
  return r.out;
}

export type JournalEvent = Record<string, unknown>;

/** The newest run titled `title` (runs are titled `<project>:<target>`), or undefined. */
export async function findLastRun(root: string, title: string): Promise<{ id: string; dir: string; events: JournalEvent[] } | undefined> {
  let base: string;
  let ids: string[];
  try {
    base = runsDir(root);
    ids = readdirSync(base).filter((d) => /^\d{8}-/.test(d));
  } catch {
    return undefined;
  }
  let best: { id: string; dir: string; events: JournalEvent[]; time: string } | undefined;
  for (const id of ids) {
    const events = await readJournal(join(base, id)).catch(() => [] as JournalEvent[]);
    const start = events[0];
    if (start?.['title'] !== title) continue;
    const time = String(start['time']);
    if (!best || time >= best.time) best = { id, dir: join(base, id), events, time };
  }
  return best && { id: best.id, dir: best.dir, events: best.events };
}

/** The newest run titled `title`; an Error when there is none. */
export async function lastRun(root: string, title: string): Promise<{ id: string; dir: string; events: JournalEvent[] }> {
  const r = await findLastRun(root, title);
  if (!r) throw new Error(`no run titled ${title} under ${runsDir(root)}`);
  return r;
}

/** host → its final status (`ok`, `skipped`, `failed`, ...) in one step of a run. */
export function hostStatuses(events: JournalEvent[], step: string): Record<string, string> {
  return Object.fromEntries(events.filter((e) => e['type'] === 'host-end' && e['step'] === step).map((e) => [String(e['host']), String(e['status'])]));
}

/** The error a host ended a step with (its typed code and message), if it failed. */
export function hostError(events: JournalEvent[], step: string, host: string): { code?: string; message?: string } | undefined {
  return (events.find((e) => e['type'] === 'host-end' && e['step'] === step && e['host'] === host) as { error?: { code?: string; message?: string } } | undefined)?.error;
}
